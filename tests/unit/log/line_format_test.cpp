// Lines as log.format writes them: text with the fields after the message, or one JSON object
// per line; the journald priority prefix; values that must not forge a line or break the JSON.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <regex>

#include <nlohmann/json.hpp>

#include "log/fields.hpp"
#include "log/journal.hpp"
#include "log_capture.hpp"

namespace lwgate::logging {
namespace {

using nlohmann::json;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(TextLines, FieldsFollowTheMessageAndEmptyOnesAreLeftOut) {
    LogCapture capture;
    log(spdlog::level::info,
        {{"reason", std::string_view("peer_closed")},
         {"endpoint", std::string_view("urn:imei:42")},
         {"conn", std::uint64_t{7}},
         {"identity", std::string_view()},
         {"remote", FieldValue()}},
        "closed after {} s", 3);
    const auto lines = capture.lines();
    ASSERT_EQ(lines.size(), 1u) << capture.text();
    EXPECT_THAT(lines[0], EndsWith(" closed after 3 s reason=peer_closed ep=urn:imei:42 conn=7"));
    EXPECT_TRUE(std::regex_search(
        lines[0], std::regex(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3} info \[\d+\] )")))
        << lines[0];
    spdlog::warn("no fields");
    EXPECT_THAT(capture.lines().at(1), HasSubstr(" warning ["));
    EXPECT_THAT(capture.lines().at(1), EndsWith("] no fields"));
}

// A PSK identity or certificate name is the peer's choice: it must not start a line of its own
// nor pass for another field.
TEST(TextLines, ValuesThatAreNotOneWordAreQuotedAndEscaped) {
    std::string out;
    append_text_value("dev-1", out);
    EXPECT_EQ(out, "dev-1");
    out.clear();
    append_text_value("a b", out);
    EXPECT_EQ(out, "\"a b\"");
    out.clear();
    append_text_value("x\nfake level=error line \"q\" \\ \t\x01", out);
    EXPECT_EQ(out, "\"x\\nfake level=error line \\\"q\\\" \\\\ \\t\\x01\"");
    out.clear();
    append_text_value("a=b", out);
    EXPECT_EQ(out, "\"a=b\"");

    LogCapture capture;
    log(spdlog::level::warn, {{"identity", std::string_view("psk:evil\ninjected")}}, "refused");
    EXPECT_EQ(capture.lines().size(), 1u) << capture.text();
}

TEST(JsonLines, OneObjectPerLineWithTimestampLevelShardMessageAndFields) {
    LogCapture capture({Format::json, false});
    set_thread_shard(3);
    log(spdlog::level::warn,
        {{"reason", std::string_view("identity_mismatch")},
         {"endpoint", std::string_view("dev-x")},
         {"conn", std::uint64_t{12}},
         {"detail", std::string_view()}},
        "refused: {}", "endpoint does not match \"TLS\" identity\nsecond line");
    set_thread_shard(-1);
    spdlog::info("plain");
    const auto lines = capture.lines();
    ASSERT_EQ(lines.size(), 2u) << capture.text();
    const auto line = json::parse(lines[0]);
    EXPECT_TRUE(
        std::regex_match(line["ts"].get<std::string>(),
                         std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d)")))
        << line["ts"];
    EXPECT_EQ(line["level"], "warning");
    EXPECT_EQ(line["shard"], 3);
    EXPECT_TRUE(line["thread"].is_number_unsigned());
    EXPECT_EQ(line["msg"], "refused: endpoint does not match \"TLS\" identity\nsecond line");
    EXPECT_EQ(line["reason"], "identity_mismatch");
    EXPECT_EQ(line["endpoint"], "dev-x");
    EXPECT_EQ(line["conn"], 12);
    EXPECT_FALSE(line.contains("detail")) << "an empty field is left out";
    const auto plain = json::parse(lines[1]);
    EXPECT_EQ(plain["msg"], "plain");
    EXPECT_EQ(plain["level"], "info");
    EXPECT_FALSE(plain.contains("shard")) << "not a shard's thread";
}

TEST(JsonLines, InvalidUtf8StillMakesValidJson) {
    LogCapture capture({Format::json, false});
    log(spdlog::level::warn, {{"identity", std::string_view("cert:\xff\xfe")}}, "bad {}", "\xc3");
    const auto line = json::parse(capture.lines().at(0));
    EXPECT_EQ(line["identity"], "cert:\xEF\xBF\xBD\xEF\xBF\xBD");
}

// journald reads "<N>" at the start of a line as its syslog priority (sd-daemon.h).
TEST(JournalPriority, EachLineStartsWithItsLevelsPriority) {
    LogCapture capture({Format::text, true});
    spdlog::debug("d");
    spdlog::info("i");
    spdlog::warn("w");
    spdlog::error("e");
    spdlog::critical("c");
    const auto lines = capture.lines();
    ASSERT_EQ(lines.size(), 5u) << capture.text();
    EXPECT_THAT(lines[0], StartsWith("<7>"));
    EXPECT_THAT(lines[1], StartsWith("<6>"));
    EXPECT_THAT(lines[2], StartsWith("<4>"));
    EXPECT_THAT(lines[3], StartsWith("<3>"));
    EXPECT_THAT(lines[4], StartsWith("<2>"));
    EXPECT_TRUE(std::regex_search(lines[2], std::regex(R"(^<4>\d{4}-\d\d-\d\dT.* warning )")));

    LogCapture json_capture({Format::json, true});
    spdlog::warn("w");
    const auto line = json_capture.lines().at(0);
    ASSERT_THAT(line, StartsWith("<4>{"));
    EXPECT_EQ(json::parse(line.substr(3))["level"], "warning");
}

TEST(Rfc3339, LocalTimeWithMillisecondsAndTheOffset) {
    const char* saved = std::getenv("TZ");
    const std::string previous = saved ? saved : "";
    ::setenv("TZ", "EST5", 1);
    ::tzset();
    const auto t = std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000)) +
                   std::chrono::milliseconds(42);
    EXPECT_EQ(rfc3339(t), "2023-11-14T17:13:20.042-05:00");
    ::setenv("TZ", "UTC0", 1);
    ::tzset();
    EXPECT_EQ(rfc3339(t), "2023-11-14T22:13:20.042+00:00");
    ::setenv("TZ", "IST-5:30", 1);
    ::tzset();
    EXPECT_EQ(rfc3339(t), "2023-11-15T03:43:20.042+05:30");
    if (saved) {
        ::setenv("TZ", previous.c_str(), 1);
    } else {
        ::unsetenv("TZ");
    }
    ::tzset();
}

TEST(JournalStream, ParsedAsDeviceColonInode) {
    EXPECT_EQ(parse_journal_stream("8:123456"), (StreamId{8, 123456}));
    EXPECT_FALSE(parse_journal_stream(""));
    EXPECT_FALSE(parse_journal_stream("8"));
    EXPECT_FALSE(parse_journal_stream(":1"));
    EXPECT_FALSE(parse_journal_stream("8:"));
    EXPECT_FALSE(parse_journal_stream("8:1x"));
    EXPECT_FALSE(parse_journal_stream("-8:1"));
    EXPECT_FALSE(parse_journal_stream("99999999999999999999999:1"));
}

// The variable alone is not enough: it must name the stream the descriptor is.
TEST(JournalStream, OnlyTheStreamItNames) {
    char path[] = "/tmp/lwgate-journal-XXXXXX";
    const int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    struct stat st {};
    ASSERT_EQ(::fstat(fd, &st), 0);
    const auto same = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
    const auto other = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino + 1);
    EXPECT_TRUE(fd_is_journal_stream(same.c_str(), fd));
    EXPECT_FALSE(fd_is_journal_stream(other.c_str(), fd));
    EXPECT_FALSE(fd_is_journal_stream(nullptr, fd));
    EXPECT_FALSE(fd_is_journal_stream("garbage", fd));
    ::close(fd);
    ::unlink(path);
}

}  // namespace
}  // namespace lwgate::logging
