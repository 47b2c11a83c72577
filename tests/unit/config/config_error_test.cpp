// ConfigErrc as a std::error_code (gateway/config/config_error.hpp), and the code each of
// the configuration's parsers fails with: endpoint URIs, authorities, host names, files.
#include "config/config_error.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <system_error>

#include "config/reader.hpp"
#include "config/uri.hpp"
#include "config/config_loader.hpp"
#include "lwgate/util/result.hpp"

namespace lwgate::config {
namespace {

namespace fs = std::filesystem;

TEST(ConfigErrc, IsAnErrorCodeEnum) {
    const std::error_code ec = ConfigErrc::bad_port;  // implicit: is_error_code_enum
    EXPECT_TRUE(ec);
    EXPECT_EQ(ec, ConfigErrc::bad_port);
    EXPECT_NE(ec, ConfigErrc::bad_host);
    EXPECT_EQ(&ec.category(), &config_category());
    EXPECT_STREQ(ec.category().name(), "lwgate.config");
    EXPECT_EQ(ec.message(), "bad port");
}

TEST(ConfigErrc, EveryValueHasItsOwnMessage) {
    const ConfigErrc all[] = {ConfigErrc::bad_uri,    ConfigErrc::bad_host,
                              ConfigErrc::bad_port,   ConfigErrc::file_not_found,
                              ConfigErrc::not_a_file, ConfigErrc::permission_denied,
                              ConfigErrc::cannot_read};
    for (std::size_t i = 0; i < std::size(all); ++i) {
        for (std::size_t j = i + 1; j < std::size(all); ++j) {
            EXPECT_NE(make_error_code(all[i]).message(), make_error_code(all[j]).message());
        }
        EXPECT_EQ(make_error_code(all[i]).message().find("unknown"), std::string::npos);
    }
    EXPECT_EQ(config_category().message(99), "unknown lwgate.config error 99");
}

TEST(ConfigErrc, EndpointUriFormIsBadUri) {
    for (const char* uri :
         {"127.0.0.1:5683", "http://127.0.0.1", "coap://127.0.0.1/rd", "coap://user@127.0.0.1"}) {
        auto r = parse_endpoint_uri(uri);
        ASSERT_FALSE(r) << uri;
        EXPECT_EQ(r.error().code, ConfigErrc::bad_uri) << uri;
    }
    auto r = parse_endpoint_uri("http://x");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().detail,
              "unsupported scheme 'http' (expected coap+tcp, coaps+tcp, coap or coaps)");
    EXPECT_EQ(r.error().message(), "bad URI: " + r.error().detail);
}

TEST(ConfigErrc, EndpointUriAuthorityKeepsItsCode) {
    auto host = parse_endpoint_uri("coap+tcp://::1:5683");
    ASSERT_FALSE(host);
    EXPECT_EQ(host.error().code, ConfigErrc::bad_host);
    EXPECT_EQ(host.error().detail, "an IPv6 address must be written in brackets, e.g. [::1]:5683");
    auto port = parse_endpoint_uri("coap+tcp://127.0.0.1:70000");
    ASSERT_FALSE(port);
    EXPECT_EQ(port.error().code, ConfigErrc::bad_port);
    EXPECT_EQ(port.error().detail, "port out of range (0-65535): 70000");
}

TEST(ConfigErrc, AuthorityHostAndPort) {
    for (const char* bad_host : {"", "[::1", "[zz]:1", "[::1]x", ":80", "1.2.3.999", "-a.b"}) {
        auto r = parse_authority(bad_host);
        ASSERT_FALSE(r) << bad_host;
        EXPECT_EQ(r.error().code, ConfigErrc::bad_host) << bad_host;
    }
    for (const char* bad_port : {"host:", "host:8o", "[::1]:123456", "h:65536"}) {
        auto r = parse_authority(bad_port);
        ASSERT_FALSE(r) << bad_port;
        EXPECT_EQ(r.error().code, ConfigErrc::bad_port) << bad_port;
    }
    auto ok = parse_authority("[::1]:8484");
    ASSERT_TRUE(ok) << ok.error().message();
    EXPECT_EQ(ok->host, "::1");
    EXPECT_EQ(ok->port, 8484);
}

TEST(ConfigErrc, CheckHostname) {
    EXPECT_TRUE(check_hostname("core-1.example.net"));
    auto name = check_hostname("bad_name");
    ASSERT_FALSE(name);
    EXPECT_EQ(name.error().code, ConfigErrc::bad_host);
    EXPECT_EQ(name.error().detail, "not a valid host name: 'bad_name'");
    auto numeric = check_hostname("1.2.3");
    ASSERT_FALSE(numeric);
    EXPECT_EQ(numeric.error().code, ConfigErrc::bad_host);
    EXPECT_EQ(numeric.error().detail, "not a valid IPv4 address: '1.2.3'");
}

class ReadFile : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("lwgate-config-error-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::create_directories(dir_);
    }
    void TearDown() override {
        std::error_code ignored;
        fs::permissions(dir_ / "secret", fs::perms::owner_all, ignored);
        fs::remove_all(dir_, ignored);
    }
    fs::path dir_;
};

TEST_F(ReadFile, ContentOrTheCause) {
    std::ofstream(dir_ / "a.yaml") << "threads: 2\n";
    auto text = read_file((dir_ / "a.yaml").string());
    ASSERT_TRUE(text) << text.error().message();
    EXPECT_EQ(*text, "threads: 2\n");

    auto missing = read_file((dir_ / "none.yaml").string());
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, ConfigErrc::file_not_found);
    EXPECT_EQ(missing.error().detail, "No such file or directory");

    auto directory = read_file(dir_.string());
    ASSERT_FALSE(directory);
    EXPECT_EQ(directory.error().code, ConfigErrc::not_a_file);
    EXPECT_EQ(directory.error().detail, "Is a directory");
}

TEST_F(ReadFile, NotReadable) {
    if (::geteuid() == 0) GTEST_SKIP() << "root reads any file";
    std::ofstream(dir_ / "secret") << "psk\n";
    fs::permissions(dir_ / "secret", fs::perms::none);
    auto r = read_file((dir_ / "secret").string());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ConfigErrc::permission_denied);
    EXPECT_EQ(r.error().detail, "Permission denied");
}

}  // namespace
}  // namespace lwgate::config
