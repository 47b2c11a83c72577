#include "admin/state.hpp"

#include <gtest/gtest.h>

#include "snapshot_builder.hpp"

namespace lwgate::admin {
namespace {

using namespace test;

TEST(AdminState, ClassifiesByUrgency) {
    auto c = connection(1, "ep").session;
    EXPECT_EQ(classify(c, true, t0), State::active);
    c.last_rx = t0 - 30s;  // idle/2 of 60 s
    EXPECT_EQ(classify(c, true, t0), State::idle);
    c.last_rx = t0 - 29s;
    EXPECT_EQ(classify(c, true, t0), State::active);
    EXPECT_EQ(classify(c, false, t0), State::unregistered);
    c.keepalive.awaiting_pong = true;
    EXPECT_EQ(classify(c, false, t0), State::pinging) << "a Ping out beats unregistered";
    c.keepalive.missed = 1;
    EXPECT_EQ(classify(c, true, t0), State::half_open);
    c.closing = true;
    EXPECT_EQ(classify(c, true, t0), State::closing);
    EXPECT_EQ(classify_absent(true), State::sleeping);
    EXPECT_EQ(classify_absent(false), State::away);
}

TEST(AdminState, NamesRoundTrip) {
    for (State s : all_states)
        EXPECT_EQ(parse_state(to_string(s)), s);
    EXPECT_EQ(parse_state("half-open"), State::half_open);
    EXPECT_EQ(parse_state("Active"), std::nullopt);
    EXPECT_EQ(parse_state(""), std::nullopt);
}

}  // namespace
}  // namespace lwgate::admin
