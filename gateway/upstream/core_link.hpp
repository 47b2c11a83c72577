// The shard's link to the core: libcoap contexts driven from the shard's io_context, and one
// libcoap client session per device (UDP or DTLS-PSK) with a local port of its own, so the core
// sees one stable address (and one DTLS session) per device.
//
// Several small contexts, not one: libcoap 4.3.1's coap_io_do_epoll() ends with
// coap_io_prepare_epoll(), which walks every session of the context, after every batch of
// events. With one context per shard that walk ran once per datagram at moderate load (measured
// with lwgate-bench relay, 1,000 devices, 18k Reads/s on one thread: 16k walks/s, 20% of lwgate's
// CPU; at 10k devices ten times the cost per walk). Sessions fill contexts of at most
// sessions_per_context, so a walk stays short whatever the number of devices; each context costs
// an epoll and a timer descriptor.
//
// libcoap integration (libcoap 4.3.1 built with epoll): each context's epoll fd is watched with
// asio::posix::stream_descriptor::async_wait(wait_read). Asio registers it edge-triggered, so the
// wait is re-armed in the same handler before processing. Processing reads up to 256 events with
// our own epoll_wait and hands them to coap_io_do_epoll(); a full batch posts another round
// instead of waiting for an edge that will not come. Timers (retransmissions, DTLS) come from
// coap_io_prepare_epoll(), which walks every session, so it runs only when something needs it (a
// session opened or closed, libcoap's next deadline), at most every 10 ms and at least every
// 250 ms; one steady_timer sleeps until then. A CON sent between two passes has its first
// retransmission due after ack_timeout (>= 1 s), so the next pass (<= 250 ms) still arms it.
// Sending (requests, notifications, answers) is a direct coap_send(), which writes the datagram at
// once.
//
// Requests from the core arrive on the device's client session and reach the "unknown resource"
// handler (all methods). An answer at hand (a late retransmission of an answered request,
// AnsweredRequests; a Block2 continuation, answer_locally; an answer the bridge gives while
// handling the request) goes back piggybacked. Otherwise the request is held (HeldRequests,
// keyed by the id the bridge answers with). A CON request of a device that has a connection stays
// unacknowledged for up to upstream.piggyback_window: the handler turns libcoap's prepared
// response into an empty NON, which libcoap drops (no_response() in 4.3.1), and respond() sends
// the answer itself as the ACK, with the request's Message ID and token (RFC 7252 §5.2.1). When
// the window passes first (the ack queue below, in arrival order, so its head is always the next
// due), an empty ACK goes out and respond() later sends a separate response carrying the core's
// token: CON for a CON request (§5.2.2), NON for a NON one (§5.2.3). Piggybacking halves the
// datagrams per relayed request at the core (2 instead of 4) and is what CoAP servers do when
// they can (Californium, libcoap, Leshan clients). acknowledge() skips the window (the device has
// no connection: the request waits in the relay's queue). A copy of a held request (same Message
// ID and token: the core retransmitted it) is acknowledged at once with an empty ACK and never
// reaches the bridge. We do not use libcoap's async API (coap_register_async): it keeps one
// linked list per context, searched on every request, and a triggered async only leaves in the
// timeout pass that walks every session.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/steady_timer.hpp>

#include "lwgate/coap/message.hpp"
#include "lwgate/config/config.hpp"
#include "lwgate/lwm2m/answered_requests.hpp"
#include "lwgate/lwm2m/held_requests.hpp"

struct coap_context_t;
struct coap_session_t;
struct coap_resource_t;

