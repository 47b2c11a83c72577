// `lwgatectl reload` and `lwgatectl config check` against the real lwgate (POST /v1/reload):
// a check changes nothing, a reload is the SIGHUP reload (an open connection gets the new
// keepalive), a file with errors is refused with its keys and lines; and secrets that come as
// systemd credentials ($CREDENTIALS_DIRECTORY, !credential), which only the gateway can read.
#include <gmock/gmock.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "gateway_fixture.hpp"
#include "run_lwgatectl.hpp"

namespace lwgate::integration {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class LwgatectlReloadTest : public GatewayTest {
  protected:
    harness::ProcessResult ctl(std::vector<std::string> args) {
        return run_lwgatectl(gateway.admin_url(), std::move(args));
    }
    void rewrite(const std::string& yaml) { std::ofstream(gateway.config_path()) << yaml; }
};

TEST_F(LwgatectlReloadTest, CheckChangesNothingAndReloadAppliesLikeSighup) {
    config.keepalive_idle = "1h";
    start_gateway();
    auto device = connect_ready();  // silent from here on
    auto same = ctl({"config", "check"});
    EXPECT_EQ(same.exit_code, 0) << same.err;
    EXPECT_THAT(same.out, HasSubstr("a reload would change nothing"));

    config.keepalive_idle = "1s";
    config.threads = 3;  // needs a restart
    rewrite(config.yaml());
    auto check = ctl({"config", "check"});
    EXPECT_EQ(check.exit_code, 0) << check.err;
    EXPECT_THAT(check.out,
                HasSubstr(gateway.config_path().string() + ": ok (read by the running lwgate)"));
    EXPECT_THAT(check.out, HasSubstr("a reload would apply:\n  keepalive.idle  1h -> 1s\n"));
    EXPECT_THAT(check.out, HasSubstr("needs a restart"));
    EXPECT_EQ(gateway.count_in_log("reload: applied"), 0u) << "a check applies nothing";

    auto reload = ctl({"reload"});
    EXPECT_EQ(reload.exit_code, 0) << reload.err;
    EXPECT_THAT(reload.out, HasSubstr("1 change(s) applied, 1 need(s) a restart"));
    EXPECT_THAT(reload.out, HasSubstr("  keepalive.idle  1h -> 1s\n"));
    EXPECT_THAT(reload.out, HasSubstr("  threads  2 -> 3\n"));
    EXPECT_TRUE(
        gateway.wait_for_log("admin API reload: reloaded 1 change(s), 1 need a restart", 5s))
        << gateway.log();
    EXPECT_THAT(gateway.log(), HasSubstr("reload requested through the admin API by 127.0.0.1:"));
    EXPECT_THAT(gateway.log(), HasSubstr("reload: applied keepalive.idle 1h -> 1s"));
    // The same reload as SIGHUP: the open, silent connection gets a Ping within the new idle.
    EXPECT_TRUE(device.receive_code(code::ping, 5s).has_value()) << "no Ping after the reload";
}

TEST_F(LwgatectlReloadTest, AFileWithErrorsIsRefusedWithKeysAndLines) {
    start_gateway();
    rewrite(config.yaml() + "bogus_key: 1\n");
    const auto path = gateway.config_path().string();
    auto reload = ctl({"reload"});
    EXPECT_EQ(reload.exit_code, 1);
    EXPECT_THAT(reload.err, HasSubstr(path + ": line "));
    EXPECT_THAT(reload.err, HasSubstr(": bogus_key: "));
    EXPECT_THAT(reload.err, HasSubstr("1 error(s)"));
    EXPECT_THAT(reload.err, HasSubstr("nothing changed (HTTP 422)"));
    EXPECT_TRUE(gateway.running());
    EXPECT_EQ(gateway.count_in_log("reload: applied"), 0u);

    // The same errors from the file checked here, and from the gateway's own check.
    auto local = ctl({"config", "check", path});
    EXPECT_EQ(local.exit_code, 1);
    EXPECT_THAT(local.err, HasSubstr(": bogus_key: "));
    auto remote = ctl({"config", "check", "--json"});
    EXPECT_EQ(remote.exit_code, 1);
    const auto body = nlohmann::json::parse(remote.out);
    EXPECT_EQ(body["outcome"], "config_errors");
    EXPECT_EQ(body["errors"][0]["key"], "bogus_key");
    EXPECT_GT(body["errors"][0]["line"].get<int>(), 0);
}

// The admin token as a systemd credential: the gateway reads it from $CREDENTIALS_DIRECTORY,
// a check through the gateway sees it, a check of the file elsewhere does not.
TEST_F(LwgatectlReloadTest, SecretsFromTheCredentialsDirectory) {
    harness::TempDir credentials("lwgate-credentials-");
    std::ofstream(credentials / "admin-token") << "tok-from-systemd\n";
    std::ofstream(credentials / "devices.yaml")
        << "- { endpoint: dev-1, psk_identity: id-1, psk_key_hex: 0102030405060708 }\n";
    config.admin_token = "placeholder";
    config.extra_yaml = "credentials_file: ${CREDENTIALS_DIRECTORY}/devices.yaml\n";
    std::string yaml = config.yaml();
    const std::string placeholder = "token: 'placeholder'";
    ASSERT_NE(yaml.find(placeholder), std::string::npos) << yaml;
    yaml.replace(yaml.find(placeholder), placeholder.size(), "token: !credential admin-token");
    options.extra_env = {"CREDENTIALS_DIRECTORY=" + credentials.path().string()};
    gateway.start(LWGATE_BINARY, yaml, options);
    EXPECT_THAT(gateway.log(), Not(HasSubstr("tok-from-systemd")));

    EXPECT_EQ(ctl({"connections"}).exit_code, 1) << "401 without the token";
    auto with = ctl({"--token", "tok-from-systemd", "config", "check"});
    EXPECT_EQ(with.exit_code, 0) << with.err;
    EXPECT_THAT(with.out, HasSubstr("a reload would change nothing"));

    auto local = ctl({"config", "check", gateway.config_path().string()});
    EXPECT_EQ(local.exit_code, 1);
    EXPECT_THAT(local.err, HasSubstr("admin.token: !credential admin-token needs "
                                     "$CREDENTIALS_DIRECTORY, which is not set"));
    EXPECT_THAT(local.err, HasSubstr("credentials_file: "));
}

}  // namespace
}  // namespace lwgate::integration
