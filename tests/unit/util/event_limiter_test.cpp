// The log budget of security events: a burst, then a rate, per kind; what was held back is
// reported once, when the kind's budget allows a line again. Fake clock only.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "util/event_limiter.hpp"

namespace lwgate {
namespace {

using namespace std::chrono_literals;
const TimePoint t0 = TimePoint{} + 10h;

using Reports = std::vector<std::pair<std::string, std::uint64_t>>;

Reports take_due(EventLimiter& limiter, TimePoint now) {
    Reports out;
    limiter.take_due(now, [&](std::string_view kind, std::uint64_t n) {
        out.emplace_back(std::string(kind), n);
    });
    return out;
}

TEST(EventLimiter, ABurstThenHeldBackAndSummedUpOnceTheBudgetRefills) {
    EventLimiter limiter(1, 3);
    for (int i = 0; i < 3; ++i) {
        const auto a = limiter.admit("tls_failure", t0);
        EXPECT_TRUE(a.log) << i;
        EXPECT_EQ(a.suppressed, 0u);
    }
    EXPECT_EQ(limiter.next_due(), never) << "nothing held back yet";
    for (int i = 0; i < 100; ++i)
        EXPECT_FALSE(limiter.admit("tls_failure", t0 + 10ms).log);
    EXPECT_EQ(limiter.held(), 100u);
    EXPECT_EQ(limiter.next_due(), t0 + 1s);
    EXPECT_TRUE(take_due(limiter, t0 + 999ms).empty()) << "not before a token is there";
    EXPECT_EQ(take_due(limiter, t0 + 1s), (Reports{{"tls_failure", 100}}));
    EXPECT_EQ(limiter.held(), 0u);
    EXPECT_EQ(limiter.next_due(), never);
    EXPECT_TRUE(take_due(limiter, t0 + 10s).empty()) << "reported once";
}

TEST(EventLimiter, AnEventLoggedAfterAFloodCarriesTheCountOfWhatWasHeldBack) {
    EventLimiter limiter(1, 1);
    EXPECT_TRUE(limiter.admit("k", t0).log);
    EXPECT_FALSE(limiter.admit("k", t0).log);
    EXPECT_FALSE(limiter.admit("k", t0).log);
    const auto a = limiter.admit("k", t0 + 1s);
    EXPECT_TRUE(a.log);
    EXPECT_EQ(a.suppressed, 2u);
    EXPECT_TRUE(take_due(limiter, t0 + 5s).empty()) << "already reported with the event";
}

// A flood of one kind neither silences another kind nor delays its summary.
TEST(EventLimiter, EachKindHasItsOwnBudget) {
    EventLimiter limiter(1, 2);
    for (int i = 0; i < 50; ++i)
        limiter.admit("unknown_psk_identity", t0);
    EXPECT_TRUE(limiter.admit("identity_mismatch", t0).log);
    EXPECT_TRUE(limiter.admit("identity_mismatch", t0).log);
    EXPECT_FALSE(limiter.admit("identity_mismatch", t0).log);
    EXPECT_EQ(take_due(limiter, t0 + 1s),
              (Reports{{"unknown_psk_identity", 48}, {"identity_mismatch", 1}}));
}

// However long the flood, the lines are bounded: the burst, then one per token, summaries
// included.
TEST(EventLimiter, AFloodGivesBoundedLines) {
    EventLimiter limiter(2, 5);
    std::uint64_t lines = 0;
    std::uint64_t accounted = 0;
    const int events = 100'000;
    TimePoint now = t0;
    for (int i = 0; i < events; ++i) {
        now = t0 + std::chrono::milliseconds(i / 10);  // 10'000 per second for 10 s
        const auto a = limiter.admit("flood", now);
        if (a.log) {
            ++lines;
            accounted += 1 + a.suppressed;
        }
        for (const auto& [kind, n] : take_due(limiter, now)) {
            ++lines;
            accounted += n;
        }
    }
    EXPECT_LE(lines, 5u + 2u * 10u + 1u);
    EXPECT_EQ(accounted + limiter.held(), static_cast<std::uint64_t>(events))
        << "every event is either logged, summed up, or still held";
}

TEST(EventLimiter, KindsBeyondTheTableShareOneBudget) {
    EventLimiter limiter(1, 1, 3);
    static const std::vector<std::string> names{"a", "b", "c", "d", "e"};
    for (const auto& name : names)
        limiter.admit(name, t0);
    for (const auto& name : names)
        limiter.admit(name, t0);
    // "a" and "b" have their own; c, d and e share "other" (one line, then held back).
    EXPECT_EQ(take_due(limiter, t0 + 1s), (Reports{{"a", 1}, {"b", 1}, {"other", 5}}));
}

TEST(EventLimiter, RateZeroLogsEverything) {
    EventLimiter limiter(0, 1);
    for (int i = 0; i < 1000; ++i)
        EXPECT_TRUE(limiter.admit("k", t0).log);
    EXPECT_EQ(limiter.next_due(), never);
}

}  // namespace
}  // namespace lwgate
