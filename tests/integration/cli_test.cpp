// The command line: --version, --check-config on good and bad files.
#include <cctype>

#include "gateway_fixture.hpp"

namespace lwgate::integration {
namespace {

using harness::run_process;
using harness::TempDir;

TEST(CliTest, VersionPrintsVersion) {
    const auto r = run_process({LWGATE_BINARY, "--version"}, 10s);
    ASSERT_FALSE(r.timed_out);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    // "lwgate MAJOR.MINOR.PATCH"
    ASSERT_EQ(r.out.rfind("lwgate ", 0), 0u) << r.out;
    const std::string version = r.out.substr(7, r.out.find_first_of(" \n", 7) - 7);
    int dots = 0;
    bool digits_only = !version.empty();
    for (char c : version) {
        if (c == '.') {
            ++dots;
        } else if (!std::isdigit(static_cast<unsigned char>(c))) {
            digits_only = false;
        }
    }
    EXPECT_TRUE(digits_only && dots == 2) << "not a MAJOR.MINOR.PATCH version: '" << version << "'";
}

TEST(CliTest, CheckConfigAcceptsGoodFile) {
    TempDir dir;
    const auto path = dir.write_file("good.yaml", harness::GatewayConfig{}.yaml());
    const auto r = run_process({LWGATE_BINARY, "--check-config", path.string()}, 10s);
    ASSERT_FALSE(r.timed_out);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("ok"), std::string::npos) << r.out;
}

TEST(CliTest, CheckConfigReportsEveryErrorWithKeyAndLine) {
    TempDir dir;
    const auto path = dir.write_file("bad.yaml",
                                     "listeners:\n"                       // 1
                                     "  - uri: coap+tcp://127.0.0.1:0\n"  // 2
                                     "keepalive:\n"                       // 3
                                     "  idle: banana\n"                   // 4
                                     "  max_missed: 0\n"                  // 5
                                     "connections:\n"                     // 6
                                     "  csm_mode: sloppy\n"               // 7
                                     "no_such_key: 1\n");                 // 8
    const auto r = run_process({LWGATE_BINARY, "--check-config", path.string()}, 10s);
    ASSERT_FALSE(r.timed_out);
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    const std::string all = r.out + r.err;
    EXPECT_NE(all.find("line 4: keepalive.idle"), std::string::npos) << all;
    EXPECT_NE(all.find("line 5: keepalive.max_missed"), std::string::npos) << all;
    EXPECT_NE(all.find("line 7: connections.csm_mode"), std::string::npos) << all;
    EXPECT_NE(all.find("no_such_key"), std::string::npos) << all;
    EXPECT_NE(all.find("line 8"), std::string::npos) << all;
}

TEST(CliTest, StartingWithBadConfigFailsWithoutListening) {
    TempDir dir;
    const auto path = dir.write_file("bad.yaml", "keepalive:\n  pong_timeout: -1s\n");
    const auto r = run_process({LWGATE_BINARY, "--config", path.string()}, 10s);
    ASSERT_FALSE(r.timed_out);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.out.find("ready"), std::string::npos) << r.out;
    EXPECT_NE(r.err.find("keepalive.pong_timeout"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace lwgate::integration
