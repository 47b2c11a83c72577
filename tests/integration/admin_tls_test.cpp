// admin.tls end to end: the real lwgate serving its admin API over HTTPS only (a certificate for
// 127.0.0.1 signed by a throw-away CA, made with the openssl tool by the harness), reached by the
// harness's client and by the real lwgatectl; plain HTTP to that port, an untrusted chain and a
// client that connects and never starts its handshake get nothing; a non-loopback admin.listen
// without TLS never starts.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "gateway_fixture.hpp"
#include "lwgate/harness/admin_client.hpp"
#include "lwgate/harness/test_certificates.hpp"
#include "raw_client.hpp"

#ifndef LWGATECTL_BINARY
#error "LWGATECTL_BINARY must be defined to the path of the lwgatectl executable"
#endif

namespace lwgate::integration {
namespace {

using harness::AdminClient;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr const char* kToken = "s3cret-token";

class AdminTlsTest : public GatewayTest {
  protected:
    void SetUp() override {
        certs_ = harness::make_test_certificates(dir_, "not-a-device");
        config.admin_token = kToken;
        config.admin_tls_certificate = certs_.server_certificate.string();
        config.admin_tls_private_key = certs_.server_key.string();
    }

    void start() {
        start_gateway();
        ASSERT_THAT(gateway.admin_url(), StartsWith("https://127.0.0.1:"));
    }

    // Trusts the test CA.
    AdminClient client(const std::string& token = kToken) const {
        return AdminClient(gateway.admin_url(), token, certs_.ca.string());
    }

    harness::ProcessResult ctl(std::vector<std::string> args) const {
        args.insert(args.begin(), LWGATECTL_BINARY);
        auto r = harness::run_process(args, 20s);
        EXPECT_FALSE(r.timed_out) << "lwgatectl hung";
        return r;
    }

    harness::TempDir dir_;
    harness::TestCertificates certs_;
};

TEST_F(AdminTlsTest, HealthOverHttpsVerifiedAgainstTheCa) {
    start();
    const auto r = client().get("/v1/health");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_TRUE(r.json().contains("status")) << r.body;
    // The token is still checked, and a request without it still answered, over TLS.
    EXPECT_EQ(client("").get("/v1/connections").status, 401);
    EXPECT_EQ(client("wrong").get("/v1/connections").status, 401);
    EXPECT_EQ(client().get("/v1/connections").status, 200);
}

TEST_F(AdminTlsTest, ACertificateFromAnotherCaIsNotTrusted) {
    start();
    // The rogue certificate is self-signed: as a CA it vouches for nothing the gateway shows.
    const auto r = AdminClient(gateway.admin_url(), kToken, certs_.rogue_certificate.string())
                       .get("/v1/health");
    EXPECT_EQ(r.status, 0) << r.body;
    EXPECT_THAT(r.body, HasSubstr("SSLServerVerification"));
}

TEST_F(AdminTlsTest, PlainHttpToTheHttpsPortGetsNoAnswer) {
    start();
    const auto plain = "http://127.0.0.1:" + std::to_string(gateway.admin_port());
    const auto r = AdminClient(plain, kToken).get("/v1/health");
    EXPECT_EQ(r.status, 0) << "an HTTP answer over plain TCP: " << r.body;
    // And the server goes on serving HTTPS.
    EXPECT_EQ(client().get("/v1/health").status, 200);
}

TEST_F(AdminTlsTest, LwgatectlWithCacertOrInsecure) {
    start();
    const auto& url = gateway.admin_url();
    auto r = ctl({"--admin", url, "--token", kToken, "--cacert", certs_.ca.string(), "status"});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_THAT(r.out, HasSubstr("lwgate "));
    r = ctl({"--admin", url, "--token", kToken, "--cacert", certs_.ca.string(), "connections",
             "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_THAT(r.out, HasSubstr("\"connections\""));

    // Without the CA the system's trust store does not know the test CA.
    r = ctl({"--admin", url, "--token", kToken, "status"});
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    EXPECT_THAT(r.err, HasSubstr("certificate is not trusted"));
    EXPECT_THAT(r.err, HasSubstr("--cacert"));

    r = ctl({"--admin", url, "--token", kToken, "--insecure", "status"});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;

    // Plain HTTP to the HTTPS port, and TLS options that an http:// address cannot use.
    const auto plain = "127.0.0.1:" + std::to_string(gateway.admin_port());
    r = ctl({"--admin", plain, "--token", kToken, "status"});
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    r = ctl({"--admin", plain, "--insecure", "status"});
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    EXPECT_THAT(r.err, HasSubstr("need an https:// admin address"));
}

// The handshake counts against the request timeout (5 s from the accept): a client that never
// sends its ClientHello gives its connection slot back then.
TEST_F(AdminTlsTest, AClientThatNeverHandshakesIsCutOff) {
    start();
    const auto started = SteadyClock::now();
    RawClient silent(gateway.admin_port());
    EXPECT_FALSE(silent.closed_within(3s)) << "closed before the request timeout";
    // Served meanwhile: waiting costs a timer, not the server.
    EXPECT_EQ(client().get("/v1/health").status, 200);
    EXPECT_TRUE(silent.closed_within(until(started + 9s))) << "still open 9 s after connecting";
    EXPECT_GE(ms_since(started), 4500ms);
}

TEST_F(AdminTlsTest, BeyondLoopbackWithTokenAndTls) {
    config.admin_listen = "0.0.0.0:0";
    start_gateway();
    ASSERT_THAT(gateway.admin_url(), StartsWith("https://0.0.0.0:"));
    const auto url = "https://127.0.0.1:" + std::to_string(gateway.admin_port());
    EXPECT_EQ(AdminClient(url, kToken, certs_.ca.string()).get("/v1/connections").status, 200);
}

TEST(AdminTlsConfigTest, BeyondLoopbackWithoutTlsNeverStarts) {
    harness::TempDir dir;
    const auto path = dir.write_file("open.yaml",
                                     "listeners:\n"
                                     "  - uri: coap+tcp://127.0.0.1:0\n"
                                     "admin:\n"
                                     "  listen: 0.0.0.0:0\n"  // line 4
                                     "  token: s3cret\n");
    auto r = harness::run_process({LWGATE_BINARY, "--check-config", path.string()}, 10s);
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_THAT(r.out + r.err, HasSubstr("line 4: admin.listen"));
    EXPECT_THAT(r.out + r.err, HasSubstr("configure admin.tls"));
    r = harness::run_process({LWGATE_BINARY, "--config", path.string()}, 10s);
    EXPECT_EQ(r.exit_code, 1) << "the gateway does not start";
    EXPECT_THAT(r.out, ::testing::Not(HasSubstr("ready")));
}

TEST(AdminTlsConfigTest, AFileThatIsNoCertificateStopsTheStart) {
    harness::TempDir dir;
    dir.write_file("admin.pem", "not a certificate\n");
    dir.write_file("admin.key", "not a key\n");
    const auto path = dir.write_file("bad.yaml",
                                     "listeners:\n"
                                     "  - uri: coap+tcp://127.0.0.1:0\n"
                                     "admin:\n"
                                     "  listen: 127.0.0.1:0\n"
                                     "  tls:\n"
                                     "    certificate: admin.pem\n"
                                     "    private_key: admin.key\n");
    auto r = harness::run_process({LWGATE_BINARY, "--config", path.string()}, 10s);
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_THAT(r.err, HasSubstr("admin.tls: certificate " + (dir / "admin.pem").string()));
    EXPECT_THAT(r.out, ::testing::Not(HasSubstr("ready")));
}

}  // namespace
}  // namespace lwgate::integration
