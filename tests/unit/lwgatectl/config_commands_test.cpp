// `lwgatectl reload` and `lwgatectl config check [FILE]`: against a fake admin API (the
// request sent, what is printed, exit codes), and the local check of files on disk, which
// never asks the gateway.
#include "src/config_commands.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "fake_admin.hpp"
#include "run_ctl.hpp"

namespace lwgate::ctl {
namespace {

namespace fs = std::filesystem;
using testing::CtlResult;
using testing::FakeAdmin;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using testing::run_ctl;

constexpr const char* kApplied = R"({"outcome":"applied","dry_run":false,
    "config":"/etc/lwgate/gateway.yaml",
    "applied":[{"key":"keepalive.idle","from":"1m","to":"30s"},
               {"key":"log.level","from":"info","to":"debug"}],
    "needs_restart":[{"key":"threads","from":"2","to":"3"}]})";

constexpr const char* kErrors = R"({"outcome":"config_errors",
    "config":"/etc/lwgate/gateway.yaml",
    "error":"/etc/lwgate/gateway.yaml has 2 error(s); nothing changed",
    "errors":[{"key":"keepalive.idle","line":12,"message":"expected a duration, got 'soon'"},
              {"key":"credentials[0].psk_key_hex","line":3,"message":"expected hex digits",
               "file":"/etc/lwgate/devices.yaml"}]})";

class ConfigCommands : public ::testing::Test {
  protected:
    void SetUp() override {
        unsetenv("LWGATE_ADMIN");
        unsetenv("LWGATE_TOKEN");
        char tmpl[] = "/tmp/lwgatectl-config-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    CtlResult ctl(std::vector<std::string> args) {
        args.insert(args.begin(), {"--admin", admin.address()});
        return run_ctl(std::move(args));
    }
    std::string write(const std::string& name, const std::string& text) {
        const auto path = (dir_ / name).string();
        std::ofstream(path) << text;
        return path;
    }

    FakeAdmin admin;
    fs::path dir_;
};

TEST_F(ConfigCommands, ReloadPrintsWhatChangedAndWhatNeedsARestart) {
    admin.set("POST /v1/reload", 200, kApplied);
    auto r = ctl({"reload"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out,
              "reloaded /etc/lwgate/gateway.yaml: 2 change(s) applied, 1 need(s) a restart\n"
              "applied:\n"
              "  keepalive.idle  1m -> 30s\n"
              "  log.level       info -> debug\n"
              "needs a restart (until then the value on the left stays in force):\n"
              "  threads  2 -> 3\n");
    ASSERT_EQ(admin.requests().size(), 1u);
    EXPECT_EQ(admin.requests()[0].method, "POST");
    EXPECT_EQ(nlohmann::json::parse(admin.requests()[0].body), nlohmann::json::object());
}

TEST_F(ConfigCommands, ReloadWithErrorsPrintsEachWithKeyAndLineAndExits1) {
    admin.set("POST /v1/reload", 422, kErrors);
    auto r = ctl({"reload"});
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.out, "");
    EXPECT_THAT(r.err, HasSubstr("/etc/lwgate/gateway.yaml: line 12: keepalive.idle: expected a "
                                 "duration, got 'soon'\n"));
    EXPECT_THAT(r.err, HasSubstr("/etc/lwgate/devices.yaml line 3: credentials[0].psk_key_hex: "
                                 "expected hex digits\n"));
    EXPECT_THAT(r.err, HasSubstr("2 error(s)\n"));
    EXPECT_THAT(r.err, HasSubstr("lwgatectl: reload: /etc/lwgate/gateway.yaml has 2 error(s); "
                                 "nothing changed (HTTP 422)"));
}

TEST_F(ConfigCommands, ReloadRefusedOrUnreachable) {
    admin.set("POST /v1/reload", 409,
              R"({"outcome":"no_config_file","error":"lwgate runs with the built-in defaults"})");
    auto refused = ctl({"reload"});
    EXPECT_EQ(refused.code, 1);
    EXPECT_THAT(refused.err, HasSubstr("built-in defaults (HTTP 409)"));
    auto json = ctl({"reload", "--json"});
    EXPECT_EQ(json.code, 1);
    EXPECT_EQ(nlohmann::json::parse(json.out)["outcome"], "no_config_file");
    auto gone = run_ctl({"--admin", "127.0.0.1:1", "reload"});
    EXPECT_EQ(gone.code, 2);
    EXPECT_THAT(gone.err, HasSubstr("cannot reach lwgate admin"));
}

