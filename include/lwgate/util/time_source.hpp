// Where glue code reads the time. The sans-I/O cores take `now` as a parameter; the glue that
// drives them (sessions, the bridge) asks an injected TimeSource instead of a clock, so that
// everything above the cores can be run on a time a test controls (Envoy's TimeSource is the
// model). Only main() and tests pick an implementation.
#pragma once

#include <chrono>

#include "lwgate/util/clock.hpp"

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

// A time that moves only when told to, for tests of glue code.
class ManualTimeSource final : public TimeSource {
  public:
    explicit ManualTimeSource(TimePoint start = TimePoint{} + std::chrono::hours(1),
                              WallTimePoint wall_start = WallTimePoint{} + std::chrono::hours(1))
        : now_(start), wall_(wall_start) {}
    TimePoint now() const override { return now_; }
    WallTimePoint wall_now() const override { return wall_; }
    void advance(Duration by) {
        now_ += by;
        wall_ += by;
    }

  private:
    TimePoint now_;
    WallTimePoint wall_;
};

}  // namespace lwgate
