// systemd credentials in the configuration: ${CREDENTIALS_DIRECTORY}/ in file names and
// `!credential NAME` values, read from a directory the test makes and names in the
// environment as systemd would.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "config/system_credentials.hpp"
#include "config_files_fixture.hpp"

namespace lwgate::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using testing_support::ConfigFiles;
using testing_support::Err;

constexpr const char* kPem = "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n";

// $CREDENTIALS_DIRECTORY names credentials/ under the test's directory, as systemd would set it
// for a unit with LoadCredential=; the variable is put back as it was afterwards.
class SystemCredentials : public ConfigFiles {
  protected:
    void SetUp() override {
        ConfigFiles::SetUp();
        if (const char* old = std::getenv("CREDENTIALS_DIRECTORY")) saved_ = old;
        credentials_ = path("credentials");
        ::setenv("CREDENTIALS_DIRECTORY", credentials_.c_str(), 1);
    }
    void TearDown() override {
        if (saved_)
            ::setenv("CREDENTIALS_DIRECTORY", saved_->c_str(), 1);
        else
            ::unsetenv("CREDENTIALS_DIRECTORY");
        ConfigFiles::TearDown();
    }
    void credential(const std::string& name, const std::string& text) {
        write("credentials/" + name, text);
    }

    std::string credentials_;
    std::optional<std::string> saved_;
};

TEST(CredentialsDirectory, ExpandsOnlyAtTheStartOfAName) {
    EXPECT_EQ(*expand_credentials_directory("server.key", "/run/creds/lwgate.service"),
              "server.key");
    EXPECT_EQ(*expand_credentials_directory("${CREDENTIALS_DIRECTORY}/server.key",
                                            "/run/creds/lwgate.service"),
              "/run/creds/lwgate.service/server.key");
    for (const char* bad :
         {"/etc/${CREDENTIALS_DIRECTORY}/x", "${CREDENTIALS_DIRECTORY}",
          "${CREDENTIALS_DIRECTORY}x", "${CREDENTIALS_DIRECTORY}/${CREDENTIALS_DIRECTORY}"}) {
        auto r = expand_credentials_directory(bad, "/run/creds");
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().code, ConfigErrc::bad_credential_name) << bad;
    }
    auto unset = expand_credentials_directory("${CREDENTIALS_DIRECTORY}/server.key", "");
    ASSERT_FALSE(unset);
    EXPECT_EQ(unset.error().code, ConfigErrc::no_credentials_directory);
    EXPECT_THAT(unset.error().detail, HasSubstr("LoadCredential="));
}

TEST_F(SystemCredentials, ReadsACredentialWithoutItsTrailingNewlines) {
    credential("token", "s3cret\r\n\n");
    EXPECT_EQ(*read_system_credential("token", credentials_), "s3cret");
    credential("inner", "a\nb\n");
    EXPECT_EQ(*read_system_credential("inner", credentials_), "a\nb") << "only at the end";
}

TEST_F(SystemCredentials, RefusesNamesThatAreNotOneFile) {
    for (const char* bad : {"", ".", "..", "../token", "a/b", "/etc/passwd"}) {
        auto r = read_system_credential(bad, credentials_);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().code, ConfigErrc::bad_credential_name) << bad;
    }
    auto missing = read_system_credential("nope", credentials_);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, ConfigErrc::file_not_found);
    EXPECT_THAT(missing.error().detail, HasSubstr("LoadCredential=nope:"));
    auto unset = read_system_credential("token", "");
    ASSERT_FALSE(unset);
    EXPECT_EQ(unset.error().code, ConfigErrc::no_credentials_directory);
}

TEST_F(SystemCredentials, RefusesALargeFileBeforeReadingIt) {
    credential("big", std::string(kMaxCredentialBytes + 1, 'a'));
    auto r = read_system_credential("big", credentials_);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ConfigErrc::too_large);
    credential("fits", std::string(kMaxCredentialBytes, 'a'));
    EXPECT_TRUE(read_system_credential("fits", credentials_));
}

TEST_F(SystemCredentials, ValuesTaggedCredentialAreReadFromTheDirectory) {
    credential("admin-token", "tok-123\n");
    credential("core-psk", "000102030405060708090a0b0c0d0e0f\n");
    credential("redis", "redis://:p%40ss@127.0.0.1:6379/0\n");
    const auto cfg = ok(R"(admin:
  listen: 127.0.0.1:0
  token: !credential admin-token
upstream:
  uri: coaps://127.0.0.1:5684
  dtls: { psk_identity: gw, psk_key_hex: !credential core-psk }
store:
  uri: !credential redis
)");
    EXPECT_EQ(cfg.admin.token, "tok-123");
    EXPECT_EQ(cfg.upstream.gateway_psk_key.size(), 16u);
    EXPECT_EQ(cfg.upstream.gateway_psk_key.back(), 0x0f);
    EXPECT_EQ(cfg.store.uri, "redis://:p%40ss@127.0.0.1:6379/0");
}

