// coaps+tcp: TLS 1.2/1.3 with PSK and certificates against real peers (Debian's libcoap
// `coap-client-openssl` and `openssl s_client`). Throw-away certificates are generated per test
// suite with the openssl command-line tool: a CA, a server certificate for 127.0.0.1, a client
// certificate signed by the CA (CN = the device's endpoint name) and a self-signed client
// certificate the gateway must refuse.
#include <sys/socket.h>

#include "gateway_fixture.hpp"
#include "lwgate/harness/test_certificates.hpp"

namespace lwgate::integration {
namespace {

constexpr const char* kCoapClient = "coap-client-openssl";
// psk_key_hex of "secret123": libcoap's -k takes the key as raw text.
constexpr const char* kPskIdentity = "dev123";
constexpr const char* kPskText = "secret123";
constexpr const char* kPskHex = "736563726574313233";

std::string dump(const harness::ProcessResult& r) {
    return "exit=" + std::to_string(r.exit_code) + "\n--- stdout ---\n" + r.out +
           "--- stderr ---\n" + r.err;
}

class TlsTest : public GatewayTest {
  protected:
    static void SetUpTestSuite() {
        certs_ = new harness::TempDir("lwgate-certs-");
        if (harness::program_exists("openssl")) {
            harness::make_test_certificates(*certs_, "urn:imei:123");
        }
    }
    static void TearDownTestSuite() {
        delete certs_;
        certs_ = nullptr;
    }

    void SetUp() override {
        if (!harness::program_exists(kCoapClient) || !harness::program_exists("openssl")) {
            GTEST_SKIP() << "coap-client-openssl or openssl not installed";
        }
    }

    std::string cert(const char* name) const { return (*certs_ / name).string(); }

    void start_tls_gateway(bool require_client_certificate = false) {
        std::string yaml =
            "listeners:\n"
            "  - uri: coaps+tcp://127.0.0.1:0\n"
            "    tls:\n"
            "      certificate: " +
            cert("server.pem") +
            "\n"
            "      private_key: " +
            cert("server.key") +
            "\n"
            "      ca: " +
            cert("ca.pem") +
            "\n"
            "      require_client_certificate: " +
            (require_client_certificate ? "true" : "false") +
            "\n"
            "      psk: true\n"
            "      handshake_timeout: 1s\n"
            "  - uri: coap+tcp://127.0.0.1:0\n"
            "credentials:\n"
            "  - endpoint: urn:imei:123\n"
            "    psk_identity: " +
            std::string(kPskIdentity) +
            "\n"
            "    psk_key_hex: " +
            kPskHex +
            "\n"
            "connections: { unregistered_idle: 1h }\n"
            "shutdown: { drain_timeout: 2s, hold_off_min: 1s, hold_off_max: 2s }\n"
            "admin: { listen: '127.0.0.1:0' }\n"  // never the default 8484: tests run in parallel
            "log: { level: debug }\n";
        gateway.start(LWGATE_BINARY, yaml);
        ASSERT_EQ(gateway.listener_count(), 2u);
        ASSERT_EQ(gateway.uri(0).rfind("coaps+tcp://", 0), 0u) << gateway.uri(0);
    }

    std::string tls_uri() const {
        return "coaps+tcp://127.0.0.1:" + std::to_string(gateway.port(0)) + "/3/0";
    }
    std::string tls_hostport() const { return "127.0.0.1:" + std::to_string(gateway.port(0)); }

    harness::ProcessResult coap_client(std::vector<std::string> args) {
        std::vector<std::string> argv{kCoapClient, "-B", "5"};
        argv.insert(argv.end(), args.begin(), args.end());
        argv.push_back(tls_uri());
        return harness::run_process(argv, 20s);
    }

