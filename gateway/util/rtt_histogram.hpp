// Round trips as a Prometheus histogram: the devices' Ping/Pong (lwgate_rtt_seconds) and the
// core probe's (lwgate_core_probe_rtt_seconds) share these upper bounds. They reach well past
// the longest keepalive.pong_timeout (2 min) and upstream.probe_timeout (1 min) the
// configuration allows, so that an answer just before its timeout still lands in a finite
// bucket; and they are fixed, since buckets that moved with a SIGHUP would break every rate()
// over them.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>

namespace lwgate {

inline constexpr std::array<std::uint64_t, 19> rtt_bucket_bounds_us{
    250,        500,        1'000,      2'500,       5'000,      10'000,    25'000,
    50'000,     100'000,    250'000,    500'000,     1'000'000,  2'500'000, 5'000'000,
    10'000'000, 30'000'000, 60'000'000, 120'000'000, 300'000'000};

// One thread writes and reads it (the core probe's, on its shard); the devices' histogram is
// made of Counters instead (session_host.hpp), read from the admin thread.
struct RttHistogram {
    std::array<std::uint64_t, rtt_bucket_bounds_us.size()> cumulative{};  // per upper bound
    std::uint64_t count = 0;
    std::uint64_t sum_us = 0;

    void observe(std::chrono::microseconds rtt) {
        const auto us = static_cast<std::uint64_t>(std::max<std::int64_t>(0, rtt.count()));
        for (std::size_t i = 0; i < rtt_bucket_bounds_us.size(); ++i)
            if (us <= rtt_bucket_bounds_us[i]) ++cumulative[i];
        ++count;
        sum_us += us;
    }
};

}  // namespace lwgate
