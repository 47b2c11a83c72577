#include "session/wire_cost.hpp"

#include <gtest/gtest.h>

namespace lwgate::session {
namespace {

using namespace std::chrono_literals;

// One exchange on plain TCP: the Ping (3 bytes) and the Pong (2) in a segment each, and the pure
// ACK of the Pong: 3 + 2 + 2 * 52 + 52.
TEST(WireCost, OneExchangeOnPlainTcpIsThreeSegments) {
    EXPECT_EQ(estimate_wire_bytes({1, 1, 2, 3}, 0), 161u);
}

// TLS 1.3 adds 22 bytes to each frame's record; the ACK carries no record.
TEST(WireCost, TlsAddsItsRecordToEachFrameButNotToTheAck) {
    EXPECT_EQ(estimate_wire_bytes({1, 1, 2, 3}, 22), 161u + 2 * 22);
}

// A Ping still waiting for its Pong counts its segment and the ACK the Pong would carry.
TEST(WireCost, AnUnansweredPingCountsAsAnExchange) {
    EXPECT_EQ(estimate_wire_bytes({0, 1, 0, 3}, 0), 3u + 52 + 52);
    EXPECT_EQ(estimate_wire_bytes({}, 0), 0u);
}

// Keepalive idle 60 s: 1,440 exchanges a day.
TEST(WireCost, ADayAtTheIdleIntervalIsOneExchangePerInterval) {
    EXPECT_EQ(idle_wire_bytes_per_day(60s, 3, 2, 0), 161u * 1440);
    EXPECT_EQ(idle_wire_bytes_per_day(2h, 3, 3, 22), (6u + 3 * 52 + 2 * 22) * 12);
}

TEST(WireCost, NoKeepaliveCostsNothing) {
    EXPECT_EQ(idle_wire_bytes_per_day(Duration::zero(), 3, 3, 0), 0u);
}

}  // namespace
}  // namespace lwgate::session