namespace lwgate::upstream {

using CoreRequestId = std::uint64_t;

class UpstreamSession;

// One libcoap context with its descriptor and timer (definition in core_link.cpp).
struct CoapContext;

// Implemented by the bridge. Every call happens on the shard's thread, from inside a libcoap
// callback: implementations may call CoreLink::send/respond/notify but must not block.
class CoreLinkHandler {
  public:
    virtual ~CoreLinkHandler() = default;
    virtual void on_core_request(UpstreamSession& session, CoreRequestId id,
                                 coap::Message&& request) = 0;
    virtual void on_core_response(UpstreamSession& session, coap::Message&& response) = 0;
    // An uplink got no answer: retransmissions exhausted (5.04) or DTLS failed (5.02).
    virtual void on_core_failure(UpstreamSession& session, const coap::Token& token,
                                 std::uint8_t code_for_device, std::string_view reason) = 0;
    // A request held back within upstream.piggyback_window has now been acknowledged with an
    // empty ACK (the window passed, or the core sent it again): its answer will be separate.
    virtual void on_core_request_acknowledged(UpstreamSession& /*session*/, CoreRequestId /*id*/) {}
    // The core rejected a notification (RST) or stopped acknowledging it.
    virtual void on_core_reset(UpstreamSession& session, const coap::Token& token) = 0;
    // Asked first for every request of the core: an answer the bridge has at hand (a Block2
    // continuation served from its cache) goes back piggybacked, without an async round.
    virtual std::optional<coap::Message> answer_locally(UpstreamSession& /*session*/,
                                                        const coap::Message& /*request*/) {
        return std::nullopt;
    }
};

struct UpstreamPsk {
    std::string identity;
    std::vector<std::uint8_t> key;
};

class UpstreamSession {
  public:
    const std::string& endpoint() const { return endpoint_; }
    std::uint16_t local_port() const { return local_port_; }
    const std::string& local_address() const { return local_address_; }  // as configured
    std::size_t pending_core_requests() const { return held_.size(); }

  private:
    friend class CoreLink;
    std::string endpoint_;
    coap_session_t* session_ = nullptr;
    std::uint16_t local_port_ = 0;
    std::string local_address_;
    struct CoapContext* context_ = nullptr;  // the one session_ belongs to
    lwm2m::HeldRequests held_;               // answer pending (maybe the ACK too)
    lwm2m::AnsweredRequests answered_;       // late retransmissions get the same answer
    std::size_t queued_acks_ = 0;            // entries of CoreLink::ack_queue_ naming this session
};

struct CoreLinkStats {
    std::uint64_t requests_sent = 0;
    std::uint64_t responses_received = 0;
    std::uint64_t requests_received = 0;
    std::uint64_t failures = 0;
    std::uint64_t duplicates_answered = 0;  // retransmitted core requests answered from memory
    std::uint64_t duplicates_held = 0;      // retransmissions of held requests, acknowledged again
    std::uint64_t piggybacked = 0;          // answers sent on the ACK of their request
    std::uint64_t separate = 0;             // answers sent as separate responses
};

class CoreLink {
  public:
    CoreLink(asio::io_context& io, const config::UpstreamConfig& config, CoreLinkHandler& handler);
    ~CoreLink();
    CoreLink(const CoreLink&) = delete;
    CoreLink& operator=(const CoreLink&) = delete;

    // Creates the libcoap context and resolves the core's address.
    std::optional<std::string> start();

    // A client session for one device, bound to local_address (empty: any) and local_port (0:
    // the kernel chooses; stable for as long as the session lives). With a PSK the session uses
    // DTLS (upstream.uri coaps://).
    std::optional<std::string> open(UpstreamSession& session, std::string endpoint,
                                    const std::optional<UpstreamPsk>& psk,
                                    const std::string& local_address = {},
                                    std::uint16_t local_port = 0);
    void close(UpstreamSession& session);
    bool secure() const { return secure_; }
    // The session can carry messages now (a DTLS session: its handshake completed).
    bool established(const UpstreamSession& session) const;

