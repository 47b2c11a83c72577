// Security events and operator actions in the log: one line per event with its reason,
// endpoint, identity, remote address and connection; a flood bounded by a budget per reason,
// what it held back summed up once. Fake clock only.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>

#include <nlohmann/json.hpp>

#include "log/operator_log.hpp"
#include "log/security_log.hpp"
#include "log_capture.hpp"

namespace lwgate::logging {
namespace {

using namespace std::chrono_literals;
using ::testing::EndsWith;
using ::testing::HasSubstr;
const TimePoint t0 = TimePoint{} + 10h;

SecurityEvent mismatch(std::uint64_t conn = 7) {
    SecurityEvent e;
    e.reason = "identity_mismatch";
    e.conn = conn;
    e.endpoint = "dev-y";
    e.psk_identity = "id-x";
    e.remote = "127.0.0.1:40000";
    e.detail = "endpoint does not match TLS identity";
    return e;
}

std::size_t count_with(const std::vector<std::string>& lines, const std::string& needle) {
    return static_cast<std::size_t>(std::count_if(lines.begin(), lines.end(), [&](const auto& l) {
        return l.find(needle) != std::string::npos;
    }));
}

TEST(SecurityLog, ARefusalIsOneLineWithEveryField) {
    LogCapture capture;
    SecurityLog log;
    log.refused(mismatch(), t0);
    const auto lines = capture.lines();
    ASSERT_EQ(lines.size(), 1u) << capture.text();
    EXPECT_THAT(lines[0], HasSubstr(" warning "));
    EXPECT_THAT(lines[0], EndsWith("refused: endpoint does not match TLS identity "
                                   "reason=identity_mismatch ep=dev-y identity=psk:id-x "
                                   "remote=127.0.0.1:40000 conn=7"));
}

TEST(SecurityLog, JsonCarriesTheFieldsAsMembers) {
    LogCapture capture({Format::json, false});
    SecurityLog log;
    SecurityEvent e = mismatch();
    e.psk_identity = {};
    e.certificate = "urn:imei:9";
    log.refused(e, t0);
    const auto line = nlohmann::json::parse(capture.lines().at(0));
    EXPECT_EQ(line["reason"], "identity_mismatch");
    EXPECT_EQ(line["endpoint"], "dev-y");
    EXPECT_EQ(line["identity"], "cert:urn:imei:9");
    EXPECT_EQ(line["remote"], "127.0.0.1:40000");
    EXPECT_EQ(line["conn"], 7);
    EXPECT_EQ(line["msg"], "refused: endpoint does not match TLS identity");
}

TEST(SecurityLog, IdentityIsPskCertificateOrNone) {
    EXPECT_EQ(identity_text("id-1", ""), "psk:id-1");
    EXPECT_EQ(identity_text("", "urn:x"), "cert:urn:x");
    EXPECT_EQ(identity_text("", ""), "none");
}

// A flood of one reason writes its burst, then one summary when the budget allows; the timer
// is asked for once, not once per event.
TEST(SecurityLog, AFloodIsBoundedAndSummedUpOnce) {
    LogCapture capture;
    SecurityLog log(1, 5);
    std::vector<TimePoint> armed;
    log.on_summary_due([&](TimePoint at) { armed.push_back(at); });
    for (std::uint64_t i = 1; i <= 1000; ++i)
        log.refused(mismatch(i), t0);
    auto lines = capture.lines();
    EXPECT_EQ(lines.size(), 5u);
    ASSERT_EQ(armed.size(), 1u);
    EXPECT_EQ(armed[0], t0 + 1s);
    EXPECT_EQ(log.next_summary_at(), t0 + 1s);

    log.write_summaries(t0 + 1s);
    lines = capture.lines();
    ASSERT_EQ(lines.size(), 6u);
    EXPECT_THAT(lines[5], HasSubstr(" warning "));
    EXPECT_THAT(lines[5], EndsWith("995 similar line(s) not logged (log rate limit) "
                                   "reason=identity_mismatch suppressed=995"));
    EXPECT_EQ(log.next_summary_at(), never);
    log.write_summaries(t0 + 10s);
    EXPECT_EQ(capture.lines().size(), 6u) << "summed up once";
}

TEST(SecurityLog, AnotherReasonIsNotSilencedByAFlood) {
    LogCapture capture;
    SecurityLog log(1, 2);
    for (int i = 0; i < 100; ++i)
        log.refused(mismatch(), t0);
    SecurityEvent unknown;
    unknown.reason = "unknown_psk_identity";
    unknown.psk_identity = "nobody";
    unknown.remote = "10.0.0.1:1";
    unknown.detail = "TLS handshake failed";
    log.refused(unknown, t0);
    const auto lines = capture.lines();
    EXPECT_EQ(count_with(lines, "reason=identity_mismatch"), 2u);
    ASSERT_EQ(count_with(lines, "reason=unknown_psk_identity"), 1u);
    EXPECT_THAT(lines.back(), EndsWith("identity=psk:nobody remote=10.0.0.1:1"))
        << "no endpoint, no connection: left out";
}

// An event let through after a flood says first how many were held back.
TEST(SecurityLog, TheNextLoggedEventBringsTheSummaryWithIt) {
    LogCapture capture;
    SecurityLog log(1, 1);
    log.refused(mismatch(), t0);
    log.refused(mismatch(), t0);
    log.refused(mismatch(), t0);
    log.refused(mismatch(), t0 + 2s);
    const auto lines = capture.lines();
    ASSERT_EQ(lines.size(), 3u) << capture.text();
    EXPECT_THAT(lines[1], HasSubstr("suppressed=2"));
    EXPECT_THAT(lines[2], HasSubstr("refused: "));
    log.write_summaries(t0 + 5s);
    EXPECT_EQ(capture.lines().size(), 3u);
}

TEST(SecurityLog, OtherLinesShareTheBudgetOfTheirKind) {
    LogCapture capture;
    SecurityLog log(1, 2);
    EXPECT_TRUE(log.may_log("handshake_timeout", t0));
    EXPECT_TRUE(log.may_log("handshake_timeout", t0));
    EXPECT_FALSE(log.may_log("handshake_timeout", t0));
    EXPECT_TRUE(log.may_log("proxy_header", t0));
    EXPECT_TRUE(capture.lines().empty()) << "the caller writes the line itself";
    log.write_summaries(t0 + 1s);
    ASSERT_EQ(capture.lines().size(), 1u);
    EXPECT_THAT(capture.lines()[0], EndsWith("reason=handshake_timeout suppressed=1"));
}

TEST(OperatorLog, TheActionItsTargetAndTheClient) {
    LogCapture capture;
    log_operator_action("127.0.0.1:5555", "close", "dev-close");
    log_operator_action("[::1]:6000", "drain", "", "", spdlog::level::warn);
    log_operator_action("10.0.0.9:1", "release", "id:4", "hold_off_seconds=30");
    const auto lines = capture.lines();
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_THAT(lines[0], HasSubstr(" info "));
    EXPECT_THAT(lines[0], EndsWith("operator action: close action=close target=dev-close "
                                   "client=127.0.0.1:5555"));
    EXPECT_THAT(lines[1], HasSubstr(" warning "));
    EXPECT_THAT(lines[1], EndsWith("operator action: drain action=drain client=[::1]:6000"));
    EXPECT_THAT(lines[2], EndsWith("target=id:4 detail=\"hold_off_seconds=30\" client=10.0.0.9:1"));
}

}  // namespace
}  // namespace lwgate::logging
