// Listeners behind a load balancer: the PROXY protocol header (v1 and v2) names the device, and
// the admin API and lwgatectl show that address instead of the balancer's; a proxy listener
// closes connections without a valid header; reuse_port lets two lwgate processes share a port;
// and a real HAProxy with send-proxy-v2 in front of lwgate.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "gateway_fixture.hpp"
#include "haproxy_front.hpp"
#include "lwgate/harness/admin_client.hpp"

#ifndef LWGATECTL_BINARY
#error "LWGATECTL_BINARY must be defined to the path of the lwgatectl executable"
#endif

namespace lwgate::integration {
namespace {

using harness::AdminClient;
using nlohmann::json;
using ::testing::HasSubstr;

const coap::Bytes kV2Signature{0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                               0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

// PROXY v2, TCP over IPv4: 192.0.2.77:<port> -> 127.0.0.1:5683.
coap::Bytes v2_header(std::uint16_t source_port) {
    coap::Bytes out = kV2Signature;
    const coap::Bytes rest{0x21,
                           0x11,
                           0x00,
                           0x0C,
                           192,
                           0,
                           2,
                           77,
                           127,
                           0,
                           0,
                           1,
                           static_cast<std::uint8_t>(source_port >> 8),
                           static_cast<std::uint8_t>(source_port),
                           0x16,
                           0x33};
    out.insert(out.end(), rest.begin(), rest.end());
    return out;
}

coap::Bytes bytes(std::string_view s) {
    return {s.begin(), s.end()};
}

class ProxyProtocolTest : public GatewayTest {
  protected:
    void start_proxy_listener(const std::string& extra = "    proxy_protocol: true") {
        config.listener_uris = {"coap+tcp://127.0.0.1:0\n" + extra};
        config.log_level = "debug";
        start_gateway();
        admin = std::make_unique<AdminClient>(gateway.admin_url(), "");
    }

    // Polls /v1/connections until a row has `remote`, up to 5 s.
    bool wait_remote(const std::string& remote) {
        const auto deadline = SteadyClock::now() + 5s;
        do {
            const auto j = json::parse(admin->get("/v1/connections").body, nullptr, false);
            if (!j.is_discarded()) {
                for (const auto& row : j["connections"])
                    if (row["remote"] == remote) return true;
            }
            std::this_thread::sleep_for(20ms);
        } while (SteadyClock::now() < deadline);
        ADD_FAILURE() << "no connection from " << remote << ": "
                      << admin->get("/v1/connections").body;
        return false;
    }

    // CSM exchange and a Ping after the header: the connection is served.
    void expect_served(DeviceClient& device) {
        ASSERT_TRUE(device.handshake_csm(5s).has_value()) << "no CSM after the PROXY header";
        const auto pong = device.ping(coap::Token::from_u64(7), false, 5s);
        ASSERT_TRUE(pong.has_value());
        EXPECT_EQ(pong->code(), code::pong);
    }

    std::unique_ptr<AdminClient> admin;
};

TEST_F(ProxyProtocolTest, V2HeaderNamesTheDevice) {
    start_proxy_listener();
    DeviceClient device = connect();
    ASSERT_TRUE(device.send_raw(v2_header(40001)));
    expect_served(device);
    EXPECT_TRUE(wait_remote("192.0.2.77:40001"));
    const auto ctl = harness::run_process(
        {LWGATECTL_BINARY, "--json", "--admin", gateway.admin_url(), "conns"}, 20s);
    EXPECT_EQ(ctl.exit_code, 0) << ctl.err;
    EXPECT_THAT(ctl.out, HasSubstr("192.0.2.77:40001"));
}

TEST_F(ProxyProtocolTest, V1HeaderNamesTheDevice) {
    start_proxy_listener();
    DeviceClient device = connect();
    // Split across writes: the header may arrive in pieces.
    ASSERT_TRUE(device.send_raw(bytes("PROXY TCP6 2001:db8::5 ::1 ")));
    std::this_thread::sleep_for(50ms);
    ASSERT_TRUE(device.send_raw(bytes("40002 5683\r\n")));
    expect_served(device);
    EXPECT_TRUE(wait_remote("[2001:db8::5]:40002"));
}

TEST_F(ProxyProtocolTest, LocalCommandKeepsTheSocketAddress) {
    start_proxy_listener();
    DeviceClient device = connect();
    coap::Bytes local = kV2Signature;
    local.insert(local.end(), {0x20, 0x00, 0x00, 0x00});
    ASSERT_TRUE(device.send_raw(local));
    expect_served(device);
    EXPECT_TRUE(wait_remote("127.0.0.1:" + std::to_string(device.local_port())));
}

TEST_F(ProxyProtocolTest, NoHeaderIsClosed) {
    start_proxy_listener();
    DeviceClient device = connect();
    ASSERT_TRUE(device.send(coap::make_csm(1152, false)));  // CoAP where the header belongs
    EXPECT_NE(device.wait_closed(5s), CloseState::still_open);
    DeviceClient garbage = connect();
    ASSERT_TRUE(garbage.send_raw(bytes("PROXY TCP4 1.2.3.999 5.6.7.8 1 2\r\n")));
    EXPECT_NE(garbage.wait_closed(5s), CloseState::still_open);
    const auto deadline = SteadyClock::now() + 5s;
    while (metric_value(admin->get("/metrics").body,
                        "lwgate_closes_total{reason=\"proxy_header\"}") < 2 &&
           SteadyClock::now() < deadline)
        std::this_thread::sleep_for(20ms);
    EXPECT_EQ(
        metric_value(admin->get("/metrics").body, "lwgate_closes_total{reason=\"proxy_header\"}"),
        2);
}

TEST_F(ProxyProtocolTest, SilenceIsClosedAtTheDeadline) {
    config.csm_timeout = "300ms";
    start_proxy_listener();
    DeviceClient device = connect();
    const auto start = SteadyClock::now();
    EXPECT_NE(device.wait_closed(5s), CloseState::still_open);
    EXPECT_GE(ms_since(start), 250ms);
}

TEST_F(ProxyProtocolTest, HeaderOnAnOrdinaryListenerIsBadCoap) {
    start_gateway();
    DeviceClient device = connect();
    ASSERT_TRUE(device.send_raw(v2_header(40003)));
    EXPECT_NE(device.wait_closed(5s), CloseState::still_open);
}

// Behind a balancer every socket comes from the balancer: the per-address handshake limit counts
// the addresses the headers name.
TEST_F(ProxyProtocolTest, HandshakeLimitPerAddressCountsTheHeadersAddress) {
    config.listener_uris = {
        "coaps+tcp://127.0.0.1:0\n    proxy_protocol: true\n"
        "    tls: { psk: true, handshake_timeout: 5s }"};
    config.connections_extra = {"max_tls_handshakes_per_address: 1"};
    config.extra_yaml =
        "credentials:\n  - endpoint: urn:imei:1\n    psk_identity: dev123\n"
        "    psk_key_hex: 736563726574313233\n";
    config.log_level = "debug";
    start_gateway();
    admin = std::make_unique<AdminClient>(gateway.admin_url(), "");
    // Stalled handshakes: a header, then no ClientHello.
    DeviceClient first = connect();
    ASSERT_TRUE(first.send_raw(v2_header(40010)));
    ASSERT_TRUE(wait_remote("192.0.2.77:40010"));
    DeviceClient same_address = connect();
    ASSERT_TRUE(same_address.send_raw(v2_header(40011)));
    EXPECT_NE(same_address.wait_closed(5s), CloseState::still_open);
    DeviceClient other_address = connect();
    coap::Bytes other = v2_header(40012);
    other[19] = 78;  // 192.0.2.78
    ASSERT_TRUE(other_address.send_raw(other));
    EXPECT_TRUE(wait_remote("192.0.2.78:40012"));
    EXPECT_EQ(first.wait_closed(200ms), CloseState::still_open);
    EXPECT_TRUE(gateway.wait_for_log("connections.max_tls_handshakes_per_address", 3s));
    EXPECT_EQ(metric_value(admin->get("/metrics").body,
                           "lwgate_refused_total{reason=\"limit_handshakes_per_address\"}"),
              1)
        << "counted like a refusal at accept";
}

// ---- reuse_port ------------------------------------------------------------------------------

TEST(ReusePort, TwoGatewaysShareOnePort) {
    harness::GatewayConfig first_config;
    first_config.listener_uris = {"coap+tcp://127.0.0.1:0\n    reuse_port: true"};
    harness::GatewayProcess first;
    first.start(LWGATE_BINARY, first_config.yaml());
    const auto port = std::to_string(first.port());
    harness::GatewayConfig second_config;
    second_config.listener_uris = {"coap+tcp://127.0.0.1:" + port + "\n    reuse_port: true"};
    harness::GatewayProcess second;
    second.start(LWGATE_BINARY, second_config.yaml());
    EXPECT_EQ(second.port(), first.port());
    for (int i = 0; i < 4; ++i) {  // whichever process the kernel picks serves the device
        DeviceClient device;
        device.connect(kLoopback, first.port());
        EXPECT_TRUE(device.handshake_csm(5s).has_value());
    }
    EXPECT_EQ(first.stop(10s), 0);
    EXPECT_EQ(second.stop(10s), 0);
}

// ---- HAProxy -----------------------------------------------------------------------------------

TEST_F(ProxyProtocolTest, BehindHaproxyTheAdminApiShowsTheDevice) {
    if (!haproxy_installed()) GTEST_SKIP() << "haproxy is not installed";
    start_proxy_listener();
    HaproxyFront haproxy(gateway.dir(), {gateway.port()});
    // The front socket listens already: the device's connection waits in its backlog until
    // HAProxy runs, so its CSM exchange is the readiness check.
    DeviceClient device;
    device.connect(kLoopback, haproxy.port());
    ASSERT_TRUE(device.handshake_csm(10s).has_value()) << "no CSM through HAProxy; its log:\n"
                                                       << haproxy.log();
    const auto pong = device.ping(coap::Token::from_u64(9), false, 5s);
    ASSERT_TRUE(pong.has_value());
    EXPECT_TRUE(wait_remote("127.0.0.1:" + std::to_string(device.local_port())));
    const auto rows = json::parse(admin->get("/v1/connections").body)["connections"];
    ASSERT_EQ(rows.size(), 1u) << rows.dump();
}

// TLS passes through HAProxy untouched: the header is read before the handshake, and the
// ClientHello behind it is left for OpenSSL.
TEST_F(ProxyProtocolTest, TlsBehindHaproxy) {
    if (!haproxy_installed()) GTEST_SKIP() << "haproxy is not installed";
    if (!harness::program_exists("coap-client-openssl"))
        GTEST_SKIP() << "coap-client-openssl is not installed";
    config.listener_uris = {
        "coaps+tcp://127.0.0.1:0\n    proxy_protocol: true\n"
        "    tls: { psk: true, handshake_timeout: 5s }"};
    config.log_level = "debug";
    config.extra_yaml =
        "credentials:\n  - endpoint: urn:imei:1\n    psk_identity: dev123\n"
        "    psk_key_hex: 736563726574313233\n";
    start_gateway();
    HaproxyFront haproxy(gateway.dir(), {gateway.port()});
    const auto r = harness::run_process(
        {"coap-client-openssl", "-B", "5", "-u", "dev123", "-k", "secret123", "-m", "get",
         "coaps+tcp://127.0.0.1:" + std::to_string(haproxy.port()) + "/3/0"},
        20s);
    EXPECT_NE((r.out + r.err).find("4.03"), std::string::npos) << r.out << r.err << "\nHAProxy:\n"
                                                               << haproxy.log();
    EXPECT_TRUE(gateway.wait_for_log("PROXY header: remote=127.0.0.1:", 3s));
    EXPECT_TRUE(gateway.wait_for_log("psk_identity='dev123'", 3s));
    EXPECT_EQ(gateway.count_in_log("reason=proxy_header"), 0u);
    EXPECT_EQ(gateway.count_in_log("reason=tls_failure"), 0u);
}

}  // namespace
}  // namespace lwgate::integration
