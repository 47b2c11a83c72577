// The active check of the core, sans-I/O: when to send the next CoAP Ping (an empty CON, RFC
// 7252 §4.3), when the one in flight counts as missed, and what the core's state is. The core
// answers a Ping with a Reset (or an empty ACK); both are "answered". CoreProber
// (core_link/core_prober.hpp) sends the Pings and reports the answers; time comes in as `now`.
//
// One Ping every `interval`, the first at start. A Ping without an answer within `timeout` is
// missed (so is one whose sending failed at once, e.g. a port unreachable); `max_missed` missed
// in a row make the core `failing`; one answer makes it `ok` again. Until the first verdict the
// state is `unknown`: neither answered nor failing yet.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/clock.hpp"

namespace lwgate::upstream {

struct CoreProbeParams {
    Duration interval{30'000};
    Duration timeout{5'000};  // at most interval in effect: one Ping at a time
    unsigned max_missed = 3;
};

enum class CoreProbeState { unknown, ok, failing };

std::string_view to_string(CoreProbeState state);

// What the caller does at a deadline, in this order: give up the Ping in flight (it was missed:
// a fresh session for the next one), then send a new one.
struct CoreProbeDue {
    bool missed = false;
    bool send = false;
};

using ProbeRtt = std::chrono::microseconds;

class CoreProbe {
  public:
    CoreProbe(CoreProbeParams params, TimePoint start);

    // When on_timer() has work: the in-flight Ping's timeout or the next Ping.
    TimePoint next_deadline() const;
    CoreProbeDue on_timer(TimePoint now);
    // A probe starts now (after on_timer() said send): its timeout runs from here. The Ping goes
    // out now, or later, after a DTLS handshake: ping_sent() then moves where its round trip
    // is measured from.
    void begin(TimePoint now);
    void ping_sent(TimePoint now);
    // The core answered the Ping in flight: its round trip, or nullopt when none is in flight
    // (a late or repeated answer, which changes nothing).
    std::optional<ProbeRtt> on_answer(TimePoint now);
    // The Ping in flight failed before its timeout (it could not be sent, port unreachable, DTLS
    // failure): counted as missed now, with why.
    void on_failure(TimePoint now, std::string why);

    CoreProbeState state() const { return state_; }
    bool in_flight() const { return in_flight_; }
    unsigned missed_in_a_row() const { return missed_in_a_row_; }
    std::uint64_t sent_total() const { return sent_; }
    std::uint64_t answered_total() const { return answered_; }
    std::uint64_t missed_total() const { return missed_; }
    std::optional<TimePoint> last_answer() const { return last_answer_; }
    std::optional<ProbeRtt> last_rtt() const { return last_rtt_; }
    // Why the last Ping was missed ("no answer within 5s", "port unreachable"); empty once
    // answered.
    const std::string& last_error() const { return last_error_; }
    const CoreProbeParams& params() const { return params_; }

  private:
    void miss(std::string why);

    CoreProbeParams params_;
    TimePoint next_send_;
    TimePoint began_at_{};
    TimePoint ping_at_{};
    bool in_flight_ = false;
    CoreProbeState state_ = CoreProbeState::unknown;
    unsigned missed_in_a_row_ = 0;
    std::uint64_t sent_ = 0;
    std::uint64_t answered_ = 0;
    std::uint64_t missed_ = 0;
    std::optional<TimePoint> last_answer_;
    std::optional<ProbeRtt> last_rtt_;
    std::string last_error_;
};

}  // namespace lwgate::upstream
