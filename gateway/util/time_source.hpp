// Where glue code reads the time. The sans-I/O cores take `now` as a parameter; the glue that
// drives them (sessions, the bridge) asks an injected TimeSource instead of a clock, so that
// everything above the cores can be run on a time a test controls (Envoy's TimeSource is the
// model). The process uses RealTimeSource; a test of glue code passes a TimeSource of its own.
#pragma once

#include <chrono>

#include "util/clock.hpp"

namespace lwgate {

using WallClock = std::chrono::system_clock;
using WallTimePoint = WallClock::time_point;

class TimeSource {
  public:
    virtual ~TimeSource() = default;
    // Monotonic: deadlines, timeouts, rates.
    virtual TimePoint now() const = 0;
    // Calendar time: what is stored and shown (a registration's deadline across a reboot).
    virtual WallTimePoint wall_now() const = 0;
};

class RealTimeSource final : public TimeSource {
  public:
    TimePoint now() const override { return Clock::now(); }
    WallTimePoint wall_now() const override { return WallClock::now(); }
    // One is enough for a process: it has no state.
    static const RealTimeSource& instance() {
        static const RealTimeSource real;
        return real;
    }
};

}  // namespace lwgate
