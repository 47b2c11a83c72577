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
// handler (all methods), which asks the shard's UpstreamExchange (upstream_exchange.hpp: copies,
// held and answered requests, the piggyback window, the ack queue) and carries out its decisions.
// The handler's response PDU, which libcoap sends when the handler returns, is the request's
// ACK: left empty it is the empty ACK (nothing for a NON), filled it is the piggybacked answer,
// and an ACK held back for the window turns it into an empty NON, which libcoap drops
// (no_response() in 4.3.1); respond() later sends the answer itself as the ACK, or after the
// window an empty ACK and then a separate response. The bridge may answer or acknowledge a
// request from inside on_core_request: the exchange keeps that answer until the handler returns,
// and CoreLink puts it into the response. We do not use libcoap's async API
// (coap_register_async): it keeps one linked list per context, searched on every request, and a
// triggered async only leaves in the timeout pass that walks every session.
//
// libcoap's callbacks find their CoreLink through the context's app data (coap_set_app_data) and
// their UpstreamSession through the session's (coap_session_set_app_data).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/steady_timer.hpp>

#include "core_link/upstream_error.hpp"
#include "lwgate/coap/message.hpp"
#include "config/config.hpp"
#include "lwgate/util/result.hpp"
#include "util/time_source.hpp"
#include "upstream/upstream_exchange.hpp"

struct coap_context_t;
struct coap_session_t;
struct coap_resource_t;
struct coap_pdu_t;

namespace lwgate::upstream {

class UpstreamSession;

// One libcoap context with its descriptor and timer (definition in core_link.cpp).
struct CoapContext;

// Implemented by the bridge. Every call happens on the shard's thread, from inside a libcoap
// callback: implementations may call CoreLink::send/respond/acknowledge/notify (an answer to the
// request being handled goes back piggybacked, see above) but must not block.
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

// One device's libcoap client session; its exchange state (held and answered requests of the
// core) is the ExchangeSession it derives from.
class UpstreamSession : public ExchangeSession {
  public:
    const std::string& endpoint() const { return endpoint_; }
    std::uint16_t local_port() const { return local_port_; }
    const std::string& local_address() const { return local_address_; }  // as configured
    std::size_t pending_core_requests() const { return held_requests(); }

  private:
    friend class CoreLink;
    std::string endpoint_;
    coap_session_t* session_ = nullptr;
    std::uint16_t local_port_ = 0;
    std::string local_address_;
    struct CoapContext* context_ = nullptr;  // the one session_ belongs to
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
    // `time`: what the exchange's windows and deadlines are measured with (the shard's). libcoap
    // keeps its own retransmission clock, which the context timers follow.
    CoreLink(asio::io_context& io, const config::UpstreamConfig& config, CoreLinkHandler& handler,
             const TimeSource& time);
    ~CoreLink();
    CoreLink(const CoreLink&) = delete;
    CoreLink& operator=(const CoreLink&) = delete;

    // Creates the libcoap context and resolves the core's address. UpstreamErrc::no_dtls,
    // cannot_resolve or no_context on failure.
    Result<void, Error> start();

    // A client session for one device, bound to local_address (empty: any) and local_port (0:
    // the kernel chooses; stable for as long as the session lives). With a PSK the session uses
    // DTLS (upstream.uri coaps://). On failure UpstreamErrc::bad_local_address, no_local_port,
    // no_context, no_psk or cannot_open (e.g. local_port is taken).
    Result<void, Error> open(UpstreamSession& session, std::string endpoint,
                             const std::optional<UpstreamPsk>& psk,
                             const std::string& local_address = {}, std::uint16_t local_port = 0);
    void close(UpstreamSession& session);
    bool secure() const { return secure_; }
    // The session can carry messages now (a DTLS session: its handshake completed).
    bool established(const UpstreamSession& session) const;

    // A confirmable request toward the core (token already set). False if it does not fit.
    bool send(UpstreamSession& session, const coap::Message& request);
    // The answer to a request of the core (id from on_core_request). Given inside
    // on_core_request, it goes back piggybacked in the request's own reply.
    void respond(UpstreamSession& session, CoreRequestId id, coap::Message&& response);
    // Persistence: a request of the core held before a restart, answered later with
    // respond(id) as a separate CON response; until then (and for EXCHANGE_LIFETIME after)
    // the core's retransmissions of it, recognised by the token, are acknowledged and never
    // reach the bridge again. holds(): the session still holds `id` (a re-opened session does
    // not).
    void hold_restored(UpstreamSession& session, CoreRequestId id, const coap::Token& token);
    bool holds(const UpstreamSession& session, CoreRequestId id) const {
        return exchange_.holds(session, id);
    }
    // The core has an ACK for request `id` (or it is no longer held: answered or gone).
    bool acknowledged(const UpstreamSession& session, CoreRequestId id) const {
        return exchange_.acknowledged(session, id);
    }
    // Sends the empty ACK of a held CON request now instead of waiting for its answer up to
    // upstream.piggyback_window (the answer will take long: the device is not connected).
    void acknowledge(UpstreamSession& session, CoreRequestId id);
    // store.ack_after_commit: no empty ACK for held requests until the store has them. With it
    // on, a request the bridge would acknowledge at once, or whose window passes, is
    // acknowledged only by release_ack() (after the commit) or by its answer: a crash before
    // the commit leaves the core retransmitting it into the restarted lwgate.
    void set_ack_after_commit(bool on) { exchange_.set_ack_after_commit(on); }
    bool ack_after_commit() const { return exchange_.ack_after_commit(); }
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
    // A context with room for one more session (a new one when all are full);
    // UpstreamErrc::no_context if libcoap cannot create one.
    Result<CoapContext*, Error> context_with_room();
    void arm(CoapContext& c);
    void process(CoapContext& c);
    void schedule(CoapContext& c);
    void arm_prepare_timer(CoapContext& c, std::chrono::steady_clock::time_point at);
    static UpstreamSession* session_of(coap_session_t* s);
    // Sends what a decision of the exchange asks for.
    void reply_to_copy(UpstreamSession& session, RequestDecision&& decision, coap_pdu_t* response);
    void hand_over(UpstreamSession& session, const RequestHeader& header, const coap_pdu_t* request,
                   coap_pdu_t* response, TimePoint now);
    void send_answer(UpstreamSession& session, const AnswerRoute& route,
                     const coap::Message& answer);
    // A separate response: a new CON or NON message (its token already the core's).
    bool send_separately(UpstreamSession& session, const coap::Message& response, bool confirmable);
    void send_empty_ack(UpstreamSession& session, std::optional<std::uint16_t> message_id);
    // Sends the empty ACK of every held request whose window has passed and keeps ack_timer_ on
    // the next one.
    void flush_acks();
    void arm_ack_timer();

    asio::io_context& io_;
    config::UpstreamConfig config_;
    CoreLinkHandler& handler_;
    const TimeSource& time_;
    std::vector<std::unique_ptr<CoapContext>> contexts_;  // stable addresses
    static constexpr int max_events = 256;
    static constexpr unsigned prepare_interval_ms = 10;
    static constexpr unsigned idle_prepare_ms = 250;
    bool secure_ = false;
    std::vector<std::uint8_t> server_address_;  // coap_address_t storage
    UpstreamExchange exchange_;
    asio::steady_timer ack_timer_;
    bool ack_timer_armed_ = false;
    CoreLinkStats stats_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace lwgate::upstream
