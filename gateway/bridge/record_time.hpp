// Time in stored records. The relay works in steady-clock TimePoints, which mean nothing after a
// reboot; records hold wall-clock milliseconds. Conversions go through one (steady, wall) pair
// of "now" taken together.
#pragma once

#include <algorithm>
#include <chrono>

#include "store/store.hpp"
#include "util/time_source.hpp"

namespace lwgate::lwm2m {

class RecordTime {
  public:
    explicit RecordTime(const TimeSource& time) : steady(time.now()), wall(time.wall_now()) {}

    store::UnixMillis to_wall(TimePoint t) const {
        const auto offset =
            std::clamp(std::chrono::duration_cast<ms>(t - steady), -max_offset, max_offset);
        return std::chrono::duration_cast<ms>((wall + offset).time_since_epoch()).count();
    }
    TimePoint to_steady(store::UnixMillis t) const {
        const auto offset =
            std::clamp(ms(t) - std::chrono::duration_cast<ms>(wall.time_since_epoch()), -max_offset,
                       max_offset);
        return steady + offset;
    }

    const TimePoint steady;
    const WallClock::time_point wall;

  private:
    using ms = std::chrono::milliseconds;
    // Beyond this, a stored time is nonsense (clock jumps, a corrupt row): clamp it.
    static constexpr ms max_offset = std::chrono::hours(24 * 365 * 10);
};

}  // namespace lwgate::lwm2m
