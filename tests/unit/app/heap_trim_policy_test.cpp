#include "app/heap_trim_policy.hpp"

#include <gtest/gtest.h>

namespace lwgate::app {
namespace {

constexpr Duration kTick{500};
const TimePoint t0 = TimePoint{} + std::chrono::hours(1);

TEST(HeapTrimPolicy, TrimsOnceWhenABurstIsOver) {
    HeapTrimPolicy policy({256, Duration{60'000}}, t0);
    TimePoint now = t0;
    std::uint64_t churn = 0;
    for (int tick = 0; tick < 10; ++tick) {  // 10 ticks of 100 connection events each
        churn += 100;
        now += kTick;
        EXPECT_FALSE(policy.on_tick(now, churn)) << "trimmed in the middle of the burst";
    }
    now += kTick;
    EXPECT_TRUE(policy.on_tick(now, churn)) << "the first quiet tick after the burst";
    for (int tick = 0; tick < 10; ++tick) {
        now += kTick;
        EXPECT_FALSE(policy.on_tick(now, churn)) << "nothing new to give back";
    }
}

TEST(HeapTrimPolicy, SmallChurnNeverTrims) {
    HeapTrimPolicy policy({256, Duration{60'000}}, t0);
    TimePoint now = t0;
    std::uint64_t churn = 0;
    for (int tick = 0; tick < 1000; ++tick) {
        if (tick % 10 == 0) churn += 2;  // a few reconnects now and then: 200 in all
        now += kTick;
        EXPECT_FALSE(policy.on_tick(now, churn));
    }
}

TEST(HeapTrimPolicy, SmallBurstsAddUpToATrim) {
    HeapTrimPolicy policy({256, Duration{60'000}}, t0);
    TimePoint now = t0 + kTick;
    EXPECT_FALSE(policy.on_tick(now, 200));
    now += kTick;
    EXPECT_FALSE(policy.on_tick(now, 200));  // quiet, but only 200 events so far
    now += kTick;
    EXPECT_FALSE(policy.on_tick(now, 300));
    now += kTick;
    EXPECT_TRUE(policy.on_tick(now, 300));
}

TEST(HeapTrimPolicy, SteadyChurnTrimsAtMostOncePerInterval) {
    HeapTrimPolicy policy({256, Duration{60'000}}, t0);
    TimePoint now = t0;
    std::uint64_t churn = 0;
    int trims = 0;
    for (int tick = 0; tick < 2 * 60 * 5; ++tick) {  // 5 minutes, never quiet
        churn += 50;
        now += kTick;
        if (policy.on_tick(now, churn)) ++trims;
    }
    EXPECT_EQ(trims, 5);
}

}  // namespace
}  // namespace lwgate::app
