#include "admin/process_stats.hpp"

#include <gtest/gtest.h>

namespace lwgate::admin {
namespace {

// A real line of a Linux 6.1 /proc/self/stat (lwgate, pid 4242), fields 1 to 52.
constexpr std::string_view stat_line =
    "4242 (lwgate) S 1 4242 4242 0 -1 4194560 5000 0 0 0 1234 567 0 0 20 0 3 0 8800 "
    "314572800 2048 18446744073709551615 1 1 0 0 0 0 0 4096 17479 0 0 0 17 1 0 0 0 0 0 0 0 0 0 "
    "0 0 0 0\n";

TEST(ProcessStats, ReadsTheFieldsOfProcSelfStat) {
    const auto stat = parse_proc_stat(stat_line);
    ASSERT_TRUE(stat) << stat.error().message();
    EXPECT_EQ(stat->utime_ticks, 1234u);
    EXPECT_EQ(stat->stime_ticks, 567u);
    EXPECT_EQ(stat->start_ticks, 8800u);
    EXPECT_EQ(stat->virtual_bytes, 314572800u);
    EXPECT_EQ(stat->resident_pages, 2048u);
}

TEST(ProcessStats, ACommandNameWithSpacesAndParenthesesIsSkipped) {
    const auto stat = parse_proc_stat(
        "77 (a (b) c) R 1 77 77 0 -1 0 0 0 0 0 10 20 0 0 20 0 1 0 300 4096 3 18446744073709551615");
    ASSERT_TRUE(stat) << stat.error().message();
    EXPECT_EQ(stat->utime_ticks, 10u);
    EXPECT_EQ(stat->stime_ticks, 20u);
    EXPECT_EQ(stat->start_ticks, 300u);
    EXPECT_EQ(stat->virtual_bytes, 4096u);
    EXPECT_EQ(stat->resident_pages, 3u);
}

TEST(ProcessStats, MalformedStatIsATypedError) {
    for (std::string_view bad : {
             std::string_view(""),
             std::string_view("4242 lwgate S 1"),        // no ')'
             std::string_view("4242 (lwgate) S 1 2 3"),  // too few fields
             std::string_view("1 (x) S 1 1 1 0 -1 0 0 0 0 0 ab 5 0 0 20 0 1 0 9 9 9"),  // utime
             std::string_view("1 (x) S 1 1 1 0 -1 0 0 0 0 0 1 5 0 0 20 0 1 0 9 9 -3"),  // rss
         }) {
        const auto stat = parse_proc_stat(bad);
        ASSERT_FALSE(stat) << bad;
        EXPECT_EQ(stat.error().code, ProcessErrc::malformed) << bad;
        EXPECT_FALSE(stat.error().detail.empty());
    }
}

TEST(ProcessStats, BootTimeFromProcStat) {
    const auto boot = parse_boot_time(
        "cpu  10 0 20 3000 0 0 0 0 0 0\ncpu0 10 0 20 3000 0 0 0 0 0 0\nintr 12345 0 1 2\n"
        "ctxt 99\nbtime 1701640000\nprocesses 5\n");
    ASSERT_TRUE(boot);
    EXPECT_EQ(*boot, 1701640000u);
    EXPECT_EQ(parse_boot_time("cpu 1 2 3\n").error().code, ProcessErrc::malformed);
    EXPECT_EQ(parse_boot_time("btime soon\n").error().code, ProcessErrc::malformed);
    EXPECT_EQ(parse_boot_time("btimex 5\n").error().code, ProcessErrc::malformed);
}

TEST(ProcessStats, TheSampleInBaseUnits) {
    ProcStat stat;
    stat.utime_ticks = 1234;
    stat.stime_ticks = 566;
    stat.start_ticks = 8825;
    stat.virtual_bytes = 314572800;
    stat.resident_pages = 2048;
    const auto s = process_sample(stat, 1701640000, 100, 4096);
    EXPECT_DOUBLE_EQ(s.cpu_seconds, 18.0);
    EXPECT_DOUBLE_EQ(s.start_time_seconds, 1701640088.25);
    EXPECT_EQ(s.resident_bytes, 2048u * 4096u);
    EXPECT_EQ(s.virtual_bytes, 314572800u);
}

TEST(ProcessStats, ErrorsHaveACategory) {
    const std::error_code ec = ProcessErrc::unreadable;
    EXPECT_STREQ(ec.category().name(), "lwgate.process");
    EXPECT_EQ(ec.message(), "cannot read the /proc file");
    EXPECT_EQ(std::error_code(ProcessErrc::malformed).message(), "malformed /proc text");
}

}  // namespace
}  // namespace lwgate::admin
