#include "lwgate/config/duration.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace lwgate::config {
namespace {

using namespace std::chrono_literals;

TEST(ParseDuration, AcceptsEveryUnit) {
    EXPECT_EQ(parse_duration("250ms"), Duration(250));
    EXPECT_EQ(parse_duration("30s"), Duration(30s));
    EXPECT_EQ(parse_duration("5m"), Duration(5min));
    EXPECT_EQ(parse_duration("2h"), Duration(2h));
    EXPECT_EQ(parse_duration("0ms"), Duration(0));
    EXPECT_EQ(parse_duration("0s"), Duration(0));
    EXPECT_EQ(parse_duration("007s"), Duration(7s));
}

TEST(ParseDuration, BareZeroIsZeroButOtherBareNumbersNeedAUnit) {
    EXPECT_EQ(parse_duration("0"), Duration(0));
    EXPECT_EQ(parse_duration("00"), Duration(0));
    EXPECT_EQ(parse_duration("30"), std::nullopt);
    EXPECT_EQ(parse_duration("1"), std::nullopt);
}

TEST(ParseDuration, RejectsBadForms) {
    for (const char* bad : {"", "abc", "s", "ms", "-1s", "+1s", "1.5s", "1 s", " 1s", "1s ", "1S",
                            "1sec", "1d", "1m30s", "1us", "1ns", "h1", "0x10s", "1hh"}) {
        EXPECT_EQ(parse_duration(bad), std::nullopt) << "'" << bad << "'";
    }
}

TEST(ParseDuration, RejectsOverflow) {
    EXPECT_EQ(parse_duration("99999999999999999999ms"), std::nullopt);  // > 2^64
    EXPECT_EQ(parse_duration("9223372036854775808ms"), std::nullopt);   // 2^63 ms
    EXPECT_EQ(parse_duration("9223372036854775807ms"),
              Duration(std::numeric_limits<Duration::rep>::max()));
    EXPECT_EQ(parse_duration("9999999999999999h"), std::nullopt);  // multiplication overflows
}

TEST(FormatDuration, UsesTheLargestExactUnit) {
    EXPECT_EQ(format_duration(Duration(250)), "250ms");
    EXPECT_EQ(format_duration(30s), "30s");
    EXPECT_EQ(format_duration(90s), "90s");
    EXPECT_EQ(format_duration(5min), "5m");
    EXPECT_EQ(format_duration(120min), "2h");
    EXPECT_EQ(format_duration(Duration(1500)), "1500ms");
    EXPECT_EQ(format_duration(Duration(0)), "0s");
    EXPECT_EQ(format_duration(Duration(-250)), "-250ms");
    EXPECT_EQ(format_duration(-2h), "-2h");
    EXPECT_EQ(format_duration(Duration(std::numeric_limits<Duration::rep>::min())),
              "-9223372036854775808ms");
}

TEST(FormatDuration, RoundTripsThroughParse) {
    for (Duration d : {Duration(1), Duration(999), Duration(1000), Duration(61000),
                       Duration(3600000), Duration(86400000), Duration(0)}) {
        EXPECT_EQ(parse_duration(format_duration(d)), d) << format_duration(d);
    }
}

TEST(ParseRate, PerSecondPerMinuteAndPlain) {
    EXPECT_EQ(parse_rate("2000/s"), 2000.0);
    EXPECT_EQ(parse_rate("120/m"), 2.0);
    EXPECT_EQ(parse_rate("2000"), 2000.0);
    EXPECT_EQ(parse_rate("0.5/s"), 0.5);
    EXPECT_EQ(parse_rate("0/s"), 0.0);  // parses; the loader rejects a zero rate
    ASSERT_TRUE(parse_rate("1/m").has_value());
    EXPECT_DOUBLE_EQ(*parse_rate("1/m"), 1.0 / 60);
}

TEST(ParseRate, RejectsBadForms) {
    for (const char* bad : {"", "/s", "abc", "10/h", "10/", "10/sec", "-5/s", "1e3/s", "1./s",
                            ".5/s", "10 /s", "10/s/s", "1,5/s", "10/S"}) {
        EXPECT_EQ(parse_rate(bad), std::nullopt) << "'" << bad << "'";
    }
}

TEST(ParseSize, BytesAndBinaryUnits) {
    EXPECT_EQ(parse_size("65536"), 65536u);
    EXPECT_EQ(parse_size("512B"), 512u);
    EXPECT_EQ(parse_size("256KiB"), 256u * 1024);
    EXPECT_EQ(parse_size("8MiB"), 8u * 1024 * 1024);
    EXPECT_EQ(parse_size("0"), 0u);
}

TEST(ParseSize, RejectsBadFormsAndOverflow) {
    for (const char* bad : {"", "KiB", "1KB", "1kb", "1k", "1K", "1GiB", "1.5KiB", "-1", "1 KiB",
                            "0x100", "18446744073709551616", "18446744073709551615KiB"}) {
        EXPECT_EQ(parse_size(bad), std::nullopt) << "'" << bad << "'";
    }
    EXPECT_EQ(parse_size("18446744073709551615"), 18446744073709551615ull);
}

}  // namespace
}  // namespace lwgate::config
