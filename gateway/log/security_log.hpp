// Security events in the log, within a budget: every refused identity (an identity that does
// not name the endpoint, an unknown PSK identity, a rejected certificate, a failed TLS
// handshake, plain TCP for an endpoint that authenticates, ...) is one line with its reason,
// endpoint, identity, remote address and connection id, unless a flood of the same reason has
// spent its budget; what is held back is then summed up in one line when the budget allows.
// The callers count every event in lwgate_refused_total themselves, logged or not.
//
// One SecurityLog per shard, used on the shard's thread only (no lock); the shard arms a timer
// for the summaries (on_summary_due). Other lines a flood repeats (the close of a refused
// connection) take the same budget through may_log().
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include <spdlog/common.h>

#include "util/clock.hpp"
#include "util/event_limiter.hpp"

namespace lwgate::logging {

struct SecurityEvent {
    std::string_view reason = {};  // the `reason` label: a static string (the budget's key)
    spdlog::level::level_enum level = spdlog::level::warn;
    std::uint64_t conn = 0;              // 0: no connection (an endpoint's own refusal)
    std::string_view endpoint = {};      // the endpoint the device named, if it named one
    std::string_view psk_identity = {};  // the PSK identity it offered, if any
    std::string_view certificate = {};   // its certificate's subject CN, if any
    std::string_view remote = {};        // "ADDRESS:PORT"; empty when not known here
    std::string_view detail = {};        // why, in words
};

// The `identity` field: "psk:ID", "cert:CN", or "none" (plain TCP, or nothing offered).
std::string identity_text(std::string_view psk_identity, std::string_view certificate);

class SecurityLog {
  public:
    // Per reason: a burst of this many lines, then this many per second.
    static constexpr double default_burst = 20;
    static constexpr double default_rate = 1;

    explicit SecurityLog(double rate = default_rate, double burst = default_burst);

    void refused(const SecurityEvent& event, TimePoint now);
    // Whether a line of this kind (a static string: a refusal's reason, a close reason) may be
    // written now; the caller writes it. For a caller whose event costs something to describe:
    // may_log(reason), then write_refused() with the description.
    bool may_log(std::string_view kind, TimePoint now);
    static void write_refused(const SecurityEvent& event);

    TimePoint next_summary_at() const { return limiter_.next_due(); }
    // The summaries due at `now`, one line per kind: "N similar lines not logged".
    void write_summaries(TimePoint now);
    // `arm(at)`: write_summaries() should run at `at`; told whenever that time comes earlier
    // than the one it was last told (once per flood, not per held-back event).
    void on_summary_due(std::function<void(TimePoint)> arm) { arm_ = std::move(arm); }

  private:
    bool admit(std::string_view kind, TimePoint now);
    void held_back();

    EventLimiter limiter_;
    std::function<void(TimePoint)> arm_;
    TimePoint armed_ = never;
};

}  // namespace lwgate::logging