TEST_F(ConfigCommands, CheckWithoutAFileAsksTheRunningGatewayForADryRun) {
    auto checked = nlohmann::json::parse(kApplied);
    checked["outcome"] = "checked";
    checked["dry_run"] = true;
    admin.set("POST /v1/reload", 200, checked.dump());
    auto r = ctl({"config", "check"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out,
              "/etc/lwgate/gateway.yaml: ok (read by the running lwgate)\n"
              "a reload would apply:\n"
              "  keepalive.idle  1m -> 30s\n"
              "  log.level       info -> debug\n"
              "needs a restart (until then the value on the left stays in force):\n"
              "  threads  2 -> 3\n");
    EXPECT_EQ(nlohmann::json::parse(admin.requests().back().body),
              nlohmann::json::parse(R"({"dry_run": true})"));

    checked["applied"] = nlohmann::json::array();
    checked["needs_restart"] = nlohmann::json::array();
    admin.set("POST /v1/reload", 200, checked.dump());
    EXPECT_THAT(ctl({"config", "check"}).out, HasSubstr("a reload would change nothing\n"));

    admin.set("POST /v1/reload", 422, kErrors);
    auto bad = ctl({"config", "check"});
    EXPECT_EQ(bad.code, 1);
    EXPECT_THAT(bad.err, HasSubstr("/etc/lwgate/gateway.yaml: line 12: keepalive.idle"));
    EXPECT_THAT(bad.err, HasSubstr("lwgatectl: config check: "));
}

TEST_F(ConfigCommands, CheckAFileLocallyWithoutTheGateway) {
    const auto good = write("good.yaml", "keepalive:\n  idle: 30s\n");
    // An address nobody listens on: the check must not need it.
    auto r = run_ctl({"--admin", "127.0.0.1:1", "config", "check", good});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, good + ": ok\n");
    EXPECT_EQ(r.err, "");

    const auto bad = write("bad.yaml", "keepalive:\n  idle: soon\nbogus: 1\n");
    auto b = run_ctl({"config", "check", bad});
    EXPECT_EQ(b.code, 1);
    EXPECT_EQ(b.out, "");
    EXPECT_THAT(b.err, HasSubstr(bad + ": line 2: keepalive.idle: "));
    EXPECT_THAT(b.err, HasSubstr(bad + ": line 3: bogus: "));
    EXPECT_THAT(b.err, HasSubstr("2 error(s)\n"));
    EXPECT_TRUE(admin.requests().empty());

    auto missing = run_ctl({"config", "check", (dir_ / "nope.yaml").string()});
    EXPECT_EQ(missing.code, 1);
    EXPECT_THAT(missing.err, HasSubstr("cannot read config file"));
}

TEST_F(ConfigCommands, CheckAFileAsJsonHasTheApiShape) {
    const auto bad = write("bad.yaml", "keepalive:\n  idle: soon\n");
    auto r = run_ctl({"config", "check", bad, "--json"});
    EXPECT_EQ(r.code, 1);
    const auto body = nlohmann::json::parse(r.out);
    EXPECT_EQ(body["outcome"], "config_errors");
    EXPECT_EQ(body["config"], bad);
    ASSERT_EQ(body["errors"].size(), 1u);
    EXPECT_EQ(body["errors"][0]["key"], "keepalive.idle");
    EXPECT_EQ(body["errors"][0]["line"], 2);
    const auto good = write("good.yaml", "");
    auto ok = run_ctl({"--json", "config", "check", good});
    EXPECT_EQ(ok.code, 0);
    EXPECT_EQ(nlohmann::json::parse(ok.out)["outcome"], "checked");
}

// A file whose secrets are systemd credentials checks where $CREDENTIALS_DIRECTORY names them.
TEST_F(ConfigCommands, CheckAFileWithCredentials) {
    const auto file = write("creds.yaml", "admin:\n  token: !credential admin-token\n");
    unsetenv("CREDENTIALS_DIRECTORY");
    auto without = run_ctl({"config", "check", file});
    EXPECT_EQ(without.code, 1);
    EXPECT_THAT(without.err, HasSubstr(file + ": line 2: admin.token: "));
    EXPECT_THAT(without.err, HasSubstr("CREDENTIALS_DIRECTORY"));
    fs::create_directory(dir_ / "credentials");
    write("credentials/admin-token", "s3cret\n");
    setenv("CREDENTIALS_DIRECTORY", (dir_ / "credentials").c_str(), 1);
    auto with = run_ctl({"config", "check", file});
    unsetenv("CREDENTIALS_DIRECTORY");
    EXPECT_EQ(with.code, 0) << with.err;
    EXPECT_THAT(with.out, Not(HasSubstr("s3cret")));
}

TEST_F(ConfigCommands, UsageAndHelp) {
    auto none = run_ctl({"config"});
    EXPECT_EQ(none.code, 2) << "config needs check";
    auto help = run_ctl({"config", "check", "--help"});
    EXPECT_EQ(help.code, 0);
    EXPECT_THAT(help.out, HasSubstr("without FILE"));
    EXPECT_THAT(run_ctl({"reload", "--help"}).out, HasSubstr("SIGHUP"));
    EXPECT_THAT(run_ctl({"config", "check", "a", "b"}).code, 2);
    EXPECT_THAT(run_ctl({"--help"}).out, HasSubstr("config"));
}

TEST(RenderReload, ToleratesMissingFields) {
    EXPECT_THAT(render_reload(nlohmann::json::object()), HasSubstr("0 change(s) applied"));
    EXPECT_THAT(render_reload(nullptr), HasSubstr("0 change(s) applied"));
    EXPECT_THAT(render_config_errors(nlohmann::json::parse(R"({"errors":[{"line":"x"}]})")),
                HasSubstr("1 error(s)"));
    EXPECT_THAT(render_config_errors(nlohmann::json::array()), IsEmpty());
}

}  // namespace
}  // namespace lwgate::ctl
