#include "wirecost_udp.hpp"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>
#include <vector>

#include "background_process.hpp"
#include "loopback_address.hpp"
#include "lwgate/harness/process.hpp"
#include "packet_capture.hpp"

namespace lwgate::bench {
namespace {

using namespace std::chrono_literals;

constexpr const char* kIdentity = "dev-wirecost";
constexpr const char* kKeyText = "wirecost-psk-123";                 // coap-client/-server
constexpr const char* kKeyHex = "77697265636f73742d70736b2d313233";  // the same, for openssl
// libcoap's DTLS suite with PSK is negotiated by the peers; openssl's resumption uses LwM2M's
// mandatory one. Its record: header 13, explicit nonce 8, CCM_8 tag 8.
constexpr const char* kCipher = "PSK-AES128-CCM8";
constexpr double kDtlsRecordOverhead = 13 + 8 + 8;

bool udp_port_free(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    auto addr = loopback_address(port);
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
}

// A port P the kernel hands out with P + 1 free too (coap-server takes P + 1 for DTLS). Another
// program may take them before the server binds: then the server fails to start and says so.
std::uint16_t free_port_pair() {
    for (int attempt = 0; attempt < 50; ++attempt) {
        const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
        auto addr = loopback_address(0);
        ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        socklen_t len = sizeof addr;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
        ::close(fd);
        const auto port = ntohs(addr.sin_port);
        if (port < 65535 && udp_port_free(port) && udp_port_free(port + 1)) return port;
    }
    throw std::runtime_error("no pair of free UDP ports");
}

void run_or_throw(const std::vector<std::string>& argv) {
    const auto r = harness::run_process(argv, 20s);
    if (r.exit_code != 0)
        throw std::runtime_error(argv[0] + " failed (" + std::to_string(r.exit_code) +
                                 "): " + r.out + r.err);
}

// The close_notify alerts the tools send as they exit are left out: a device that refreshes its
// session keeps it, and does not close it each time.
double bytes_per_run(const std::filesystem::path& dir, const std::string& name, std::uint16_t port,
                     const std::vector<std::string>& argv, int runs) {
    PacketCapture capture(dir, name, "udp port " + std::to_string(port), port);
    for (int i = 0; i < runs; ++i)
        run_or_throw(argv);
    std::uint64_t total = 0;
    for (const auto& p : capture.stop())
        if (!p.dtls_alert_only) total += p.ip_bytes;
    return static_cast<double>(total) / runs;
}

// libcoap's peers: an Update plain and after a full DTLS-PSK handshake.
void measure_libcoap(const std::filesystem::path& dir, int runs, RefreshCosts& out) {
    const auto port = free_port_pair();
    const auto p = std::to_string(port);
    BackgroundProcess server(
        {"coap-server-openssl", "-A", "127.0.0.1", "-p", p, "-k", kKeyText, "-v", "6"},
        dir / "coap-server.log");
    // Ready once it answers: the GET before the capture starts.
    const std::vector<std::string> probe{"coap-client-openssl", "-B", "2", "coap://127.0.0.1:" + p};
    // coap-client exits 0 without an answer too: the server's greeting says it answered.
    for (int i = 0; harness::run_process(probe, 5s).out.find("libcoap") == std::string::npos; ++i)
        if (i == 20)
            throw std::runtime_error("coap-server-openssl does not answer: " + server.log());
    const std::string path = "/rd/5a3f";
    out.udp = bytes_per_run(
        dir, "udp", port,
        {"coap-client-openssl", "-m", "post", "-B", "5", "coap://127.0.0.1:" + p + path}, runs);
    const auto dtls_port = static_cast<std::uint16_t>(port + 1);
    out.dtls_full =
        bytes_per_run(dir, "dtls", dtls_port,
                      {"coap-client-openssl", "-m", "post", "-B", "5", "-u", kIdentity, "-k",
                       kKeyText, "coaps://127.0.0.1:" + std::to_string(dtls_port) + path},
                      runs);
    server.stop(SIGTERM);
}

std::vector<std::string> s_client(std::uint16_t port, const std::string& session_arg,
                                  const std::filesystem::path& session) {
    // -no_ticket: resumption by session id, as constrained DTLS stacks resume (tinydtls has no
    // tickets), not with a ticket of some 200 bytes in every ClientHello.
    return {"openssl",    "s_client",      "-dtls1_2",
            "-no_ticket", "-connect",      "127.0.0.1:" + std::to_string(port),
            "-psk",       kKeyHex,         "-psk_identity",
            kIdentity,    "-cipher",       kCipher,
            session_arg,  session.string()};
}

// openssl's DTLS 1.2 peers: one full handshake saves the session, each measured run resumes it.
void measure_resumption(const std::filesystem::path& dir, int runs, RefreshCosts& out) {
    const auto port = free_port_pair();
    BackgroundProcess server(
        {"openssl", "s_server", "-dtls1_2", "-accept", "127.0.0.1:" + std::to_string(port),
         "-nocert", "-psk", kKeyHex, "-cipher", kCipher},
        dir / "s_server.log");
    server.wait_for_output("ACCEPT", 10s);
    const auto session = dir / "dtls.session";
    run_or_throw(s_client(port, "-sess_out", session));
    const auto resume = s_client(port, "-sess_in", session);
    out.resumed = harness::run_process(resume, 20s).out.find("Reused") != std::string::npos;
    const double handshake = bytes_per_run(dir, "dtls-resumption", port, resume, runs);
    // The Update and its answer as in plain UDP, each in a DTLS record instead.
    out.dtls_resumption = handshake + out.udp + 2 * kDtlsRecordOverhead;
    server.stop(SIGTERM);
}

}  // namespace

RefreshCosts measure_udp_refreshes(const std::filesystem::path& dir, int refreshes) {
    RefreshCosts out;
    measure_libcoap(dir, refreshes, out);
    measure_resumption(dir, refreshes, out);
    return out;
}

}  // namespace lwgate::bench
