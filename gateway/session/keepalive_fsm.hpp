// Liveness of one device connection as a pure state machine: CSM deadline, idle Ping, Pong
// timeout / half-open detection, and the "no registration" idle limit.
//
// The FSM never reads a clock: every call takes `now`, and next_deadline() tells the I/O layer
// when to call on_tick() again. A tick that arrives early (or late) is harmless: on_tick()
// re-checks every deadline against `now`. This keeps the timing logic testable with a fake clock
// (see tests/unit/session/keepalive_fsm_test.cpp) in the spirit of Envoy's SimulatedTimeSystem.
//
// Liveness rule: any received byte counts as life (libcoap 4.3.1 answers Pings with Pongs that
// do not echo the token, and middleboxes may strip TCP keepalives). After `idle` without
// receiving anything we send a Ping; if nothing arrives within `pong_timeout` that Ping is
// missed and another is sent; after `max_missed` missed Pings in a row the connection is
// half-open. Worst-case detection time is idle + max_missed * pong_timeout.
#pragma once

#include <cstdint>
#include <optional>

#include "util/clock.hpp"

namespace lwgate::session {

// Round-trip times keep microseconds: on a LAN a Pong comes back well within a millisecond.
using Rtt = std::chrono::microseconds;

struct KeepaliveParams {
    Duration idle{60'000};
    Duration pong_timeout{10'000};
    unsigned max_missed = 1;
    Duration csm_timeout{5'000};
    bool csm_strict = true;
    Duration unregistered_idle{30'000};  // zero disables the limit
};

enum class KeepaliveAction {
    none,
    send_ping,
    csm_defaulted,      // lenient mode: CSM deadline passed, continue with base values
    close_csm_timeout,  // strict mode: CSM deadline passed
    close_half_open,
    close_unregistered_idle,
};

class KeepaliveFsm {
  public:
    KeepaliveFsm(const KeepaliveParams& params, TimePoint now);

    // Any bytes arrived.
    void on_rx(TimePoint now);
    // The peer's CSM arrived (first one ends the CSM wait).
    void on_csm_received();
    // A Pong arrived. Returns the round-trip time of the outstanding Ping, if there is one.
    std::optional<Rtt> on_pong(TimePoint now);
    // The bridge attaches/detaches a registration to this connection. Detaching restarts the
    // unregistered-idle clock from `now`.
    void set_registered(bool registered, TimePoint now);
    // An out-of-band Ping sent by an operator: tracked like our own for RTT purposes.
    void on_ping_sent(TimePoint now);

    // Reports at most one action per call; call again (same `now`) until it returns none.
    KeepaliveAction on_tick(TimePoint now);
    TimePoint next_deadline() const;

    void update_params(const KeepaliveParams& params) { params_ = params; }
    const KeepaliveParams& params() const { return params_; }
    bool csm_pending() const { return csm_pending_; }
    bool awaiting_pong() const { return ping_outstanding_; }
    unsigned missed() const { return missed_; }
    bool registered() const { return registered_; }
    TimePoint last_rx() const { return last_rx_; }

  private:
    KeepaliveParams params_;
    TimePoint start_;
    TimePoint last_rx_;
    TimePoint unregistered_since_;
    TimePoint ping_sent_at_{};
    TimePoint rtt_ping_sent_at_{};
    bool csm_pending_ = true;
    bool registered_ = false;
    bool ping_outstanding_ = false;  // a Ping is sent and nothing was received since
    bool rtt_pending_ = false;       // a Ping is sent and no Pong was received since
    unsigned missed_ = 0;
};

}  // namespace lwgate::session