TEST_F(SystemCredentials, FileNamesMayStartWithTheDirectory) {
    credential("server.pem", kPem);
    credential("server.key", kPem);
    credential("devices.yaml",
               "- { endpoint: dev-1, psk_identity: id-1, psk_key_hex: !credential dev-1-key }\n");
    credential("dev-1-key", "0102030405060708\n");
    const auto cfg = ok(R"(listeners:
  - uri: coaps+tcp://127.0.0.1:0
    tls:
      certificate: ${CREDENTIALS_DIRECTORY}/server.pem
      private_key: ${CREDENTIALS_DIRECTORY}/server.key
      psk: true
credentials_file: ${CREDENTIALS_DIRECTORY}/devices.yaml
)");
    ASSERT_EQ(cfg.listeners.size(), 1u);
    ASSERT_TRUE(cfg.listeners[0].tls);
    EXPECT_EQ(cfg.listeners[0].tls->private_key, credentials_ + "/server.key");
    EXPECT_EQ(cfg.credentials_file, credentials_ + "/devices.yaml");
    ASSERT_EQ(cfg.credentials.size(), 1u);
    EXPECT_EQ(cfg.credentials[0].psk_key.size(), 8u) << "!credential inside credentials_file";
}

TEST_F(SystemCredentials, EveryProblemNamesTheKeyAndTheLine) {
    credential("empty-dir-marker", "");
    const auto errs = errors(R"(admin:
  token: !credential missing-token
upstream:
  dtls: { psk_identity: gw, psk_key_hex: !credential ../escape }
listeners:
  - uri: coaps+tcp://127.0.0.1:0
    tls: { certificate: '${CREDENTIALS_DIRECTORY}/nope.pem', private_key: 'k/${CREDENTIALS_DIRECTORY}', psk: true }
credentials: !credentail x
log: { level: !credential {a: 1} }
)");
    EXPECT_THAT(errs,
                ::testing::IsSupersetOf(
                    {Err("admin.token", 2, "no such credential"),
                     Err("upstream.dtls.psk_key_hex", 4, "without '/'"),
                     Err("listeners[0].tls.certificate", 7, "file not found: " + credentials_),
                     Err("listeners[0].tls.private_key", 7, "may only start a file name"),
                     Err("credentials", 8, "unknown tag !credentail"),
                     Err("log.level", 9, "takes the name of a credential")}));
}

TEST_F(SystemCredentials, WithoutTheVariableEveryUseIsAnError) {
    ::unsetenv("CREDENTIALS_DIRECTORY");
    const auto errs = errors(R"(admin:
  token: !credential admin-token
credentials_file: ${CREDENTIALS_DIRECTORY}/devices.yaml
)");
    EXPECT_THAT(errs, ElementsAre(Err("admin.token", 2, "CREDENTIALS_DIRECTORY"),
                                  Err("credentials_file", 3, "CREDENTIALS_DIRECTORY")));
}

// Aliases: a credential named twice is read once, and an alias that holds itself ends.
TEST_F(SystemCredentials, AliasesAreWalkedOnce) {
    credential("admin-token", "tok-123\n");
    const auto cfg = ok(R"(admin:
  token: &t !credential admin-token
cluster:
  instance: *t
)");
    EXPECT_EQ(cfg.admin.token, "tok-123");
    EXPECT_EQ(cfg.cluster.instance, "tok-123");
    const auto errs = errors("log: &x [*x]\n");
    EXPECT_FALSE(errs.empty());
    std::string deep = "threads: ";
    deep += std::string(100, '[') + std::string(100, ']');
    EXPECT_THAT(errors(deep), ::testing::Contains(Err("threads" + std::string(), 1, "")));
}

// A credential is a secret: a value the key refuses is described, not quoted.
TEST_F(SystemCredentials, ARefusedSecretIsNotQuoted) {
    credential("admin-token", "with space\n");
    credential("core-psk", "zz-not-hex\n");
    const auto errs = errors(R"(admin:
  token: !credential admin-token
upstream:
  uri: coaps://127.0.0.1:5684
  dtls: { psk_identity: gw, psk_key_hex: !credential core-psk }
)");
    ASSERT_THAT(errs, ElementsAre(Err("admin.token", 2, "visible ASCII"),
                                  Err("upstream.dtls.psk_key_hex", 5, "hex")));
    for (const auto& e : errs) {
        EXPECT_THAT(e.message, Not(HasSubstr("with space")));
        EXPECT_THAT(e.message, Not(HasSubstr("zz-not-hex")));
    }
}

}  // namespace
}  // namespace lwgate::config
