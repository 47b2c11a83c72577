#include "session/keepalive_fsm.hpp"

#include <gtest/gtest.h>

namespace lwgate::session {
namespace {

using namespace std::chrono_literals;

KeepaliveParams params() {
    KeepaliveParams p;
    p.idle = 60s;
    p.pong_timeout = 10s;
    p.max_missed = 1;
    p.csm_timeout = 5s;
    p.csm_strict = true;
    p.unregistered_idle = Duration::zero();  // tested separately
    return p;
}

struct Fsm : ::testing::Test {
    TimePoint t0 = TimePoint{} + 1000h;
    KeepaliveFsm make(KeepaliveParams p = params()) {
        KeepaliveFsm fsm(p, t0);
        fsm.on_csm_received();
        return fsm;
    }
};

TEST_F(Fsm, QuietBeforeIdleThenPing) {
    auto fsm = make();
    EXPECT_EQ(fsm.next_deadline(), t0 + 60s);
    EXPECT_EQ(fsm.on_tick(t0 + 59s), KeepaliveAction::none);
    EXPECT_EQ(fsm.on_tick(t0 + 60s), KeepaliveAction::send_ping);
    EXPECT_TRUE(fsm.awaiting_pong());
    EXPECT_EQ(fsm.next_deadline(), t0 + 70s);
}

TEST_F(Fsm, PongAnswersPingAndMeasuresRtt) {
    auto fsm = make();
    ASSERT_EQ(fsm.on_tick(t0 + 60s), KeepaliveAction::send_ping);
    fsm.on_rx(t0 + 60s + 150ms);
    auto rtt = fsm.on_pong(t0 + 60s + 150ms);
    ASSERT_TRUE(rtt.has_value());
    EXPECT_EQ(*rtt, 150ms);
    EXPECT_FALSE(fsm.awaiting_pong());
    EXPECT_EQ(fsm.on_pong(t0 + 61s), std::nullopt) << "a second Pong has no Ping to answer";
    // Idle restarts from the last byte received.
    EXPECT_EQ(fsm.next_deadline(), t0 + 120s + 150ms);
    EXPECT_EQ(fsm.on_tick(t0 + 75s), KeepaliveAction::none) << "no half-open after an answer";
}

TEST_F(Fsm, MissedPongDeclaresHalfOpen) {
    auto fsm = make();
    ASSERT_EQ(fsm.on_tick(t0 + 60s), KeepaliveAction::send_ping);
    EXPECT_EQ(fsm.on_tick(t0 + 69s), KeepaliveAction::none);
    EXPECT_EQ(fsm.on_tick(t0 + 70s), KeepaliveAction::close_half_open);
    EXPECT_EQ(fsm.missed(), 1u);
}

TEST_F(Fsm, MaxMissedPingsInARowBeforeHalfOpen) {
    auto p = params();
    p.max_missed = 3;
    auto fsm = make(p);
    ASSERT_EQ(fsm.on_tick(t0 + 60s), KeepaliveAction::send_ping);
    EXPECT_EQ(fsm.on_tick(t0 + 70s), KeepaliveAction::send_ping);
    EXPECT_EQ(fsm.missed(), 1u);
    EXPECT_EQ(fsm.on_tick(t0 + 80s), KeepaliveAction::send_ping);
    EXPECT_EQ(fsm.missed(), 2u);
    EXPECT_EQ(fsm.next_deadline(), t0 + 90s);
    EXPECT_EQ(fsm.on_tick(t0 + 90s), KeepaliveAction::close_half_open);
    // Bound: idle + max_missed * pong_timeout.
    EXPECT_EQ(t0 + 90s, t0 + p.idle + p.max_missed * p.pong_timeout);
}

TEST_F(Fsm, AnyTrafficResetsMissedCounterAndIdle) {
    auto p = params();
    p.max_missed = 2;
    auto fsm = make(p);
    ASSERT_EQ(fsm.on_tick(t0 + 60s), KeepaliveAction::send_ping);
    ASSERT_EQ(fsm.on_tick(t0 + 70s), KeepaliveAction::send_ping);
    ASSERT_EQ(fsm.missed(), 1u);
    fsm.on_rx(t0 + 75s);  // e.g. a request, not a Pong: still life
    EXPECT_EQ(fsm.missed(), 0u);
    EXPECT_FALSE(fsm.awaiting_pong());
    EXPECT_EQ(fsm.on_tick(t0 + 80s), KeepaliveAction::none);
    EXPECT_EQ(fsm.next_deadline(), t0 + 135s);
}

TEST_F(Fsm, TrafficBeforeIdlePostponesPing) {
    auto fsm = make();
    for (int i = 1; i <= 10; ++i) {
        fsm.on_rx(t0 + i * 30s);
        EXPECT_EQ(fsm.on_tick(t0 + i * 30s + 1s), KeepaliveAction::none);
    }
    EXPECT_EQ(fsm.next_deadline(), t0 + 300s + 60s);
}

TEST_F(Fsm, LateTickStillSendsOnePingPerCall) {
    auto fsm = make();
    // A tick that arrives long after the deadline sends a Ping first; only a later tick can
    // declare it missed, so an overloaded shard never closes a connection without asking.
    EXPECT_EQ(fsm.on_tick(t0 + 500s), KeepaliveAction::send_ping);
    EXPECT_EQ(fsm.on_tick(t0 + 500s), KeepaliveAction::none);
    EXPECT_EQ(fsm.on_tick(t0 + 510s), KeepaliveAction::close_half_open);
}

TEST_F(Fsm, CsmTimeoutStrictCloses) {
    KeepaliveFsm fsm(params(), t0);
    EXPECT_TRUE(fsm.csm_pending());
    EXPECT_EQ(fsm.next_deadline(), t0 + 5s);
    EXPECT_EQ(fsm.on_tick(t0 + 4s), KeepaliveAction::none);
    EXPECT_EQ(fsm.on_tick(t0 + 5s), KeepaliveAction::close_csm_timeout);
}

TEST_F(Fsm, CsmTimeoutLenientContinues) {
    auto p = params();
    p.csm_strict = false;
    KeepaliveFsm fsm(p, t0);
    EXPECT_EQ(fsm.on_tick(t0 + 5s), KeepaliveAction::csm_defaulted);
    EXPECT_FALSE(fsm.csm_pending());
    EXPECT_EQ(fsm.on_tick(t0 + 5s), KeepaliveAction::none);
    EXPECT_EQ(fsm.next_deadline(), t0 + 60s);
}

TEST_F(Fsm, CsmInTimeCancelsDeadline) {
    KeepaliveFsm fsm(params(), t0);
    fsm.on_rx(t0 + 1s);
    fsm.on_csm_received();
    EXPECT_EQ(fsm.on_tick(t0 + 6s), KeepaliveAction::none);
    EXPECT_EQ(fsm.next_deadline(), t0 + 61s);
}

TEST_F(Fsm, UnregisteredIdleClosesUnlessRegistered) {
    auto p = params();
    p.unregistered_idle = 30s;
    auto fsm = make(p);
    EXPECT_EQ(fsm.next_deadline(), t0 + 30s);
    fsm.on_rx(t0 + 20s);  // traffic does not count: only a registration does
    EXPECT_EQ(fsm.on_tick(t0 + 30s), KeepaliveAction::close_unregistered_idle);

    auto registered = make(p);
    registered.set_registered(true, t0 + 10s);
    EXPECT_EQ(registered.on_tick(t0 + 30s), KeepaliveAction::none);
    registered.on_rx(t0 + 40s);
    registered.set_registered(false, t0 + 40s);  // de-registered: the clock starts again
    EXPECT_EQ(registered.on_tick(t0 + 69s), KeepaliveAction::none);
    EXPECT_EQ(registered.on_tick(t0 + 70s), KeepaliveAction::close_unregistered_idle);
}

TEST_F(Fsm, OperatorPingMeasuresRttWithoutAffectingHalfOpen) {
    auto fsm = make();
    fsm.on_ping_sent(t0 + 10s);
    EXPECT_FALSE(fsm.awaiting_pong()) << "an operator Ping is not a keepalive probe";
    fsm.on_rx(t0 + 10s + 42ms);
    EXPECT_EQ(fsm.on_pong(t0 + 10s + 42ms), 42ms);
}

}  // namespace
}  // namespace lwgate::session
