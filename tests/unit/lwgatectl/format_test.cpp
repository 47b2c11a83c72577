#include "src/format.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace lwgate::ctl {
namespace {

using namespace std::chrono_literals;

TEST(ExitCode, FollowsHealthStatus) {
    EXPECT_EQ(exit_code_for_health("ok"), 0);
    EXPECT_EQ(exit_code_for_health("degraded"), 1);
    EXPECT_EQ(exit_code_for_health("failing"), 2);
    EXPECT_EQ(exit_code_for_health(""), 2);
    EXPECT_EQ(exit_code_for_health("OK"), 2) << "unknown status is not healthy";
}

TEST(Table, AlignsColumnsWithoutTrailingBlanks) {
    Table t({"A", "LONGER", "C"});
    t.add_row({"xyz", "1", ""});
    t.add_row({"", "22", "last"});
    EXPECT_EQ(t.render(),
              "A    LONGER  C\n"
              "xyz  1\n"
              "     22      last\n");
}

TEST(Table, RowsOnlyAndRaggedRows) {
    Table t;
    t.add_row({"key", "value"});
    t.add_row({"longer key", "v", "extra"});
    EXPECT_EQ(t.render(),
              "key         value\n"
              "longer key  v      extra\n");
    EXPECT_EQ(Table().render(), "");
    EXPECT_EQ(Table({"H"}).render(), "H\n");
}

TEST(FormatSeconds, PicksTwoUnits) {
    EXPECT_EQ(format_seconds(0), "0.0s");
    EXPECT_EQ(format_seconds(3.46), "3.5s");
    EXPECT_EQ(format_seconds(9.94), "9.9s");
    EXPECT_EQ(format_seconds(12.9), "12s");
    EXPECT_EQ(format_seconds(59.99), "59s");
    EXPECT_EQ(format_seconds(60), "1m00s");
    EXPECT_EQ(format_seconds(123), "2m03s");
    EXPECT_EQ(format_seconds(3600 + 120 + 5), "1h02m");
    EXPECT_EQ(format_seconds(3 * 86400 + 4 * 3600 + 59), "3d04h");
}

TEST(FormatSeconds, BadValuesAreADash) {
    EXPECT_EQ(format_seconds(-1), "-");
    EXPECT_EQ(format_seconds(std::nan("")), "-");
    EXPECT_EQ(format_seconds(std::numeric_limits<double>::infinity()), "-");
}

TEST(FormatMs, PrecisionShrinksAsValuesGrow) {
    EXPECT_EQ(format_ms(0.412), "0.41ms");
    EXPECT_EQ(format_ms(12.34), "12.3ms");
    EXPECT_EQ(format_ms(1204.4), "1204ms");
    EXPECT_EQ(format_ms(-0.1), "-");
}

TEST(FormatBytes, BinaryUnits) {
    EXPECT_EQ(format_bytes(0), "0 B");
    EXPECT_EQ(format_bytes(1023), "1023 B");
    EXPECT_EQ(format_bytes(1536), "1.5 KiB");
    EXPECT_EQ(format_bytes(3 * 1024 * 1024 + 200 * 1024), "3.2 MiB");
}

TEST(ParseCliDuration, UsesTheConfigSyntax) {
    EXPECT_EQ(parse_cli_duration("5s"), 5000ms);
    EXPECT_EQ(parse_cli_duration("250ms"), 250ms);
    EXPECT_EQ(parse_cli_duration("2m"), 120000ms);
    EXPECT_EQ(parse_cli_duration("5"), std::nullopt);
    EXPECT_EQ(parse_cli_duration("1.5s"), std::nullopt);
    EXPECT_EQ(parse_cli_duration(""), std::nullopt);
    EXPECT_EQ(parse_cli_duration("-1s"), std::nullopt);
}

TEST(ParseAdminAddress, AcceptsHostPortV6AndUrls) {
    auto a = parse_admin_address("127.0.0.1:8484");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->host, "127.0.0.1");
    EXPECT_EQ(a->port, 8484);
    EXPECT_EQ(a->text, "127.0.0.1:8484");
    auto v6 = parse_admin_address("[::1]:9000");
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->host, "::1");
    EXPECT_EQ(v6->port, 9000);
    auto url = parse_admin_address("http://localhost:1/");
    ASSERT_TRUE(url);
    EXPECT_EQ(url->host, "localhost");
    EXPECT_EQ(url->port, 1);
    EXPECT_FALSE(url->https);
    auto https = parse_admin_address("https://[::1]:8443/");
    ASSERT_TRUE(https);
    EXPECT_EQ(https->host, "::1");
    EXPECT_EQ(https->port, 8443);
    EXPECT_TRUE(https->https);
}

TEST(ParseAdminAddress, RejectsBadForms) {
    for (const char* bad :
         {"", "8484", "host", "host:", ":8484", "host:0", "host:65536", "host:80x", "::1:8484",
          "[::1]", "[::1]8484", "ftp://h:1", "h/x:1", "host:-1"}) {
        EXPECT_FALSE(parse_admin_address(bad)) << bad;
    }
}

TEST(NormalizeState, AcceptsDashesAndCase) {
    EXPECT_EQ(normalize_state("half-open"), "half_open");
    EXPECT_EQ(normalize_state("half_open"), "half_open");
    EXPECT_EQ(normalize_state("Sleeping"), "sleeping");
    EXPECT_EQ(normalize_state("asleep"), std::nullopt);
    EXPECT_EQ(normalize_state(""), std::nullopt);
    for (const auto& s : known_states())
        EXPECT_EQ(normalize_state(s), s);
}

TEST(PercentEncode, KeepsEndpointNamesReadable) {
    EXPECT_EQ(percent_encode("urn:imei:42"), "urn:imei:42");
    EXPECT_EQ(percent_encode("a/b c?d#e%"), "a%2Fb%20c%3Fd%23e%25");
    EXPECT_EQ(percent_encode("\xff"), "%FF");
}

TEST(LowerFirst, OnlyTheFirstLetter) {
    EXPECT_EQ(lower_first("Connection refused"), "connection refused");
    EXPECT_EQ(lower_first(""), "");
}

}  // namespace
}  // namespace lwgate::ctl
