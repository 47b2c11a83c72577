// lwgate-bench wirecost: what keeping one device reachable costs per day on the wire, measured
// with a capture on loopback (tshark), for the four ways an LwM2M device stays reachable through
// a NAT:
//  - CoAP over TCP and over TLS-PSK through lwgate: a Ping and its Pong each keepalive.idle
//    (measured at a short idle, then scaled to the configured one),
//  - CoAP over UDP: a Registration Update every refresh interval (coap-client-openssl against
//    coap-server-openssl),
//  - DTLS-PSK without session resumption: a full handshake and the Update each refresh (libcoap
//    4.3.1's coap-client has no resumption), and
//  - DTLS-PSK resuming its session each refresh (openssl s_client -sess_in against s_server:
//    libcoap cannot resume), plus the Update in two DTLS records.
// It prints bytes per refresh and per day, and each as a ratio to CoAP over TCP. lwgate's own
// estimate of the keepalive cost (GET /v1/connections/{ep}) is printed next to the capture, and
// --smoke fails when they differ by more than a quarter.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "keepalive_peer.hpp"
#include "lwgate/harness/admin_client.hpp"
#include "lwgate/harness/gateway_process.hpp"
#include "lwgate/harness/process.hpp"
#include "lwgate/harness/temp_dir.hpp"
#include "packet_capture.hpp"
#include "scenarios.hpp"
#include "wirecost_udp.hpp"

