// admin.tls and the rule that keeps the bearer token off the network in clear: certificate and
// private_key go together, and an admin.listen beyond loopback needs both admin.token and
// admin.tls. The files are empty: their contents are checked when the admin server starts.
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <random>
#include <string>

#include "config/keys.hpp"
#include "config/reload_plan.hpp"
#include "config_files_fixture.hpp"

namespace lwgate::config {

namespace {

using testing_support::Err;

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

class AdminTls : public testing_support::ConfigFiles {
  protected:
    void SetUp() override {
        ConfigFiles::SetUp();
        write("admin.pem", "");
        write("admin.key", "");
    }

    // "admin:" with `listen` and the lines given, each indented under admin.
    static std::string admin(const std::string& listen, const std::string& more = "") {
        return "admin:\n  listen: '" + listen + "'\n" + more;
    }
    static constexpr const char* kToken = "  token: s3cret\n";
    static constexpr const char* kTls =
        "  tls:\n    certificate: admin.pem\n    private_key: admin.key\n";
};

TEST_F(AdminTls, BothFilesAreResolvedAgainstTheConfigDirectory) {
    const auto c = ok(admin("127.0.0.1:0", kTls));
    EXPECT_TRUE(c.admin.tls());
    EXPECT_EQ(c.admin.tls_certificate, path("admin.pem"));
    EXPECT_EQ(c.admin.tls_private_key, path("admin.key"));
}

TEST_F(AdminTls, NeitherIsPlainHttp) {
    EXPECT_FALSE(ok(admin("127.0.0.1:0")).admin.tls());
    EXPECT_FALSE(ok(admin("127.0.0.1:0", "  tls:\n")).admin.tls()) << "an empty section";
}

// The line is the section's (where its first key is), as for listeners[].tls.
TEST_F(AdminTls, OneWithoutTheOtherNamesTheMissingKey) {
    EXPECT_THAT(errors(admin("127.0.0.1:0", "  tls:\n    certificate: admin.pem\n")),
                ElementsAre(Err("admin.tls.private_key", 4, "certificate needs its private_key")));
    EXPECT_THAT(errors(admin("127.0.0.1:0", "  tls:\n    private_key: admin.key\n")),
                ElementsAre(Err("admin.tls.certificate", 4, "private_key needs its certificate")));
}

TEST_F(AdminTls, FileErrorsNameTheKeyAndLine) {
    EXPECT_THAT(errors(admin("127.0.0.1:0",
                             "  tls:\n    certificate: missing.pem\n    private_key: admin.key\n")),
                ElementsAre(Err("admin.tls.certificate", 4, "file not found")));
    EXPECT_THAT(errors(admin("127.0.0.1:0", "  tls:\n    certificate: admin.pem\n    ca: x\n")),
                ElementsAre(Err("admin.tls.ca", 5,
                                "unknown key (expected one of: certificate, "
                                "private_key)"),
                            Err("admin.tls.private_key", 4, "certificate needs its private_key")));
    EXPECT_THAT(errors(admin("127.0.0.1:0", "  tls: yes\n")),
                ElementsAre(Err("admin.tls", 3,
                                "expected a map with keys certificate, "
                                "private_key")));
}

TEST_F(AdminTls, NonLoopbackWithoutTlsIsRefused) {
    for (const char* host : {"0.0.0.0:8484", "[::]:8484", "192.0.2.10:8484", "gw.example:8484"}) {
        EXPECT_THAT(errors(admin(host, kToken)),
                    ElementsAre(Err("admin.listen", 2,
                                    "is not a loopback address: configure admin.tls with "
                                    "certificate and private_key (else the token travels in "
                                    "clear), or bind admin.listen to loopback")))
            << host;
    }
}

TEST_F(AdminTls, NonLoopbackWithoutTokenOrEitherSaysWhatIsMissing) {
    EXPECT_THAT(errors(admin("0.0.0.0:8484", kTls)),
                ElementsAre(Err("admin.listen", 2,
                                "'0.0.0.0' is not a loopback address: set admin.token (else "
                                "anyone who can reach it controls the gateway), or bind")));
    EXPECT_THAT(errors(admin("0.0.0.0:8484")),
                ElementsAre(Err("admin.listen", 2,
                                "set admin.token (else anyone who can reach "
                                "it controls the gateway) and configure "
                                "admin.tls")));
}

TEST_F(AdminTls, NonLoopbackWithTokenAndTlsIsFine) {
    const auto c = ok(admin("0.0.0.0:8484", std::string(kToken) + kTls));
    EXPECT_EQ(c.admin.host, "0.0.0.0");
    EXPECT_TRUE(c.admin.tls());
    EXPECT_EQ(ok(admin("[::]:0", std::string(kToken) + kTls)).admin.host, "::");
}

TEST_F(AdminTls, LoopbackNeedsNeither) {
    for (const char* listen : {"127.0.0.1:0", "127.8.9.10:8484", "[::1]:8484", "localhost:8484"}) {
        const auto c = ok(admin(listen));
        EXPECT_TRUE(c.admin.enabled) << listen;
        EXPECT_FALSE(c.admin.tls()) << listen;
    }
    EXPECT_EQ(ok(admin("[::1]:0", kTls)).admin.host, "::1") << "TLS on loopback too, if wanted";
}

TEST_F(AdminTls, AMissingFileIsOneErrorNotTwo) {
    EXPECT_THAT(
        errors(admin("0.0.0.0:8484", std::string(kToken) +
                                         "  tls:\n    certificate: gone.pem\n    private_key: "
                                         "admin.key\n")),
        ElementsAre(Err("admin.tls.certificate", 5, "file not found")));
}

TEST_F(AdminTls, OffNeedsNothing) {
    EXPECT_FALSE(ok("admin:\n  listen: off\n").admin.enabled);
    EXPECT_FALSE(ok("admin:\n  tls:\n    certificate: admin.pem\n    private_key: admin.key\n  "
                    "listen: off\n")
                     .admin.enabled);
}

TEST_F(AdminTls, AChangeNeedsARestart) {
    const auto a = ok(admin("127.0.0.1:0"));
    const auto b = ok(admin("127.0.0.1:0", kTls));
    const auto plan = plan_reload(a, b);
    EXPECT_THAT(plan.applied, IsEmpty());
    ASSERT_EQ(plan.needs_restart.size(), 2u);
    EXPECT_EQ(describe(plan.needs_restart[0]),
              "admin.tls.certificate \"\" -> " + path("admin.pem"));
    EXPECT_EQ(plan.needs_restart[1].key, "admin.tls.private_key");
    EXPECT_EQ(find_key("admin.tls.certificate")->reload, Reload::restart);
    EXPECT_EQ(find_key("admin.tls.private_key")->reload, Reload::restart);
    Config running = a;
    copy_reloadable(b, running);
    EXPECT_FALSE(running.admin.tls()) << "SIGHUP keeps the running admin server's TLS";
    EXPECT_THAT(describe(plan.needs_restart[0]), Not(HasSubstr("(hidden)")));
}

}  // namespace
}  // namespace lwgate::config
