// Loading with files on disk: TLS files, credentials_file, load_config_file and conf/gateway.yaml.
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <random>
#include <string>

#include "config_files_fixture.hpp"

namespace lwgate::config {

namespace {

using testing_support::ConfigFiles;
using testing_support::describe;
using testing_support::Err;

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::SizeIs;

auto FileErr(const std::string& file, const std::string& key, int line, const std::string& text) {
    return AllOf(Field(&ConfigError::file, file), Field(&ConfigError::key, key),
                 Field(&ConfigError::line, line), Field(&ConfigError::message, HasSubstr(text)));
}

constexpr const char* kPem = "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n";

TEST_F(ConfigFiles, FullExampleWithEveryKey) {
    write("certs/server.pem", kPem);
    write("certs/server.key", kPem);
    write("certs/ca.pem", kPem);
    const std::string yaml = R"(listeners:
  - uri: coap+tcp://127.0.0.1:0
    allow_plain_registration: false
  - uri: coaps+tcp://127.0.0.1:0
    tls:
      certificate: certs/server.pem
      private_key: certs/server.key
      ca: certs/ca.pem
      require_client_certificate: true
      psk: true
      psk_identity_hint: hint
      handshake_timeout: 3s
upstream: {uri: coap://127.0.0.1:5685, bootstrap_uri: coap://127.0.0.1:5785}
keepalive: {idle: 20s, pong_timeout: 2s, max_missed: 3}
tcp:
  nodelay: true
  keepalive: true
  keepalive_idle: 60s
  keepalive_interval: 10s
  keepalive_count: 5
  user_timeout: 45s
connections:
  max: 10
  accept_rate: 10/s
  accept_burst: 20
  csm_timeout: 1s
  csm_mode: strict
  unregistered_idle: 10s
  max_message_size: 2048
  write_queue_limit: 64KiB
  write_timeout: 5s
  max_tls_handshakes_per_address: 8
shutdown: {drain_timeout: 3s, hold_off_min: 1s, hold_off_max: 2s}
queue_mode: {max_queued: 4, max_age: 1m}
store: {uri: 'sqlite:///var/lib/lwgate/state.db'}
admin: {listen: '127.0.0.1:0', token: abc}
credentials_file: creds.yaml
log: {level: trace}
threads: 1
)";
    write("creds.yaml",
          "- endpoint: urn:dev:1\n  psk_identity: one\n  psk_key_hex: 0102\n"
          "- endpoint: urn:dev:2\n  psk_identity: two\n  psk_key_hex: ff\n");
    const Config c = ok(yaml);
    ASSERT_THAT(c.listeners, SizeIs(2));
    EXPECT_FALSE(c.listeners[0].allow_plain_registration);
    const auto& tls = c.listeners[1].tls;
    ASSERT_TRUE(tls.has_value());
    EXPECT_EQ(tls->certificate, path("certs/server.pem"));
    EXPECT_EQ(tls->private_key, path("certs/server.key"));
    EXPECT_EQ(tls->ca, path("certs/ca.pem"));
    EXPECT_TRUE(tls->require_client_certificate);
    EXPECT_TRUE(tls->psk);
    EXPECT_EQ(tls->psk_identity_hint, "hint");
    EXPECT_EQ(tls->handshake_timeout, 3s);
    EXPECT_EQ(c.upstream.endpoint.port, 5685);
    EXPECT_EQ(c.upstream.bootstrap->port, 5785);
    EXPECT_EQ(c.keepalive.idle, 20s);
    EXPECT_EQ(c.keepalive.pong_timeout, 2s);
    EXPECT_EQ(c.keepalive.max_missed, 3u);
    EXPECT_EQ(c.tcp.keepalive_idle, 60s);
    EXPECT_EQ(c.tcp.keepalive_interval, 10s);
    EXPECT_EQ(c.tcp.keepalive_count, 5u);
    EXPECT_EQ(c.tcp.user_timeout, 45s);
    EXPECT_EQ(c.connections.max, 10u);
    EXPECT_EQ(c.connections.accept_rate.per_second, 10.0);
    EXPECT_EQ(c.connections.accept_rate.burst, 20u);
    EXPECT_EQ(c.connections.csm_timeout, 1s);
    EXPECT_EQ(c.connections.unregistered_idle, 10s);
    EXPECT_EQ(c.connections.max_message_size, 2048u);
    EXPECT_EQ(c.connections.write_queue_limit, 65536u);
    EXPECT_EQ(c.connections.write_timeout, 5s);
    EXPECT_EQ(c.connections.max_tls_handshakes_per_address, 8u);
    EXPECT_EQ(c.shutdown.drain_timeout, 3s);
    EXPECT_EQ(c.shutdown.hold_off_min, 1s);
    EXPECT_EQ(c.shutdown.hold_off_max, 2s);
    EXPECT_EQ(c.queue_mode.max_queued, 4u);
    EXPECT_EQ(c.queue_mode.max_age, 1min);
    EXPECT_EQ(c.store.uri, "sqlite:///var/lib/lwgate/state.db");
    EXPECT_EQ(c.admin.port, 0);
    EXPECT_EQ(c.admin.token, "abc");
    EXPECT_EQ(c.credentials_file, path("creds.yaml"));
    ASSERT_THAT(c.credentials, SizeIs(2));
    EXPECT_EQ(c.credentials[0].endpoint, "urn:dev:1");
    EXPECT_EQ(c.credentials[0].psk_key, (std::vector<std::uint8_t>{1, 2}));
    EXPECT_EQ(c.credentials[0].line, 1);
    EXPECT_EQ(c.credentials[1].psk_identity, "two");
    EXPECT_EQ(c.credentials[1].line, 4);
    EXPECT_EQ(c.log.level, LogLevel::trace);
    EXPECT_EQ(c.threads, 1u);
}

TEST_F(ConfigFiles, AbsoluteTlsPathsAreKept) {
    const std::string cert = write("abs/server.pem", kPem);
    const std::string key = write("abs/server.key", kPem);
    const Config c = ok("listeners:\n  - uri: coaps+tcp://127.0.0.1:0\n    tls: {certificate: '" +
                        cert + "', private_key: '" + key + "'}\n");
    EXPECT_EQ(c.listeners[0].tls->certificate, cert);
    EXPECT_EQ(c.listeners[0].tls->private_key, key);
}

TEST_F(ConfigFiles, MissingTlsFilesNameTheKeyAndLine) {
    write("server.key", kPem);
    const auto errs = errors(R"(listeners:
  - uri: coap+tcp://127.0.0.1:0
  - uri: coaps+tcp://127.0.0.1:0
    tls:
      certificate: nope.pem
      private_key: server.key
      ca: missing-ca.pem
)");
    EXPECT_THAT(
        errs,
        ElementsAre(Err("listeners[1].tls.certificate", 5, "file not found: " + path("nope.pem")),
                    Err("listeners[1].tls.ca", 7, "file not found: " + path("missing-ca.pem"))));
    EXPECT_EQ(errs[0].to_string(),
              "line 5: listeners[1].tls.certificate: file not found: " + path("nope.pem"));
}

TEST_F(ConfigFiles, TlsFileThatIsADirectory) {
    fs::create_directories(dir_ / "cert.d");
    write("k.pem", kPem);
    EXPECT_THAT(errors("listeners:\n  - uri: coaps+tcp://127.0.0.1:0\n"
                       "    tls: {certificate: cert.d, private_key: k.pem}\n"),
                ElementsAre(Err("listeners[0].tls.certificate", 3, "not a regular file")));
}

TEST_F(ConfigFiles, TlsPairings) {
    write("s.pem", kPem);
    write("s.key", kPem);
    write("ca.pem", kPem);
    EXPECT_THAT(errors("listeners:\n  - uri: coaps+tcp://127.0.0.1:0\n"
                       "    tls:\n      certificate: s.pem\n"),
                ElementsAre(Err("listeners[0].tls.private_key", 4, "certificate needs")));
    EXPECT_THAT(errors("listeners:\n  - uri: coaps+tcp://127.0.0.1:0\n"
                       "    tls:\n      private_key: s.key\n"),
                ElementsAre(Err("listeners[0].tls.certificate", 4, "private_key needs")));
    // A certificate that does not exist is one error, not also "needs a certificate".
    EXPECT_THAT(errors("listeners:\n  - uri: coaps+tcp://127.0.0.1:0\n"
                       "    tls:\n      certificate: gone.pem\n      private_key: s.key\n"),
                ElementsAre(Err("listeners[0].tls.certificate", 4, "file not found")));
    EXPECT_THAT(errors("listeners:\n  - uri: coaps+tcp://127.0.0.1:0\n"
                       "    tls:\n      certificate: s.pem\n      private_key: s.key\n"
                       "      require_client_certificate: true\n"),
                ElementsAre(Err("listeners[0].tls.require_client_certificate", 6, "needs tls.ca")));
    EXPECT_THAT(errors("listeners:\n  - uri: coaps+tcp://127.0.0.1:0\n"
                       "    tls:\n      psk: true\n      ca: ca.pem\n"
                       "credentials: [{endpoint: a, psk_identity: a, psk_key_hex: '00'}]\n"),
                ElementsAre(Err("listeners[0].tls.ca", 5, "ca needs certificate")));
    EXPECT_THAT(errors("listeners:\n  - uri: coaps+tcp://127.0.0.1:0\n"
                       "    tls:\n      certificate: s.pem\n      private_key: s.key\n"
                       "      handshake_timeout: 0s\n"),
                ElementsAre(Err("listeners[0].tls.handshake_timeout", 6, "greater than 0")));
}

TEST_F(ConfigFiles, CredentialsFileRelativeToBaseDir) {
    const std::string creds = write("sub/creds.yaml",
                                    "# devices\n- endpoint: urn:imei:1\n  psk_identity: a\n"
                                    "  psk_key_hex: aabb\n");
    const Config c =
        ok("listeners:\n  - uri: coaps+tcp://127.0.0.1:0\n    tls: {psk: true}\n"
           "credentials_file: sub/creds.yaml\n");
    EXPECT_EQ(c.credentials_file, creds);
    ASSERT_THAT(c.credentials, SizeIs(1));
    EXPECT_EQ(c.credentials[0].endpoint, "urn:imei:1");
    EXPECT_EQ(c.credentials[0].psk_key, (std::vector<std::uint8_t>{0xaa, 0xbb}));
    EXPECT_EQ(c.credentials[0].line, 2);
}

TEST_F(ConfigFiles, ErrorsInsideTheCredentialsFileNameThatFile) {
    const std::string creds =
        write("creds.yaml",
              "- endpoint: urn:imei:1\n  psk_identity: a\n  psk_key_hex: aab\n"
              "- endpoint: urn:imei:1\n  psk_identity: b\n  psk_key_hex: aa\n"
              "  extra: 1\n");
    const auto errs = errors("threads: 0\ncredentials_file: creds.yaml\n");
    EXPECT_THAT(errs, ElementsAre(Err("threads", 1, "between 1 and 256"),
                                  FileErr(creds, "credentials[0].psk_key_hex", 3, "even number"),
                                  FileErr(creds, "credentials[1].extra", 7, "unknown key"),
                                  FileErr(creds, "credentials[1].endpoint", 4,
                                          "duplicate endpoint 'urn:imei:1'")));
    EXPECT_EQ(errs[0].file, "");
    EXPECT_EQ(errs[1].to_string(),
              creds +
                  " line 3: credentials[0].psk_key_hex: expected an even number of hex "
                  "digits, got 3");
}

TEST_F(ConfigFiles, CredentialsFileProblems) {
    EXPECT_THAT(errors("threads: 1\ncredentials_file: none.yaml\n"),
                ElementsAre(Err("credentials_file", 2, "cannot read " + path("none.yaml"))));
    const std::string bad_syntax = write("bad.yaml", "- endpoint: a\n  psk_identity: [x\n");
    auto errs = errors("credentials_file: bad.yaml\n");
    ASSERT_THAT(errs, SizeIs(1));
    EXPECT_EQ(errs[0].file, bad_syntax);
    EXPECT_THAT(errs[0].message, HasSubstr("YAML syntax error"));
    EXPECT_GE(errs[0].line, 2);
    const std::string not_list = write("map.yaml", "endpoint: a\n");
    EXPECT_THAT(errors("credentials_file: map.yaml\n"),
                ElementsAre(FileErr(not_list, "credentials", 1, "expected a list of credentials")));
    EXPECT_THAT(errors("credentials_file: [a]\n"),
                ElementsAre(Err("credentials_file", 1, "expected a string")));
    fs::create_directories(dir_ / "d.yaml");
    EXPECT_THAT(errors("credentials_file: d.yaml\n"),
                ElementsAre(Err("credentials_file", 1, "cannot read")));
}

TEST_F(ConfigFiles, AnEmptyCredentialsFileIsNoError) {
    write("empty.yaml", "# no devices yet\n");
    EXPECT_TRUE(ok("credentials_file: empty.yaml\n").credentials.empty());
    EXPECT_TRUE(ok("listeners:\n  - uri: coaps+tcp://127.0.0.1:0\n    tls:\n      psk: true\n"
                   "credentials_file: empty.yaml\n")
                    .credentials.empty());
}

TEST_F(ConfigFiles, LoadConfigFileResolvesAgainstItsDirectory) {
    write("conf/tls/server.pem", kPem);
    write("conf/tls/server.key", kPem);
    write("conf/creds.yaml", "- {endpoint: e, psk_identity: i, psk_key_hex: '0a'}\n");
    const std::string main = write("conf/gw.yaml",
                                   "listeners:\n  - uri: coaps+tcp://127.0.0.1:0\n    tls:\n"
                                   "      certificate: tls/server.pem\n"
                                   "      private_key: tls/server.key\n      psk: true\n"
                                   "credentials_file: creds.yaml\n");
    auto r = load_config_file(main);
    ASSERT_TRUE(std::holds_alternative<Config>(r)) << describe(r);
    const auto& c = std::get<Config>(r);
    EXPECT_EQ(c.listeners[0].tls->certificate, path("conf/tls/server.pem"));
    EXPECT_EQ(c.credentials_file, path("conf/creds.yaml"));
    ASSERT_THAT(c.credentials, SizeIs(1));
}

TEST_F(ConfigFiles, LoadConfigFileErrorsKeepLineFormat) {
    const std::string main = write("gw.yaml", "threads: 2\nkeepalive:\n  idle: abc\n");
    auto r = load_config_file(main);
    ASSERT_TRUE(std::holds_alternative<std::vector<ConfigError>>(r));
    const auto& errs = std::get<std::vector<ConfigError>>(r);
    ASSERT_THAT(errs, SizeIs(1));
    EXPECT_EQ(errs[0].to_string(),
              "line 3: keepalive.idle: expected a duration like 250ms, 30s, 5m, 2h, got 'abc'");
}

TEST_F(ConfigFiles, UnreadableConfigFile) {
    const std::string missing = path("nothing-here.yaml");
    auto r = load_config_file(missing);
    ASSERT_TRUE(std::holds_alternative<std::vector<ConfigError>>(r));
    auto errs = std::get<std::vector<ConfigError>>(r);
    ASSERT_THAT(errs, SizeIs(1));
    EXPECT_EQ(errs[0].line, 0);
    EXPECT_EQ(errs[0].file, missing);
    EXPECT_THAT(errs[0].to_string(), HasSubstr(missing));
    EXPECT_THAT(errs[0].to_string(), HasSubstr("No such file"));

    r = load_config_file(dir_.string());  // a directory
    ASSERT_TRUE(std::holds_alternative<std::vector<ConfigError>>(r));
    errs = std::get<std::vector<ConfigError>>(r);
    ASSERT_THAT(errs, SizeIs(1));
    EXPECT_EQ(errs[0].line, 0);
    EXPECT_THAT(errs[0].to_string(), HasSubstr(dir_.string()));
}

TEST_F(ConfigFiles, PermissionDenied) {
    if (::geteuid() == 0) GTEST_SKIP() << "root reads any file";
    const std::string p = write("secret.yaml", "threads: 2\n");
    fs::permissions(p, fs::perms::none);
    auto r = load_config_file(p);
    ASSERT_TRUE(std::holds_alternative<std::vector<ConfigError>>(r));
    EXPECT_THAT(std::get<std::vector<ConfigError>>(r)[0].to_string(),
                HasSubstr("Permission denied"));
}

TEST(ExampleConfig, ConfGatewayYamlLoads) {
    const fs::path example = fs::path(__FILE__).parent_path() / "../../../conf/gateway.yaml";
    ASSERT_TRUE(fs::exists(example)) << example;
    auto r = load_config_file(example.string());
    ASSERT_TRUE(std::holds_alternative<Config>(r)) << describe(r);
    const auto& c = std::get<Config>(r);
    ASSERT_THAT(c.listeners, SizeIs(1));
    EXPECT_EQ(c.listeners[0].endpoint.scheme, Scheme::coap_tcp);
    EXPECT_EQ(c.listeners[0].endpoint.host, "127.0.0.1");
    EXPECT_EQ(c.listeners[0].endpoint.port, 5683);
    EXPECT_FALSE(c.listeners[0].tls.has_value());
    EXPECT_EQ(c.upstream.endpoint.scheme, Scheme::coap);
    EXPECT_EQ(c.upstream.endpoint.host, "127.0.0.1");
    EXPECT_EQ(c.upstream.endpoint.port, 5685);
    EXPECT_EQ(c.admin.host, "127.0.0.1");
    EXPECT_EQ(c.admin.port, 8484);
    EXPECT_EQ(c.store.uri, "sqlite:///var/lib/lwgate/state.db");  // the run command persists
    EXPECT_EQ(c.log.level, LogLevel::info);
    EXPECT_EQ(c.threads, 2u);
    // The example states the defaults: it must agree with an empty configuration.
    auto defaults = load_config_string("");
    ASSERT_TRUE(std::holds_alternative<Config>(defaults));
    const auto& d = std::get<Config>(defaults);
    EXPECT_EQ(c.keepalive.idle, d.keepalive.idle);
    EXPECT_EQ(c.keepalive.pong_timeout, d.keepalive.pong_timeout);
    EXPECT_EQ(c.keepalive.max_missed, d.keepalive.max_missed);
    EXPECT_EQ(c.tcp.keepalive_idle, d.tcp.keepalive_idle);
    EXPECT_EQ(c.tcp.keepalive_interval, d.tcp.keepalive_interval);
    EXPECT_EQ(c.tcp.keepalive_count, d.tcp.keepalive_count);
    EXPECT_EQ(c.tcp.user_timeout, d.tcp.user_timeout);
    EXPECT_EQ(c.connections.max, d.connections.max);
    EXPECT_EQ(c.connections.accept_rate.per_second, d.connections.accept_rate.per_second);
    EXPECT_EQ(c.connections.accept_rate.burst, d.connections.accept_rate.burst);
    EXPECT_EQ(c.connections.csm_timeout, d.connections.csm_timeout);
    EXPECT_EQ(c.connections.csm_mode, d.connections.csm_mode);
    EXPECT_EQ(c.connections.unregistered_idle, d.connections.unregistered_idle);
    EXPECT_EQ(c.connections.max_message_size, d.connections.max_message_size);
    EXPECT_EQ(c.connections.write_queue_limit, d.connections.write_queue_limit);
    EXPECT_EQ(c.connections.write_timeout, d.connections.write_timeout);
    EXPECT_EQ(c.connections.max_tls_handshakes, d.connections.max_tls_handshakes);
    EXPECT_EQ(c.connections.max_tls_handshakes_per_address,
              d.connections.max_tls_handshakes_per_address);
    EXPECT_EQ(c.shutdown.drain_timeout, d.shutdown.drain_timeout);
    EXPECT_EQ(c.shutdown.hold_off_min, d.shutdown.hold_off_min);
    EXPECT_EQ(c.shutdown.hold_off_max, d.shutdown.hold_off_max);
    EXPECT_EQ(c.queue_mode.max_queued, d.queue_mode.max_queued);
    EXPECT_EQ(c.queue_mode.max_age, d.queue_mode.max_age);
}

TEST_F(ConfigFiles, ConfGatewayYamlTlsExampleWorksWhenUncommented) {
    // The commented-out coaps+tcp listener in conf/gateway.yaml must be valid once its files
    // exist: uncomment exactly that block, add a credential, and load it next to the files.
    const fs::path example = fs::path(__FILE__).parent_path() / "../../../conf/gateway.yaml";
    std::ifstream in(example);
    ASSERT_TRUE(in) << example;
    std::string text;
    std::string line;
    bool in_block = false;
    int uncommented = 0;
    while (std::getline(in, line)) {
        if (line.rfind("  # - uri: coaps+tcp://", 0) == 0) in_block = true;
        if (in_block && line.rfind("  #", 0) == 0) {
            line = "  " + line.substr(4);
            ++uncommented;
        } else {
            in_block = false;
        }
        if (line == "credentials: []") {
            line = "credentials:\n  - {endpoint: e, psk_identity: i, psk_key_hex: '00'}";
        }
        text += line + "\n";
    }
    ASSERT_GE(uncommented, 3);
    write("server.pem", kPem);
    write("server.key", kPem);
    write("clients-ca.pem", kPem);
    const Config c = ok(text);
    ASSERT_THAT(c.listeners, SizeIs(2));
    EXPECT_EQ(c.listeners[1].endpoint.scheme, Scheme::coaps_tcp);
    EXPECT_EQ(c.listeners[1].endpoint.port, 5684);
    ASSERT_TRUE(c.listeners[1].tls.has_value());
    EXPECT_EQ(c.listeners[1].tls->certificate, path("server.pem"));
}

}  // namespace
}  // namespace lwgate::config