    harness::ProcessResult s_client(std::vector<std::string> args) {
        std::vector<std::string> argv{"openssl",       "s_client",   "-connect", tls_hostport(),
                                      "-psk_identity", kPskIdentity, "-psk",     kPskHex};
        argv.insert(argv.end(), args.begin(), args.end());
        return harness::run_process(argv, 20s);
    }

    // A plain-TCP client on the second listener proves the gateway still serves others.
    void expect_plain_listener_works() {
        DeviceClient device;
        device.connect(kLoopback, gateway.port(1));
        ASSERT_TRUE(device.handshake_csm(3s));
        auto pong = device.ping(coap::Token::from_u64(0x77), false, 3s);
        ASSERT_TRUE(pong) << "no Pong from the gateway";
        EXPECT_EQ(pong->token(), coap::Token::from_u64(0x77));
    }

    static harness::TempDir* certs_;
};

harness::TempDir* TlsTest::certs_ = nullptr;

TEST_F(TlsTest, CoapClientWithPskGetsAnswer) {
    start_tls_gateway();
    const auto r = coap_client({"-u", kPskIdentity, "-k", kPskText, "-m", "get"});
    ASSERT_FALSE(r.timed_out) << dump(r);
    EXPECT_NE((r.out + r.err).find("4.03 no LwM2M registration"), std::string::npos) << dump(r);
    EXPECT_TRUE(gateway.wait_for_log("psk_identity='dev123'", 3s)) << gateway.log();
    EXPECT_EQ(gateway.count_in_log("reason=tls_failure"), 0u);
}

TEST_F(TlsTest, CoapClientWithWrongPskIsRefusedOthersUnaffected) {
    start_tls_gateway();
    const auto bad = coap_client({"-u", kPskIdentity, "-k", "wrong-key", "-m", "get"});
    EXPECT_EQ((bad.out + bad.err).find("4.03 no LwM2M registration"), std::string::npos)
        << dump(bad);
    EXPECT_TRUE(gateway.wait_for_log("reason=tls_failure", 3s)) << gateway.log();
    const auto unknown = coap_client({"-u", "nobody", "-k", kPskText, "-m", "get"});
    EXPECT_EQ((unknown.out + unknown.err).find("4.03 no LwM2M registration"), std::string::npos)
        << dump(unknown);
    EXPECT_TRUE(gateway.wait_for_log("reason=tls_failure", 3s, 2)) << gateway.log();
    const auto good = coap_client({"-u", kPskIdentity, "-k", kPskText, "-m", "get"});
    EXPECT_NE((good.out + good.err).find("4.03 no LwM2M registration"), std::string::npos)
        << dump(good);
    expect_plain_listener_works();
}

TEST_F(TlsTest, CoapClientWithCertificateGetsAnswerAndCnIsRecorded) {
    start_tls_gateway(true);
    const auto r = coap_client(
        {"-c", cert("client.pem"), "-j", cert("client.key"), "-C", cert("ca.pem"), "-m", "get"});
    ASSERT_FALSE(r.timed_out) << dump(r);
    EXPECT_NE((r.out + r.err).find("4.03 no LwM2M registration"), std::string::npos) << dump(r);
    EXPECT_TRUE(gateway.wait_for_log("cert_cn='urn:imei:123'", 3s)) << gateway.log();
}

TEST_F(TlsTest, UntrustedClientCertificateIsRefused) {
    start_tls_gateway(true);
    const auto r = coap_client(
        {"-c", cert("rogue.pem"), "-j", cert("rogue.key"), "-C", cert("ca.pem"), "-m", "get"});
    EXPECT_EQ((r.out + r.err).find("4.03 no LwM2M registration"), std::string::npos) << dump(r);
    EXPECT_TRUE(gateway.wait_for_log("reason=tls_failure", 3s)) << gateway.log();
    expect_plain_listener_works();
}

TEST_F(TlsTest, CoapClientPingsOverTlsGetPongs) {
    start_tls_gateway();
    const auto r = coap_client(
        {"-u", kPskIdentity, "-k", kPskText, "-v", "7", "-K", "1", "-G", "3", "-m", "get"});
    ASSERT_FALSE(r.timed_out) << dump(r);
    const std::string all = r.out + r.err;
    // Three answered GETs (4.03: no registration) on one TLS connection, whatever the Ping timing
    // inside coap-client.
    std::size_t answers = 0;
    for (auto pos = all.find("c:4.03"); pos != std::string::npos; pos = all.find("c:4.03", pos + 1))
        ++answers;
    EXPECT_EQ(answers, 3u) << dump(r);
    std::size_t pings = 0, pongs = 0;
    for (auto pos = all.find("c:Ping"); pos != std::string::npos; pos = all.find("c:Ping", pos + 1))
        ++pings;
    for (auto pos = all.find("c:Pong"); pos != std::string::npos; pos = all.find("c:Pong", pos + 1))
        ++pongs;
    // coap-client may send one last Ping as it exits after its third answer; that one cannot be
    // answered before the connection goes. Every earlier Ping must have been.
    EXPECT_LE(pings, pongs + 1) << "every Ping answered\n" << dump(r);
    if (pings >= 2) {
        EXPECT_GE(pongs, 1u) << dump(r);
    }
    EXPECT_EQ(gateway.count_in_log("accepted remote"), 1u) << gateway.log();
}

TEST_F(TlsTest, Tls13ExternalPskWithAlpnCoap) {
    start_tls_gateway();
    const auto r =
        s_client({"-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256", "-alpn", "coap"});
    EXPECT_NE(r.out.find("TLSv1.3"), std::string::npos) << dump(r);
    EXPECT_NE(r.out.find("ALPN protocol: coap"), std::string::npos) << dump(r);
    EXPECT_TRUE(
        gateway.wait_for_log("version=TLSv1.3 cipher=TLS_AES_128_GCM_SHA256 "
                             "psk_identity='dev123'",
                             3s))
        << gateway.log();
}

TEST_F(TlsTest, Tls12PskAes128Ccm8) {
    start_tls_gateway();
    const auto r = s_client({"-tls1_2", "-cipher", "PSK-AES128-CCM8"});
    EXPECT_NE(r.out.find("Cipher is PSK-AES128-CCM8"), std::string::npos) << dump(r);
    EXPECT_TRUE(gateway.wait_for_log("cipher=PSK-AES128-CCM8 psk_identity='dev123'", 3s))
        << gateway.log();
}

TEST_F(TlsTest, AlpnWithoutCoapIsRefused) {
    start_tls_gateway();
    const auto r = s_client({"-tls1_3", "-alpn", "h2"});
    EXPECT_EQ(r.out.find("ALPN protocol: h2"), std::string::npos) << dump(r);
    EXPECT_TRUE(gateway.wait_for_log("reason=tls_failure", 3s)) << gateway.log();
}

// A client that connects and never starts the handshake is dropped after handshake_timeout;
// a well-behaved device meanwhile is served.
TEST_F(TlsTest, SlowHandshakeClosesOnlyThatConnection) {
    start_tls_gateway();
    DeviceClient silent;
    silent.connect(kLoopback, gateway.port(0));
    const auto connected = SteadyClock::now();
    const auto r = coap_client({"-u", kPskIdentity, "-k", kPskText, "-m", "get"});
    EXPECT_NE((r.out + r.err).find("4.03 no LwM2M registration"), std::string::npos) << dump(r);
    const auto state = silent.wait_closed(5s);
    EXPECT_NE(state, CloseState::still_open) << "the gateway kept a connection without handshake";
    const auto elapsed = ms_since(connected);
    EXPECT_GE(elapsed, 900ms);
    EXPECT_LE(elapsed, 2500ms);
    EXPECT_TRUE(gateway.wait_for_log("reason=handshake_timeout", 2s)) << gateway.log();
}

}  // namespace
}  // namespace lwgate::integration
