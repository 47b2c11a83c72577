// The device simulator against the real `lwgate` binary (plain TCP and TLS), with a scripted
// UDP core (fake_core.hpp) behind it: registrations and downlinks cross the gateway, the
// gateway's Pings are answered (no half-open close), and TLS works with PSK (1.2 and 1.3) and
// client certificates.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <future>
#include <iostream>

#include "fake_core.hpp"
#include "lwgate/coap/option.hpp"
#include "lwgate/devsim/coap_util.hpp"
#include "lwgate/devsim/device_simulator.hpp"
#include "lwgate/harness/harness.hpp"
#include "lwgate/harness/test_certificates.hpp"

#ifndef LWGATE_BINARY
#error "LWGATE_BINARY must be defined to the path of the lwgate executable"
#endif

namespace lwgate::devsim {
namespace {

using namespace std::chrono_literals;
using testing::FakeCore;
using testing::UdpMessage;
using testing::UdpType;
namespace code = coap::code;
namespace option = coap::option;

constexpr const char* kPskIdentity = "dev123";
constexpr const char* kPskHex = "736563726574313233";  // "secret123"
constexpr const char* kEndpoint = "urn:imei:123";

std::string text(const coap::Bytes& b) {
    return std::string(b.begin(), b.end());
}

class DevsimGatewayTest : public ::testing::Test {
  protected:
    void TearDown() override {
        if (gateway.pid() <= 0) return;
        if (gateway.running()) {
            const auto status = gateway.stop(10s);
            EXPECT_TRUE(status.has_value()) << "gateway did not exit within 10 s of SIGTERM";
        }
        EXPECT_TRUE(gateway.sanitizer_reports().empty()) << gateway.log();
        if (HasFailure()) std::cerr << "---- gateway log ----\n" << gateway.log() << "----\n";
    }

    std::string upstream_yaml() const {
        return "upstream:\n  uri: coap://127.0.0.1:" + std::to_string(core.port()) + "\n";
    }

    DeviceOptions device(std::uint16_t port, std::string endpoint = kEndpoint) const {
        DeviceOptions o;
        o.endpoint = std::move(endpoint);
        o.port = port;
        o.default_timeout = 5s;
        return o;
    }

    // The core's side of a registration: the next request must be a Register; answer it.
    std::optional<UdpMessage> answer_register(std::uint8_t response_code,
                                              std::string location = "xyz") {
        while (auto m = core.receive(5s)) {
            if (m->type != UdpType::con || m->message.code() != code::post) continue;
            coap::Message response(response_code);
            if (response_code == code::created) {
                response.add_option(option::location_path, "rd");
                response.add_option(option::location_path, location);
            }
            core.reply(*m, response);
            return m;
        }
        return std::nullopt;
    }

    // Registers `dev` while the core answers `response_code`.
    Result register_via_core(DeviceSimulator& dev, std::uint8_t response_code) {
        auto result = dev.register_device_async();
        auto reg = answer_register(response_code);
        EXPECT_TRUE(reg) << "the Register never reached the core";
        EXPECT_EQ(result.wait_for(10s), std::future_status::ready);
        return result.get();
    }