namespace lwgate::bench {
namespace {

using namespace std::chrono_literals;

constexpr const char* kIdentity = "dev-wirecost";
constexpr const char* kKeyHex = "000102030405060708090a0b0c0d0e0f";
constexpr int kExchanges = 6;         // keepalive exchanges measured per transport
constexpr double kMeasureIdle = 1.0;  // keepalive.idle while measuring, seconds

std::string gateway_yaml() {
    return std::string(
               "listeners:\n"
               "  - uri: coap+tcp://127.0.0.1:0\n"
               "  - uri: coaps+tcp://127.0.0.1:0\n"
               "    tls: { psk: true }\n"
               "upstream: { uri: coap://127.0.0.1:9 }\n"
               "keepalive: { idle: 1s, pong_timeout: 2s }\n"
               "connections: { unregistered_idle: 1h }\n"
               "credentials:\n"
               "  - endpoint: ") +
           kIdentity + "\n    psk_identity: " + kIdentity + "\n    psk_key_hex: " + kKeyHex +
           "\nadmin: { listen: '127.0.0.1:0' }\nlog: { level: warn }\n";
}

bool wait_for_pongs(const KeepalivePeer& peer, std::uint64_t n, std::chrono::seconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (peer.pongs_sent() < n) {
        if (peer.closed() || std::chrono::steady_clock::now() > until) return false;
        std::this_thread::sleep_for(10ms);
    }
    return true;
}

// The mean of the complete exchanges: the first and last burst of the capture may be cut.
double mean_exchange(const std::vector<CapturedPacket>& packets) {
    auto bursts = bytes_per_burst(packets, kMeasureIdle / 2);
    if (bursts.size() < 3) return 0;
    const auto sum = std::accumulate(bursts.begin() + 1, bursts.end() - 1, std::uint64_t{0});
    return static_cast<double>(sum) / static_cast<double>(bursts.size() - 2);
}

// lwgate's own estimate of one exchange on this connection, from its keepalive.wire fields.
double estimated_exchange(const harness::GatewayProcess& gateway, std::uint16_t peer_port) {
    harness::AdminClient admin(gateway.admin_url());
    const auto list = admin.get("/v1/connections").json();
    for (const auto& row : list["connections"]) {
        const auto remote = row.value("remote", std::string());
        if (!remote.ends_with(":" + std::to_string(peer_port))) continue;
        const auto detail = admin.get("/v1/connections/id:" + std::to_string(row.value("id", 0)));
        const double per_day =
            detail.json()["keepalive"]["wire"].value("idle_wire_bytes_per_day_estimated", 0.0);
        return per_day * kMeasureIdle / 86'400.0;
    }
    return 0;
}

struct TcpMeasurement {
    double measured = 0;   // IP bytes per exchange
    double estimated = 0;  // lwgate's estimate
};

TcpMeasurement measure_keepalive(const harness::TempDir& dir, harness::GatewayProcess& gateway,
                                 std::size_t listener, std::optional<PeerPsk> psk) {
    const auto port = gateway.port(listener);
    KeepalivePeer peer(port, psk);
    if (!peer.ok() || !wait_for_pongs(peer, 2, 10s))
        throw std::runtime_error("the keepalive device did not connect or saw no Ping");
    PacketCapture capture(dir.path(), psk ? "tls" : "tcp", "tcp port " + std::to_string(port));
    const auto from = peer.pongs_sent();
    if (!wait_for_pongs(peer, from + kExchanges + 2, 60s))
        throw std::runtime_error("the keepalive device stopped answering");
    TcpMeasurement m;
    m.measured = mean_exchange(capture.stop());
    m.estimated = estimated_exchange(gateway, peer.local_port());
    return m;
}

// keepalive.idle as a number of seconds ("60s", "2m", "1h").
double seconds_of(const std::string& text) {
    const double value = std::stod(text);
    if (text.ends_with("ms")) return value / 1000;
    if (text.ends_with("m")) return value * 60;
    if (text.ends_with("h")) return value * 3600;
    return value;
}

void print_row(const char* what, double per_refresh, double per_day, double tcp_per_day) {
    std::printf("  %-40s %8.0f B %12.0f B/day %8.2f\n", what, per_refresh, per_day,
                per_day / tcp_per_day);
}

}  // namespace

bool run_wirecost(const BenchOptions& o) {
    if (!tshark_available()) {
        std::printf("wirecost: tshark is not installed (Debian: tshark)\n");
        return false;
    }
    const double idle = seconds_of(o.ping_interval);
    const double refresh = o.refresh_interval;
    harness::TempDir dir("lwgate-bench-wirecost-");
    harness::GatewayProcess gateway;
    gateway.start(o.lwgate, gateway_yaml());
    const auto tcp = measure_keepalive(dir, gateway, 0, std::nullopt);
    const auto tls = measure_keepalive(dir, gateway, 1, PeerPsk{kIdentity, kKeyHex});
    const auto udp = measure_udp_refreshes(dir.path(), kExchanges);
    const double tcp_day = tcp.measured * 86'400 / idle;
    const double refreshes = 86'400 / refresh;
    std::printf(
        "SCENARIO wirecost (keepalive.idle %s through lwgate; UDP refresh every %.0f s; "
        "IP bytes captured on loopback)\n",
        o.ping_interval.c_str(), refresh);
    std::printf("  %-40s %10s %16s %8s\n", "device", "/refresh", "/day", "vs TCP");
    print_row("CoAP over TCP, Ping/Pong (lwgate)", tcp.measured, tcp_day, tcp_day);
    print_row("CoAP over TLS-PSK, Ping/Pong (lwgate)", tls.measured, tls.measured * 86'400 / idle,
              tcp_day);
    print_row("CoAP over UDP, Update", udp.udp, udp.udp * refreshes, tcp_day);
    print_row("DTLS-PSK full handshake + Update", udp.dtls_full, udp.dtls_full * refreshes,
              tcp_day);
    print_row(udp.resumed ? "DTLS-PSK resumption + Update" : "DTLS-PSK (resumption refused!)",
              udp.dtls_resumption, udp.dtls_resumption * refreshes, tcp_day);
    std::printf(
        "  lwgate's own estimate per exchange: TCP %.0f B (captured %.0f), TLS %.0f B "
        "(captured %.0f)\n",
        tcp.estimated, tcp.measured, tls.estimated, tls.measured);
    // The keepalive.idle from which a TCP (TLS) device costs less than the UDP (DTLS) refresh:
    // NAT bindings of TCP last hours (RFC 5382: at least 2 h 4 min), so that idle is allowed.
    const auto even = [&](double keepalive, double per_refresh) {
        return per_refresh > 0 ? keepalive / per_refresh * refresh : 0.0;
    };
    std::printf(
        "  break-even keepalive.idle: TCP vs UDP Update %.0f s; TLS vs DTLS resumption "
        "%.0f s, vs DTLS full handshake %.0f s\n",
        even(tcp.measured, udp.udp), even(tls.measured, udp.dtls_resumption),
        even(tls.measured, udp.dtls_full));
    const auto close = [](double a, double b) { return b > 0 && std::abs(a - b) <= b / 4; };
    // A full DTLS handshake that cost less than two Updates did not happen (coap-client exits 0
    // whatever the answer).
    return tcp.measured > 0 && tls.measured > 0 && udp.udp > 0 && udp.resumed &&
           udp.dtls_full > 2 * udp.udp && close(tcp.estimated, tcp.measured) &&
           close(tls.estimated, tls.measured);
}

}  // namespace lwgate::bench
