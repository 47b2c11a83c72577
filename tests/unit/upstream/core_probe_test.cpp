#include "upstream/core_probe.hpp"

#include <gtest/gtest.h>

namespace lwgate::upstream {
namespace {

using namespace std::chrono_literals;

const TimePoint t0 = TimePoint{} + 1h;

CoreProbeParams params(Duration interval = 30s, Duration timeout = 5s, unsigned max_missed = 3) {
    return {interval, timeout, max_missed};
}

// Runs the probe's timer at `now` and starts the probe it asks for (the prober's part).
CoreProbeDue tick(CoreProbe& p, TimePoint now) {
    const auto due = p.on_timer(now);
    if (due.send) p.begin(now);
    return due;
}

TEST(CoreProbe, TheFirstPingGoesOutAtStart) {
    CoreProbe p(params(), t0);
    EXPECT_EQ(p.next_deadline(), t0);
    EXPECT_EQ(p.state(), CoreProbeState::unknown);
    const auto due = tick(p, t0);
    EXPECT_TRUE(due.send);
    EXPECT_FALSE(due.missed);
    EXPECT_TRUE(p.in_flight());
    EXPECT_EQ(p.sent_total(), 1u);
    EXPECT_EQ(p.next_deadline(), t0 + 5s) << "the answer's deadline comes before the next Ping";
}

TEST(CoreProbe, AnAnswerGivesTheRoundTripAndOk) {
    CoreProbe p(params(), t0);
    tick(p, t0);
    const auto rtt = p.on_answer(t0 + 1500us);
    ASSERT_TRUE(rtt);
    EXPECT_EQ(*rtt, 1500us);
    EXPECT_EQ(p.state(), CoreProbeState::ok);
    EXPECT_FALSE(p.in_flight());
    EXPECT_EQ(p.last_answer(), t0 + 1500us);
    EXPECT_EQ(p.answered_total(), 1u);
    EXPECT_EQ(p.next_deadline(), t0 + 30s) << "the next Ping, one interval after the last";
    EXPECT_FALSE(p.on_answer(t0 + 2ms)) << "a second answer to the same Ping counts once";
    EXPECT_EQ(p.answered_total(), 1u);
}

TEST(CoreProbe, TheRoundTripStartsWhenThePingLeavesAfterAHandshake) {
    CoreProbe p(params(), t0);
    tick(p, t0);
    p.ping_sent(t0 + 40ms);  // the DTLS handshake took 40 ms
    EXPECT_EQ(p.on_answer(t0 + 42ms), 2ms);
    EXPECT_EQ(p.next_deadline(), t0 + 30s) << "the timeout counted from the probe's start";
}

TEST(CoreProbe, FailingAfterMaxMissedInARowAndOkAgainWithOneAnswer) {
    CoreProbe p(params(30s, 5s, 3), t0);
    tick(p, t0);
    p.on_answer(t0 + 1ms);
    for (int i = 1; i <= 3; ++i) {
        const TimePoint sent = t0 + i * 30s;
        EXPECT_EQ(p.next_deadline(), sent);
        EXPECT_TRUE(tick(p, sent).send);
        EXPECT_EQ(p.next_deadline(), sent + 5s);
        EXPECT_FALSE(tick(p, sent + 5s - 1ms).missed) << "not before the timeout";
        EXPECT_TRUE(tick(p, sent + 5s).missed);
        EXPECT_EQ(p.missed_in_a_row(), static_cast<unsigned>(i));
        EXPECT_EQ(p.state(), i < 3 ? CoreProbeState::ok : CoreProbeState::failing) << i;
    }
    EXPECT_EQ(p.last_error(), "no answer within 5s");
    EXPECT_EQ(p.missed_total(), 3u);
    tick(p, t0 + 120s);
    p.on_answer(t0 + 120s + 3ms);
    EXPECT_EQ(p.state(), CoreProbeState::ok);
    EXPECT_EQ(p.missed_in_a_row(), 0u);
    EXPECT_TRUE(p.last_error().empty());
}

TEST(CoreProbe, ACoreThatNeverAnswersGoesFromUnknownToFailing) {
    CoreProbe p(params(1s, 200ms, 2), t0);
    tick(p, t0);
    tick(p, t0 + 200ms);
    EXPECT_EQ(p.state(), CoreProbeState::unknown) << "one miss of two";
    tick(p, t0 + 1s);
    tick(p, t0 + 1200ms);
    EXPECT_EQ(p.state(), CoreProbeState::failing);
    EXPECT_FALSE(p.last_answer());
    EXPECT_EQ(p.last_error(), "no answer within 200ms");
}

TEST(CoreProbe, AnErrorCountsAsMissedAtOnce) {
    CoreProbe p(params(30s, 5s, 1), t0);
    tick(p, t0);
    p.on_failure(t0 + 1ms, "port unreachable (ICMP)");
    EXPECT_FALSE(p.in_flight());
    EXPECT_EQ(p.state(), CoreProbeState::failing);
    EXPECT_EQ(p.last_error(), "port unreachable (ICMP)");
    EXPECT_EQ(p.next_deadline(), t0 + 30s) << "no timeout left to wait for";
    p.on_failure(t0 + 2ms, "again");
    EXPECT_EQ(p.missed_total(), 1u) << "nothing in flight: a late error changes nothing";
    EXPECT_FALSE(p.on_answer(t0 + 3ms)) << "nor does a late answer";
}

TEST(CoreProbe, ALateTimerDoesNotSendTwiceOrDrift) {
    CoreProbe p(params(10s, 1s, 3), t0);
    tick(p, t0);
    p.on_answer(t0 + 1ms);
    // The loop was stuck for 35 s: one Ping now, the next one a whole interval later.
    const auto due = tick(p, t0 + 35s);
    EXPECT_TRUE(due.send);
    EXPECT_EQ(p.sent_total(), 2u);
    p.on_answer(t0 + 35s + 1ms);
    EXPECT_EQ(p.next_deadline(), t0 + 45s);
    // On time, the schedule keeps its own beat rather than the timers'.
    tick(p, t0 + 45s + 3ms);
    p.on_answer(t0 + 45s + 4ms);
    EXPECT_EQ(p.next_deadline(), t0 + 55s);
}

TEST(CoreProbe, APingStillOutWhenTheNextIsDueIsMissed) {
    // A timeout as long as the interval: the next Ping is due as the first one is missed.
    CoreProbe p(params(1s, 1s, 3), t0);
    tick(p, t0);
    const auto due = tick(p, t0 + 1s);
    EXPECT_TRUE(due.missed);
    EXPECT_TRUE(due.send);
    EXPECT_EQ(p.missed_total(), 1u);
    EXPECT_TRUE(p.in_flight()) << "the new one";
}

TEST(CoreProbe, ATimerWithNothingDueDoesNothing) {
    CoreProbe p(params(), t0);
    tick(p, t0);
    p.on_answer(t0 + 1ms);
    const auto due = tick(p, t0 + 10s);
    EXPECT_FALSE(due.send);
    EXPECT_FALSE(due.missed);
    EXPECT_EQ(p.sent_total(), 1u);
}

TEST(CoreProbe, MaxMissedZeroMeansOne) {
    CoreProbe p(params(30s, 5s, 0), t0);
    tick(p, t0);
    tick(p, t0 + 5s);
    EXPECT_EQ(p.state(), CoreProbeState::failing);
}

TEST(CoreProbe, StatesHaveNames) {
    EXPECT_EQ(to_string(CoreProbeState::unknown), "unknown");
    EXPECT_EQ(to_string(CoreProbeState::ok), "ok");
    EXPECT_EQ(to_string(CoreProbeState::failing), "failing");
}

}  // namespace
}  // namespace lwgate::upstream
