#include "admin/close_history.hpp"

#include <gtest/gtest.h>

#include "snapshot_builder.hpp"

namespace lwgate::admin {
namespace {

using namespace test;
using session::CloseReason;

CloseRecord at(TimePoint t, CloseReason reason = CloseReason::peer_closed) {
    return {WallClock::time_point{}, t, reason, "x"};
}

TEST(CloseHistory, KeepsTheLastEightPerEndpoint) {
    CloseHistory h;
    for (int i = 0; i < 12; ++i)
        h.record("a", at(t0 + std::chrono::seconds(i)));
    ASSERT_NE(h.find("a"), nullptr);
    EXPECT_EQ(h.find("a")->size(), CloseHistory::per_endpoint);
    EXPECT_EQ(h.find("a")->front().steady, t0 + 4s);
    EXPECT_EQ(h.find("b"), nullptr);
}

TEST(CloseHistory, EvictsTheEndpointClosedLongestAgo) {
    CloseHistory h(2);
    h.record("a", at(t0));
    h.record("b", at(t0));
    h.record("a", at(t0 + 1s));  // a is now the most recent
    h.record("c", at(t0 + 2s));
    EXPECT_EQ(h.endpoints(), 2u);
    EXPECT_NE(h.find("a"), nullptr);
    EXPECT_EQ(h.find("b"), nullptr);
    EXPECT_NE(h.find("c"), nullptr);
}

TEST(CloseHistory, ExpectedClosesAreKeptButDoNotCountTowardFlapping) {
    CloseHistory h;
    for (int i = 0; i < 5; ++i) {
        auto r = at(t0 + std::chrono::seconds(i));
        r.expected = true;
        h.record("sleeper", r);
    }
    h.record("sleeper", at(t0 + 10s, CloseReason::half_open));
    EXPECT_EQ(h.find("sleeper")->size(), 6u);
    EXPECT_EQ(h.recent_counts(t0 + 20s, flapping_window).at("sleeper"), 1u);
}

TEST(CloseHistory, WhichClosesAreExpected) {
    // A queue-mode device closes its connection on every wake cycle by design.
    EXPECT_TRUE(close_expected(CloseReason::peer_closed, true));
    EXPECT_TRUE(close_expected(CloseReason::release_received, true));
    EXPECT_FALSE(close_expected(CloseReason::peer_closed, false));
    EXPECT_FALSE(close_expected(CloseReason::half_open, true));
    EXPECT_FALSE(close_expected(CloseReason::reset, true));
    // What lwgate or its operator did.
    EXPECT_TRUE(close_expected(CloseReason::shutdown, false));
    EXPECT_TRUE(close_expected(CloseReason::admin, false));
    EXPECT_FALSE(close_expected(CloseReason::registration_expired, false));
}

TEST(CloseHistory, RecentCountsAndHalfOpenWindow) {
    CloseHistory h;
    h.record("a", at(t0 - 11min));
    h.record("a", at(t0 - 9min));
    h.record("a", at(t0 - 1s));
    h.record("b", at(t0 - 20min));
    const auto counts = h.recent_counts(t0, flapping_window);
    EXPECT_EQ(counts.at("a"), 2u);
    EXPECT_EQ(counts.count("b"), 0u);
    h.record_half_open(t0 - 2min);
    h.record_half_open(t0 - 30s);
    h.record_half_open(t0);
    EXPECT_EQ(h.half_open_since(t0 - 1min), 2u);
}

}  // namespace
}  // namespace lwgate::admin