    FakeCore core;
    harness::GatewayProcess gateway;
};

TEST_F(DevsimGatewayTest, RegisterAndReadCrossTheGateway) {
    harness::GatewayConfig cfg;
    cfg.log_level = "debug";
    cfg.extra_yaml = upstream_yaml();
    gateway.start(LWGATE_BINARY, cfg.yaml());

    DeviceSimulator dev(device(gateway.port(), "urn:dev:e2e"));
    auto registered = dev.register_device_async();
    auto reg = answer_register(code::created);
    ASSERT_TRUE(reg);
    // The core sees the device's registration (binding rewritten for UDP by the gateway).
    EXPECT_EQ(uri_path_string(reg->message), "/rd");
    const auto queries = uri_queries(reg->message);
    EXPECT_NE(std::find(queries.begin(), queries.end(), "ep=urn:dev:e2e"), queries.end());
    EXPECT_EQ(text(reg->message.payload()), "</1/0>,</3/0>,</5/0>");
    ASSERT_EQ(registered.wait_for(10s), std::future_status::ready);
    const Result r = registered.get();
    ASSERT_TRUE(r.ok()) << to_string(r.status) << " " << r.detail;
    EXPECT_EQ(r.code(), code::created);
    EXPECT_EQ(r.location(), "/rd/xyz");
    const auto csm = dev.wait_for_gateway_csm(3s);
    ASSERT_TRUE(csm);
    EXPECT_EQ(csm->max_message_size, 16u * 1024);

    // A Read from the core reaches the device and its answer comes back.
    coap::Message read(code::get, coap::Token::from_u64(0x42));
    add_uri_path(read, "/3/0/0");
    core.send(UdpType::con, 777, read);
    std::optional<coap::Message> answer;
    while (auto m = core.receive(5s)) {
        if (m->message.code() == code::content) {
            if (m->type == UdpType::con) core.ack(*m);
            answer = m->message;
            break;
        }
    }
    ASSERT_TRUE(answer) << "no 2.05 reached the core";
    EXPECT_EQ(answer->token(), coap::Token::from_u64(0x42));
    EXPECT_EQ(text(answer->payload()), "lwgate");
    auto seen = dev.wait_for_request(DeviceSimulator::path_is("/3/0/0"), 3s);
    ASSERT_TRUE(seen);
    EXPECT_EQ(seen->response_code, code::content);
    EXPECT_NE(seen->token(), coap::Token::from_u64(0x42)) << "the gateway uses its own tokens";
}

TEST_F(DevsimGatewayTest, CoreErrorsComeBackAndTheGatewaysPingsAreAnswered) {
    harness::GatewayConfig cfg;
    cfg.keepalive_idle = "300ms";
    cfg.pong_timeout = "300ms";
    cfg.max_missed = 1;
    cfg.log_level = "debug";
    cfg.extra_yaml = upstream_yaml();
    gateway.start(LWGATE_BINARY, cfg.yaml());

    DeviceSimulator dev(device(gateway.port(), "urn:dev:alive"));
    const Result r = register_via_core(dev, code::service_unavailable);
    ASSERT_TRUE(r.ok()) << to_string(r.status) << " " << r.detail;
    EXPECT_EQ(r.code(), code::service_unavailable);
    EXPECT_FALSE(dev.is_registered());

    // Idle 300 ms: the gateway pings; one missed Pong (300 ms) would close the connection as
    // half-open. Three answered Pings span well over that.
    ASSERT_TRUE(dev.wait_for_stats([](const Stats& s) { return s.pings_received >= 3; }, 5s))
        << "pings received: " << dev.stats().pings_received;
    EXPECT_GE(dev.stats().pongs_sent, 3u);
    EXPECT_EQ(dev.state(), ConnectionState::connected);
    EXPECT_EQ(gateway.count_in_log("reason=half_open"), 0u);

    // A half-open twin (go_silent) is found and closed by the same Pings.
    DeviceSimulator silent(device(gateway.port(), "urn:dev:silent"));
    ASSERT_TRUE(silent.connect().ok());
    ASSERT_TRUE(silent.wait_for_gateway_csm(3s));
    silent.go_silent();
    EXPECT_TRUE(gateway.wait_for_log("reason=half_open", 5s)) << gateway.log();
    EXPECT_EQ(gateway.count_in_log("reason=half_open"), 1u);
    EXPECT_EQ(dev.state(), ConnectionState::connected) << "the answering device stays";
    EXPECT_TRUE(dev.ping(2s).ok());
}

class DevsimGatewayTlsTest : public DevsimGatewayTest {
  protected:
    static void SetUpTestSuite() {
        if (!harness::program_exists("openssl")) return;
        certs_ = new harness::TempDir("lwgate-devsim-certs-");
        harness::make_test_certificates(*certs_, kEndpoint);
    }
    static void TearDownTestSuite() {
        delete certs_;
        certs_ = nullptr;
    }
    static std::string cert(const char* name) { return (*certs_ / name).string(); }

