// The RFC 8323 conversation with one device, sans-I/O: bytes in, bytes out, decisions out.
//
// DownstreamProtocol owns the decoder, the CSM exchange, signaling (Ping/Pong/Release/Abort),
// the keepalive FSM and the classification of bad input. It knows nothing about sockets: the
// I/O layer (DownstreamSession) feeds received bytes with on_bytes(), takes bytes to write with
// take_output(), calls on_tick() when next_deadline() passes, and closes the connection when
// close_decision() says so. Application messages (requests and responses that are not
// signaling) are handed to the I/O layer through take_inbound() for the bridge.
//
// Classification of bad input (nothing here throws or asserts on network data):
//  - framing lost (TKL 9-15, absurd length): 7.05 Abort, close after flushing  -> bad_frame
//  - request over our Max-Message-Size: skipped unbuffered, answered 4.13 with Size1
//  - request with malformed options: 4.00 Bad Request, connection continues
//  - response that is oversize/malformed: dropped (there is nobody to answer)
//  - signaling that is oversize/malformed, unknown critical signaling option, unknown signal:
//    7.05 Abort (Bad-CSM-Option for CSM), close                           -> abort_sent
//  - strict CSM mode and the first message is not a CSM: 7.05 Abort       -> abort_sent
//  - CSM whose Max-Message-Size is below coap::min_peer_max_message_size: 7.05 Abort with
//    Bad-CSM-Option 2, close                                              -> abort_sent
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lwgate/coap/message.hpp"
#include "lwgate/coap/signaling.hpp"
#include "lwgate/coap/tcp_codec.hpp"
#include "session/admin_pings.hpp"
#include "session/close_reason.hpp"
#include "session/keepalive_fsm.hpp"
#include "session/wire_cost.hpp"

namespace lwgate::session {

struct ProtocolParams {
    std::uint32_t max_message_size = 16384;  // advertised in our CSM, enforced on input
    bool block_wise_transfer = true;         // advertised in our CSM
    KeepaliveParams keepalive;
    // The I/O layer stops reading from a device that has more requests than this unanswered
    // (unanswered_requests()): a burst then waits in the device's own socket buffers, not in
    // lwgate's memory. Every request gets an answer (from the core, or lwgate's 4.xx/5.xx).
    std::size_t max_unanswered_requests = 64;
};

enum class CloseMode {
    reset,        // close at once with RST (half-open peers do not deserve a FIN handshake)
    after_flush,  // write what is queued (Abort/Release), then close
    immediate,    // close now with FIN (peer already gone or aborted)
};

struct CloseDecision {
    CloseReason reason;
    CloseMode mode;
    std::string detail;  // human-readable, for the log
};

// Protocol-level events the I/O layer may log or count.
struct ProtocolStats {
    std::uint64_t messages_in = 0;
    std::uint64_t messages_out = 0;
    std::uint64_t pings_sent = 0;
    std::uint64_t pongs_received = 0;
    std::uint64_t pings_received = 0;
    std::uint64_t missed_pongs = 0;
    std::uint64_t error_responses = 0;  // 4.00 / 4.13 we generated for bad requests
    std::uint64_t dropped = 0;          // bad responses dropped
    // Messages send() refused: larger than the peer's Max-Message-Size (a later CSM may lower
    // it below a message the bridge already holds for the device).
    std::uint64_t too_large_for_peer = 0;
    std::optional<Rtt> last_rtt;
    std::uint64_t rtt_samples = 0;  // Pongs that answered our outstanding Ping (with an RTT)
    KeepaliveTraffic keepalive;     // Ping and Pong frames both ways, for the wire cost
};

class DownstreamProtocol {
  public:
    DownstreamProtocol(const ProtocolParams& params, TimePoint now);

    // Queues our CSM. The acceptor sends it without waiting for the peer's (RFC 8323 §5.3).
    // The CSM and keepalive clocks start here (after any TLS handshake), not at construction.
    void start(TimePoint now);

    // Received bytes. Stops early (leaving the rest unconsumed) once a close is decided.
    void on_bytes(coap::ByteView bytes, TimePoint now);
    void on_tick(TimePoint now);
    TimePoint next_deadline() const;

    // Application messages (requests toward the device, responses to its requests).
    // Returns false if the message exceeds the peer's Max-Message-Size (counted in
    // stats().too_large_for_peer) or a close is decided.
    bool send(const coap::Message& message);