    // A confirmable request toward the core (token already set). False if it does not fit.
    bool send(UpstreamSession& session, const coap::Message& request);
    // The answer to a request of the core (id from on_core_request).
    void respond(UpstreamSession& session, CoreRequestId id, coap::Message&& response);
    // Persistence: a request of the core held before a restart, answered later with
    // respond(id) as a separate CON response; until then (and for EXCHANGE_LIFETIME after)
    // the core's retransmissions of it, recognised by the token, are acknowledged and never
    // reach the bridge again. holds(): the session still holds `id` (a re-opened session does
    // not).
    void hold_restored(UpstreamSession& session, CoreRequestId id, const coap::Token& token);
    bool holds(UpstreamSession& session, CoreRequestId id) const {
        return session.held_.get(id) != nullptr;
    }
    // The core has an ACK for request `id` (or it is no longer held: answered or gone).
    bool acknowledged(UpstreamSession& session, CoreRequestId id) const {
        const auto* held = session.held_.get(id);
        return !held || held->acknowledged;
    }
    // Sends the empty ACK of a held CON request now instead of waiting for its answer up to
    // upstream.piggyback_window (the answer will take long: the device is not connected).
    void acknowledge(UpstreamSession& session, CoreRequestId id);
    // store.ack_after_commit: no empty ACK for held requests until the store has them. With it
    // on, a request the bridge would acknowledge at once, or whose window passes, is
    // acknowledged only by release_ack() (after the commit) or by its answer: a crash before
    // the commit leaves the core retransmitting it into the restarted lwgate.
    void set_ack_after_commit(bool on) { ack_after_commit_ = on; }
    bool ack_after_commit() const { return ack_after_commit_; }
    void defer_ack(UpstreamSession& session, CoreRequestId id);
    void release_ack(UpstreamSession& session, CoreRequestId id);
    // A notification: a new confirmable message carrying the core's token.
    bool notify(UpstreamSession& session, const coap::Message& notification);
    // Persistence: answers a request of the core that was acknowledged before a
    // restart (no longer held): a separate response (RFC 7252 §5.2.2), confirmable, carrying the
    // core's stored token. False if it cannot be sent.
    bool respond_separately(UpstreamSession& session, const coap::Token& core_token,
                            coap::Message response);
    // How many payload bytes a message with these options (its payload ignored) may carry in
    // one datagram of this session; larger bodies go block-wise (lwm2m/block_transfer.hpp).
    std::size_t max_payload(const UpstreamSession& session, const coap::Message& message) const;

    const CoreLinkStats& stats() const { return stats_; }

    // libcoap trampolines (public for the C callbacks in the .cpp only).
    void handle_request(coap_session_t* s, const void* request, void* response);
    int handle_response(coap_session_t* s, const void* sent, const void* received);
    void handle_nack(coap_session_t* s, const void* sent, int reason);

    static constexpr std::size_t sessions_per_context = 128;

  private:
    // A context with room for one more session (a new one when all are full); nullptr (and
    // `error`) if libcoap cannot create one.
    CoapContext* context_with_room(std::string& error);
    void arm(CoapContext& c);
    void process(CoapContext& c);
    void schedule(CoapContext& c);
    void arm_prepare_timer(CoapContext& c, std::chrono::steady_clock::time_point at);
    static UpstreamSession* session_of(coap_session_t* s);
    // A separate response: a new CON or NON message carrying the core's token.
    bool send_separately(UpstreamSession& session, const coap::Token& core_token,
                         coap::Message response, bool confirmable);
    void send_empty_ack(UpstreamSession& session, std::uint16_t message_id);
    // Sends the empty ACK of every queued request whose window has passed (answered ones are
    // skipped) and keeps ack_timer_ on the next one.
    void flush_acks();
    void arm_ack_timer();

    asio::io_context& io_;
    config::UpstreamConfig config_;
    CoreLinkHandler& handler_;
    std::vector<std::unique_ptr<CoapContext>> contexts_;  // stable addresses
    static constexpr int max_events = 256;
    static constexpr unsigned prepare_interval_ms = 10;
    static constexpr unsigned idle_prepare_ms = 250;
    bool secure_ = false;
    bool ack_after_commit_ = false;
    std::vector<std::uint8_t> server_address_;  // coap_address_t storage
    CoreRequestId next_id_ = 1;
    // While handle_request() has the bridge handle request `answering_`, an answer the bridge
    // gives at once lands in `immediate_` and goes back piggybacked.
    CoreRequestId answering_ = 0;
    std::optional<coap::Message> immediate_;
    // CON requests of the core not acknowledged yet, in arrival order (all share one window, so
    // the head is the next due). Answered entries stay until they reach the head: no search.
    struct QueuedAck {
        UpstreamSession* session;
        CoreRequestId id;
        std::chrono::steady_clock::time_point due;
    };
    std::deque<QueuedAck> ack_queue_;
    asio::steady_timer ack_timer_;
    bool ack_timer_armed_ = false;
    CoreLinkStats stats_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace lwgate::upstream
