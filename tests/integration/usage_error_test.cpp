// lwgate's own command line: every usage error exits 2 with CLI11's message on stderr (not
// CLI11's internal codes, 100 and up); --help and --version exit 0 and print to stdout.
#include <gmock/gmock.h>

#include "gateway_fixture.hpp"

namespace lwgate::integration {
namespace {

using harness::run_process;
using ::testing::HasSubstr;

harness::ProcessResult lwgate(std::vector<std::string> args) {
    args.insert(args.begin(), LWGATE_BINARY);
    auto r = run_process(args, 10s);
    EXPECT_FALSE(r.timed_out);
    return r;
}

TEST(UsageErrorTest, UnknownFlagExits2WithTheMessage) {
    const auto r = lwgate({"--no-such-flag"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_THAT(r.err, HasSubstr("--no-such-flag"));
    EXPECT_EQ(r.out, "");
}

TEST(UsageErrorTest, MissingArgumentExits2WithTheMessage) {
    const auto r = lwgate({"--config"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_THAT(r.err, HasSubstr("--config"));
    EXPECT_EQ(r.out, "");
}

TEST(UsageErrorTest, StrayArgumentExits2) {
    const auto r = lwgate({"gateway.yaml"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_THAT(r.err, HasSubstr("gateway.yaml"));
}

TEST(UsageErrorTest, HelpAndVersionExit0) {
    const auto help = lwgate({"--help"});
    EXPECT_EQ(help.exit_code, 0) << help.err;
    EXPECT_THAT(help.out, HasSubstr("--check-config"));
    const auto version = lwgate({"--version"});
    EXPECT_EQ(version.exit_code, 0) << version.err;
    EXPECT_THAT(version.out, HasSubstr("lwgate "));
}

}  // namespace
}  // namespace lwgate::integration
