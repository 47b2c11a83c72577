// lwgatectl's https:// addresses and their options: --cacert and --insecure are usage errors
// where they cannot apply, and TLS to a gateway that speaks plain HTTP says so. The verified
// HTTPS path against the real gateway is tests/integration/admin_tls_test.cpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <sstream>

#include "fake_admin.hpp"
#include "run_ctl.hpp"
#include "src/cli.hpp"

namespace lwgate::ctl {
namespace {

using ::testing::HasSubstr;

testing::CtlResult run_ctl(std::vector<std::string> args) {
    unsetenv("LWGATE_ADMIN");
    unsetenv("LWGATE_TOKEN");
    return testing::run_ctl(std::move(args));
}

// An existing file for --cacert (its contents are never read in these tests).
const char* kSomeFile = "/proc/self/status";

TEST(CliTls, CacertAndInsecureNeedAnHttpsAddress) {
    for (const auto& option :
         std::vector<std::vector<std::string>>{{"--insecure"}, {"--cacert", kSomeFile}}) {
        auto args = option;
        args.insert(args.end(), {"--admin", "127.0.0.1:1", "status"});
        const auto r = run_ctl(args);
        EXPECT_EQ(r.code, 2) << r.err;
        EXPECT_THAT(r.err, HasSubstr("--cacert and --insecure need an https:// admin address"));
    }
}

TEST(CliTls, CacertMustExistAndExcludesInsecure) {
    auto r =
        run_ctl({"--admin", "https://127.0.0.1:1", "--cacert", "/nonexistent/ca.pem", "status"});
    EXPECT_EQ(r.code, 2);
    EXPECT_THAT(r.err, HasSubstr("/nonexistent/ca.pem"));
    r = run_ctl({"--admin", "https://127.0.0.1:1", "--cacert", kSomeFile, "--insecure", "status"});
    EXPECT_EQ(r.code, 2);
    EXPECT_THAT(r.err, HasSubstr("excludes"));
}

TEST(CliTls, HttpsToAPlainHttpGatewayIsAFailedHandshake) {
    testing::FakeAdmin admin;
    admin.set("GET /v1/health", 200, R"({"status":"ok"})");
    const auto r = run_ctl({"--admin", "https://" + admin.address(), "--insecure", "status"});
    EXPECT_EQ(r.code, 2) << r.out;
    EXPECT_THAT(r.err, HasSubstr("cannot reach lwgate admin at https://" + admin.address() +
                                 ": TLS handshake failed"));
    EXPECT_TRUE(admin.requests().empty()) << "nothing sent in clear";
}

}  // namespace
}  // namespace lwgate::ctl
