// The round-trip histograms (lwgate_rtt_seconds, lwgate_core_probe_rtt_seconds) have fixed
// buckets; the configuration caps the timeouts they measure up to, and the buckets must reach
// well past those caps, or a slow answer would only show in +Inf.
#include <gtest/gtest.h>

#include "config/keys.hpp"
#include "util/rtt_histogram.hpp"

namespace lwgate::config {
namespace {

TEST(RttBuckets, ReachWellPastTheLongestTimeoutsTheConfigurationAllows) {
    const std::uint64_t largest_us = rtt_bucket_bounds_us.back();
    for (const char* path : {"keepalive.pong_timeout", "upstream.probe_timeout"}) {
        const KeySpec* key = find_key(path);
        ASSERT_NE(key, nullptr) << path;
        ASSERT_NE(key->max, 0u) << path << " has no upper bound: no bucket could be past it";
        EXPECT_GE(largest_us, 2 * key->max * 1000) << path;
    }
}

TEST(RttBuckets, AscendFromSubMillisecond) {
    EXPECT_LE(rtt_bucket_bounds_us.front(), 250u) << "loopback and LAN round trips";
    for (std::size_t i = 1; i < rtt_bucket_bounds_us.size(); ++i)
        EXPECT_GT(rtt_bucket_bounds_us[i], rtt_bucket_bounds_us[i - 1]) << i;
}

TEST(RttBuckets, ObservationsAreCumulative) {
    RttHistogram h;
    h.observe(std::chrono::microseconds(300));
    h.observe(std::chrono::microseconds(150'000'000));  // 150 s: past every default
    h.observe(std::chrono::microseconds(400'000'000));  // beyond the last bucket: +Inf only
    h.observe(std::chrono::microseconds(-5));           // a clock that stepped back: 0
    EXPECT_EQ(h.count, 4u);
    EXPECT_EQ(h.sum_us, 300u + 150'000'000u + 400'000'000u);
    EXPECT_EQ(h.cumulative.front(), 1u) << "-5 us counts as 0, under 250 us";
    EXPECT_EQ(h.cumulative[1], 2u) << "500 us";
    EXPECT_EQ(h.cumulative.back(), 3u) << "300 s";
}

}  // namespace
}  // namespace lwgate::config
