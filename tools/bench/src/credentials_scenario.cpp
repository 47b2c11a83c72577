// lwgate-bench credentials: the cost of a large credentials table. lwgate with a TLS-PSK
// listener and a SQLite store; TLS-PSK handshakes per second with one credential (the
// baseline), then `lwgatectl credentials import` of N generated entries (entries/s, lwgate's
// memory per entry), then the same handshakes with identities drawn from all N (the ratio to the
// baseline shows whether a lookup grows with the table), then a restart (the time to load N).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>

#include "lwgate/harness/gateway_process.hpp"
#include "lwgate/harness/process.hpp"
#include "lwgate/harness/temp_dir.hpp"
#include "proc_stats.hpp"
#include "psk_client.hpp"
#include "scenarios.hpp"

namespace lwgate::bench {

namespace {

using Clock = std::chrono::steady_clock;

std::string identity_of(std::size_t i) {
    return "urn:imei:" + std::to_string(350000000000000ULL + i);
}

// Every entry's key is derived from its index, so the client can compute it.
std::string key_hex_of(std::size_t i) {
    char buf[33];
    std::snprintf(buf, sizeof buf, "%016zx%016zx", i * 0x9e3779b97f4a7c15ULL, i + 1);
    return buf;
}

// One TLS 1.2 PSK handshake on a new TCP connection; false when it fails.
bool handshake(SSL_CTX* ctx, std::uint16_t port, std::size_t index) {
    const PeerPsk psk{identity_of(index), key_hex_of(index)};
    offer_psk(&psk);
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    ok = ok && SSL_connect(ssl) == 1;
    offer_psk(nullptr);
    SSL_shutdown(ssl);
    SSL_free(ssl);
    ::close(fd);
    return ok;
}

// Handshakes per second over `seconds`, each with an identity drawn from [0, entries).
double handshake_rate(std::uint16_t port, std::size_t entries, double seconds, bool& ok) {
    SSL_CTX* ctx = new_psk_client_context("PSK-AES128-GCM-SHA256");
    std::mt19937_64 random(42);
    std::size_t done = 0;
    const auto start = Clock::now();
    const auto until = start + std::chrono::duration<double>(seconds);
    while (Clock::now() < until) {
        if (!handshake(ctx, port, random() % entries)) {
            ok = false;
            break;
        }
        ++done;
    }
    SSL_CTX_free(ctx);
    const std::chrono::duration<double> took = Clock::now() - start;
    return static_cast<double>(done) / took.count();
}

std::string config_yaml(const std::string& db) {
    return "listeners:\n"
           "  - uri: coaps+tcp://127.0.0.1:0\n"
           "    tls: { psk: true }\n"
           "upstream: { uri: coap://127.0.0.1:9 }\n"
           "store: { uri: 'sqlite://" +
           db +
           "' }\n"
           "connections: { accept_rate: 100000/s }\n"
           "admin: { listen: '127.0.0.1:0' }\n"
           "log: { level: warn }\n";
}

std::filesystem::path write_entries(const harness::TempDir& dir, std::size_t n) {
    const auto path = dir / "credentials.csv";
    std::ofstream out(path);
    out << "endpoint,psk_identity,psk_key_hex\n";
    for (std::size_t i = 0; i < n; ++i)
        out << "ep-" << i << ',' << identity_of(i) << ',' << key_hex_of(i) << '\n';
    return path;
}

}  // namespace

bool run_credentials(const BenchOptions& o) {
    harness::TempDir dir("lwgate-bench-credentials-");
    const auto db = (dir / "state.db").string();
    const auto yaml = config_yaml(db);
    const auto csv = write_entries(dir, o.devices);
    auto gateway = std::make_unique<harness::GatewayProcess>();
    gateway->start(o.lwgate, yaml);
    const auto ctl = o.lwgatectl;
    // The baseline: one entry.
    auto one =
        harness::run_process({ctl, "--admin", gateway->admin_url(), "credentials", "add", "ep-0",
                              "--identity", identity_of(0), "--key-hex", key_hex_of(0)},
                             std::chrono::seconds(30));
    if (one.exit_code != 0) {
        std::printf("credentials: add failed: %s%s\n", one.out.c_str(), one.err.c_str());
        return false;
    }
    bool ok = true;
    const double base = handshake_rate(gateway->port(), 1, o.duration, ok);
    const auto before = sample_process(gateway->pid());
    const auto started = Clock::now();
    auto imported = harness::run_process(
        {ctl, "--admin", gateway->admin_url(), "credentials", "import", csv.string()},
        std::chrono::seconds(3600));
    const std::chrono::duration<double> import_took = Clock::now() - started;
    if (imported.exit_code != 0) {
        std::printf("credentials: import failed: %s%s\n", imported.out.c_str(),
                    imported.err.c_str());
        return false;
    }
    const auto after = sample_process(gateway->pid());
    const double full = handshake_rate(gateway->port(), o.devices, o.duration, ok);
    gateway->stop(std::chrono::seconds(30));
    gateway = std::make_unique<harness::GatewayProcess>();
    const auto restart = Clock::now();
    gateway->start(o.lwgate, yaml, {{}, {}, std::chrono::milliseconds(600'000), {}});
    const std::chrono::duration<double> load_took = Clock::now() - restart;
    const double bytes_per_entry =
        1024.0 * static_cast<double>(after.rss_kib - std::min(after.rss_kib, before.rss_kib)) /
        static_cast<double>(o.devices);
    std::printf("SCENARIO credentials (%zu entries, load %.1f)\n", o.devices, load_average());
    std::printf("  import           %.1f s, %.0f entries/s (lwgatectl credentials import)\n",
                import_took.count(), static_cast<double>(o.devices) / import_took.count());
    std::printf("  memory           %.0f bytes per entry (lwgate RSS %.1f -> %.1f MiB)\n",
                bytes_per_entry, before.rss_kib / 1024.0, after.rss_kib / 1024.0);
    std::printf("  TLS-PSK handshakes/s  1 entry %.0f, %zu entries %.0f: ratio %.2f\n", base,
                o.devices, full, full / base);
    std::printf("  restart to ready %.1f s (loads the %zu entries)\n", load_took.count(),
                o.devices);
    return ok && full > 0;
}

}  // namespace lwgate::bench
