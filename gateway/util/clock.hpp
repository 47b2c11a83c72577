// Time at the edges: sans-I/O code takes `now` as a parameter; only the I/O layer reads a clock.
#pragma once

#include <chrono>

namespace lwgate {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = std::chrono::milliseconds;

inline constexpr TimePoint never = TimePoint::max();

}  // namespace lwgate
