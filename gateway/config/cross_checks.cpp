// Rules across keys, judged once the whole document is read, and the defaults that depend on more
// than Config{} (the default listener, the host name as cluster.instance).
#include <unistd.h>

#include <array>
#include <optional>
#include <string>

#include "config/reader.hpp"
#include "config/uri.hpp"
#include "redis/redis_uri.hpp"

namespace lwgate::config {

namespace {

void listeners_differ(Reader& r, const Config& cfg) {
    for (std::size_t j = 0; j < cfg.listeners.size(); ++j) {
        const auto& b = cfg.listeners[j].endpoint;
        if (b.host.empty() || b.port == 0) continue;
        for (std::size_t i = 0; i < j; ++i) {
            const auto& a = cfg.listeners[i].endpoint;
            if (a.host == b.host && a.port == b.port) {
                const std::string path = indexed("listeners", j) + ".uri";
                r.error(path, r.line(path),
                        "same address as " + indexed("listeners", i) + " (line " +
                            std::to_string(cfg.listeners[i].line) + ")");
                break;
            }
        }
    }
}

void hold_off_in_order(Reader& r, const Config& cfg) {
    const auto& sd = cfg.shutdown;
    if (sd.hold_off_min <= sd.hold_off_max) return;
    const std::string path =
        r.line("shutdown.hold_off_min") ? "shutdown.hold_off_min" : "shutdown.hold_off_max";
    r.error(path, r.line(path),
            "hold_off_min (" + format_duration(sd.hold_off_min) +
                ") is greater than hold_off_max (" + format_duration(sd.hold_off_max) + ")");
}

// Beyond loopback the API needs a token (or anyone who reaches it controls the gateway) and TLS
// (or the token crosses the network in clear). nullopt when neither is missing.
std::optional<std::string> unsafe_admin(const std::string& host, bool token, bool tls) {
    if (token && tls) return std::nullopt;
    static constexpr const char* kNoToken =
        "set admin.token (else anyone who can reach it controls the gateway)";
    static constexpr const char* kNoTls =
        "configure admin.tls with certificate and private_key (else the token travels in clear)";
    std::string out = "'" + host + "' is not a loopback address: ";
    if (!token) out += kNoToken;
    if (!token && !tls) out += " and ";
    if (!tls) out += kNoTls;
    return out + ", or bind admin.listen to loopback (127.0.0.1 or [::1])";
}

void admin_is_safe(Reader& r, const Config& cfg) {
    const auto& admin = cfg.admin;
    if (!admin.enabled) return;
    if (!is_loopback(admin.host)) {
        // r.admin_tls, not admin.tls(): a file that was not found is already an error of its own.
        if (auto why = unsafe_admin(admin.host, !admin.token.empty(), r.admin_tls))
            r.error("admin.listen", r.line("admin.listen"), std::move(*why));
    }
    if (admin.port == 0) return;
    for (std::size_t i = 0; i < cfg.listeners.size(); ++i) {
        const auto& ep = cfg.listeners[i].endpoint;
        if (ep.host == admin.host && ep.port == admin.port) {
            r.error("admin.listen", r.line("admin.listen"),
                    "same address as " + indexed("listeners", i));
        }
    }
}

std::string host_name() {
    std::array<char, 256> name{};  // HOST_NAME_MAX is 64 on Linux; longer ones are cut
    if (gethostname(name.data(), name.size() - 1) != 0) return {};
    return name.data();
}

// A given name was checked when it was read. The host name is checked by the same rule; one
// that cannot name the instance only matters where the name is used, with a Redis store.
void instance_has_a_name(Reader& r, Config& cfg) {
    auto& instance = cfg.cluster.instance;
    if (!instance.empty()) return;
    instance = host_name();
    const KeySpec* key = find_key("cluster.instance");
    const char* why = instance.empty() ? "is unknown" : key->check(cfg);
    if (why == nullptr) return;
    if (redis::is_redis_uri(cfg.store.uri)) {
        r.error("cluster.instance", r.line("cluster.instance"),
                "the host name ('" + instance + "') cannot name this instance: it " + why +
                    "; set cluster.instance");
    }
    instance.clear();
}

}  // namespace

void cross_checks(Reader& r, Config& cfg) {
    if (cfg.listeners.empty()) cfg.listeners.push_back(default_listener());
    listeners_differ(r, cfg);
    hold_off_in_order(r, cfg);
    admin_is_safe(r, cfg);
    instance_has_a_name(r, cfg);
}

}  // namespace lwgate::config