    // A coaps+tcp listener with PSK (and certificates when available) plus a plain one.
    void start_tls_gateway(bool with_certificates) {
        std::string tls = "    tls:\n      psk: true\n      handshake_timeout: 2s\n";
        if (with_certificates) {
            tls += "      certificate: " + cert("server.pem") + "\n" +
                   "      private_key: " + cert("server.key") + "\n" +
                   "      ca: " + cert("ca.pem") + "\n";
        }
        const std::string yaml = "listeners:\n  - uri: coaps+tcp://127.0.0.1:0\n" + tls +
                                 "credentials:\n  - endpoint: " + kEndpoint +
                                 "\n    psk_identity: " + kPskIdentity +
                                 "\n    psk_key_hex: " + kPskHex + "\n" + upstream_yaml() +
                                 "store:\n  uri: \"memory:\"\nadmin:\n  listen: 127.0.0.1:0\n"
                                 "log:\n  level: debug\n";
        gateway.start(LWGATE_BINARY, yaml);
        ASSERT_EQ(gateway.uri(0).rfind("coaps+tcp://", 0), 0u) << gateway.uri(0);
    }

    DeviceOptions psk_device(TlsVersion version) const {
        DeviceOptions o = device(gateway.port(0));
        o.transport = Transport::tls;
        o.tls.psk_identity = kPskIdentity;
        o.tls.psk_key = *parse_hex(kPskHex);
        o.tls.version = version;
        return o;
    }

    static harness::TempDir* certs_;
};

harness::TempDir* DevsimGatewayTlsTest::certs_ = nullptr;

TEST_F(DevsimGatewayTlsTest, PskOverTls12AndTls13RegistersAndAWrongKeyIsRefused) {
    start_tls_gateway(false);
    {
        DeviceSimulator dev(psk_device(TlsVersion::tls1_2));
        const Result r = register_via_core(dev, code::created);
        ASSERT_TRUE(r.ok()) << to_string(r.status) << " " << r.detail;
        EXPECT_EQ(r.code(), code::created);
        EXPECT_TRUE(gateway.wait_for_log("version=TLSv1.2", 3s)) << gateway.log();
        EXPECT_TRUE(gateway.wait_for_log("psk_identity='dev123'", 3s));
        dev.disconnect();
    }
    {
        DeviceOptions o = psk_device(TlsVersion::tls1_3);
        o.tls.ciphersuites = "TLS_AES_128_GCM_SHA256";  // the gateway prefers its own order
        DeviceSimulator dev(o);
        const Result r = register_via_core(dev, code::created);
        ASSERT_TRUE(r.ok()) << to_string(r.status) << " " << r.detail;
        EXPECT_EQ(r.code(), code::created);
        EXPECT_TRUE(gateway.wait_for_log(
            "version=TLSv1.3 cipher=TLS_AES_128_GCM_SHA256 psk_identity='dev123'", 3s))
            << gateway.log();
        // The gateway's Ping over TLS is answered like over TCP.
        EXPECT_TRUE(dev.ping(2s).ok());
    }
    {
        DeviceOptions o = psk_device(TlsVersion::any);
        o.tls.psk_key = *parse_hex("00112233");
        DeviceSimulator dev(o);
        const Result r = dev.connect(3s);
        EXPECT_EQ(r.status, Status::tls_failed) << r.detail;
        EXPECT_EQ(dev.last_close()->reason, CloseReason::tls_failed);
        EXPECT_TRUE(gateway.wait_for_log("reason=tls_failure", 3s)) << gateway.log();
    }
}

TEST_F(DevsimGatewayTlsTest, ClientCertificateWithServerVerification) {
    if (!certs_) GTEST_SKIP() << "openssl not installed";
    start_tls_gateway(true);
    DeviceOptions o = device(gateway.port(0));
    o.transport = Transport::tls;
    o.tls.certificate_file = cert("client.pem");
    o.tls.private_key_file = cert("client.key");
    o.tls.ca_file = cert("ca.pem");  // verifies the gateway's certificate for 127.0.0.1
    DeviceSimulator dev(o);
    const Result r = register_via_core(dev, code::created);
    ASSERT_TRUE(r.ok()) << to_string(r.status) << " " << r.detail;
    EXPECT_EQ(r.code(), code::created);
    EXPECT_TRUE(gateway.wait_for_log("cert_cn='urn:imei:123'", 3s)) << gateway.log();
    dev.disconnect();

    // A CA that did not sign the gateway's certificate: our verification fails.
    DeviceOptions wrong = o;
    wrong.tls.ca_file = cert("client.pem");
    DeviceSimulator refused(wrong);
    const Result f = refused.connect(3s);
    EXPECT_EQ(f.status, Status::tls_failed);
    EXPECT_NE(f.detail.find("verif"), std::string::npos) << f.detail;
}

}  // namespace
}  // namespace lwgate::devsim