    // Operator/drain actions.
    void send_ping(TimePoint now);
    // An operator's Ping (admin API), sent at once. Its outcome comes out of
    // take_admin_ping_outcomes() once a Pong arrives, `timeout` passes (on_tick) or the
    // connection closes (a close decided here, or close_admin_pings() from the I/O layer).
    // Returns the Ping's id; a connection that is closing settles it as `closed` at once.
    std::uint64_t start_admin_ping(TimePoint now, Duration timeout);
    void close_admin_pings() { admin_pings_.close(); }
    bool has_admin_ping_outcomes() const { return admin_pings_.has_outcomes(); }
    std::vector<AdminPingOutcome> take_admin_ping_outcomes() {
        return admin_pings_.take_outcomes();
    }
    void release(std::optional<std::string> alternative_address,
                 std::optional<std::uint32_t> hold_off_seconds, std::string_view diagnostic);
    void abort(CloseReason reason, std::string_view diagnostic);
    // Refuse a connection we cannot serve (limits): CSM + 7.04 Release with Hold-Off, then close.
    void refuse(CloseReason reason, std::optional<std::uint32_t> hold_off_seconds,
                std::string_view diagnostic);
    // 7.04 Release (with the optional Alternative-Address and Hold-Off), then close after
    // flushing: an operator sends a device elsewhere or away for a while.
    void release_and_close(CloseReason reason, std::optional<std::string> alternative_address,
                           std::optional<std::uint32_t> hold_off_seconds,
                           std::string_view diagnostic);

    // Registration hook for the bridge (unregistered-idle limit).
    void set_registered(bool registered, TimePoint now) {
        keepalive_.set_registered(registered, now);
    }

    // Bytes ready to be written; the caller takes ownership of everything queued so far.
    bool has_output() const { return !output_.empty(); }
    std::size_t output_size() const { return output_.size(); }
    // Requests of the device handed to take_inbound() that no response answered yet.
    std::size_t unanswered_requests() const { return unanswered_requests_; }
    bool too_many_unanswered() const {
        return unanswered_requests_ >= params_.max_unanswered_requests;
    }
    coap::Bytes take_output();
    // The session's write buffer goes back and forth instead of one allocation per write:
    // take_output_into() swaps the pending output into `buffer` (emptied first), and
    // recycle_output() returns the buffer once written, so its capacity serves the next frames
    // (kept only when no output is pending, so a connection holds one buffer while idle).
    void take_output_into(coap::Bytes& buffer);
    void recycle_output(coap::Bytes&& buffer);

    std::vector<coap::Message> take_inbound();
    bool has_inbound() const { return !inbound_.empty(); }

    const std::optional<CloseDecision>& close_decision() const { return close_; }
    bool released() const { return released_; }
    const coap::PeerCapabilities& peer() const { return peer_; }
    bool peer_csm_received() const { return peer_csm_received_; }
    const ProtocolStats& stats() const { return stats_; }
    const KeepaliveFsm& keepalive() const { return keepalive_; }
    // The last RTT samples (up to rtt_history), oldest first, for the admin API.
    static constexpr std::size_t rtt_history = 16;
    std::vector<Rtt> recent_rtts() const;
    void update_keepalive(const KeepaliveParams& params) { keepalive_.update_params(params); }

  private:
    void handle(coap::Message&& message, TimePoint now);
    void handle_signal(const coap::Message& message, TimePoint now);
    void handle_failure(const coap::DecodeFailure& failure);
    void queue(const coap::Message& message);
    void queue_keepalive(const coap::Message& ping_or_pong);
    void error_response(const coap::Token& token, std::uint8_t code, std::string_view diagnostic,
                        std::optional<std::uint32_t> size1 = std::nullopt);
    void decide_close(CloseReason reason, CloseMode mode, std::string detail);
    void abort_with(CloseReason reason, std::optional<std::uint16_t> bad_csm_option,
                    std::string detail);

    ProtocolParams params_;
    coap::TcpDecoder decoder_;
    KeepaliveFsm keepalive_;
    coap::PeerCapabilities peer_;
    coap::Bytes output_;
    std::vector<coap::Message> inbound_;
    std::size_t unanswered_requests_ = 0;
    std::optional<CloseDecision> close_;
    ProtocolStats stats_;
    std::array<Rtt, rtt_history> rtts_{};  // ring, indexed by stats_.rtt_samples
    AdminPings admin_pings_;
    std::uint32_t next_ping_token_ = 1;
    coap::Token outstanding_ping_;
    bool peer_csm_received_ = false;
    bool first_message_seen_ = false;
    bool released_ = false;
};

}  // namespace lwgate::session
