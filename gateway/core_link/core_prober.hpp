// The active check of the core (upstream.probe_interval): CoreProbe's Pings carried out with
// libcoap, on the io_context of one shard. The Ping is an empty CON (RFC 7252 §4.3) on a client
// session of its own toward upstream.uri, plain UDP or DTLS with the gateway identity
// (upstream.dtls); the core answers it with a Reset (libcoap, Californium/Leshan, Wakaama) or an
// empty ACK.
//
// libcoap 4.3.1 reports a Reset to the nack handler and an empty ACK not at all: it only takes
// the Ping off the context's send queue. So the session gets a context of its own, and the Ping
// is answered once that queue is empty again (coap_can_exit()) after a round of processing. A
// missed Ping drops the context with everything in it: the next Ping starts on a fresh session
// (a fresh DTLS handshake, a fresh local port), and nothing of the old one can look like an
// answer. The context is small (one session, an epoll and a timer descriptor) and is driven by
// coap_io_process() each time its descriptor is readable, and by a timer on libcoap's next
// deadline.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/steady_timer.hpp>

#include "config/config.hpp"
#include "core_link/upstream_error.hpp"
#include "lwgate/util/result.hpp"
#include "upstream/core_probe.hpp"
#include "util/rtt_histogram.hpp"
#include "util/time_source.hpp"

struct coap_context_t;
struct coap_session_t;

namespace lwgate::upstream {

class CoreProber {
  public:
    CoreProber(asio::io_context& io, const config::UpstreamConfig& config, const TimeSource& time);
    ~CoreProber();
    CoreProber(const CoreProber&) = delete;
    CoreProber& operator=(const CoreProber&) = delete;

    // Resolves the core and arms the first Ping (sent as soon as the io_context runs).
    // UpstreamErrc::no_dtls, cannot_resolve, or no_psk for a coaps:// core without a gateway
    // identity (no DTLS session to ping over).
    Result<void, Error> start();

    const CoreProbe& probe() const { return probe_; }
    const RttHistogram& rtt() const { return rtt_; }

    // libcoap trampolines (public for the C callbacks in the .cpp only).
    void handle_nack(coap_session_t* session, int reason);
    void handle_event(coap_session_t* session, int event);

  private:
    void arm_probe_timer();
    void on_probe_timer();
    void begin_probe(TimePoint now);
    void send_ping(TimePoint now);
    Result<void, Error> open_session();
    void drop_session();
    void watch();
    void process();
    void answered(TimePoint now);
    void failed(std::string why);
    // Logs a change of the core's state once, wherever it happened (a timer, a libcoap callback).
    void log_transition();

    asio::io_context& io_;
    config::UpstreamConfig config_;
    const TimeSource& time_;
    CoreProbe probe_;
    RttHistogram rtt_;
    bool secure_ = false;
    std::vector<std::uint8_t> server_address_;  // coap_address_t storage
    coap_context_t* ctx_ = nullptr;
    coap_session_t* session_ = nullptr;
    std::optional<asio::posix::stream_descriptor> fd_;
    std::uint64_t generation_ = 0;  // of ctx_: handlers of a dropped context do nothing
    asio::steady_timer probe_timer_;
    asio::steady_timer coap_timer_;
    bool ping_out_ = false;      // the Ping is on the context's send queue
    bool ping_wanted_ = false;   // a probe waits for its DTLS handshake to send the Ping
    bool session_dead_ = false;  // failed: the next probe starts on a fresh session
    CoreProbeState logged_state_ = CoreProbeState::unknown;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace lwgate::upstream
