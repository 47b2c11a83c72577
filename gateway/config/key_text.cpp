// Values as text: for the reload log (what changed, from what to what) and for the defaults the
// table states (what conf/gateway.yaml must agree with).
#include "config/key_text.hpp"

#include <type_traits>

#include "config/keys.hpp"

namespace lwgate::config {

std::string rate_text(double per_second, unsigned burst) {
    std::string out = std::to_string(per_second);
    out.erase(out.find_last_not_of('0') + 1);
    if (!out.empty() && out.back() == '.') out.pop_back();
    out += "/s";
    if (burst) out += " burst " + std::to_string(burst);
    return out;
}

std::string accept_rate_text(const Config& c) {
    return rate_text(c.connections.accept_rate.per_second, c.connections.accept_rate.burst);
}

std::string registration_rate_text(const Config& c) {
    const auto& r = c.registration.rate_per_address;
    return rate_text(r.per_second, r.burst);
}

namespace {

std::string flag(bool b) {
    return b ? "true" : "false";
}

std::string listener_text(const ListenerConfig& l) {
    std::string out = l.endpoint.text;
    if (l.tls) {
        const auto& t = *l.tls;
        out += " tls(cert=" + t.certificate + " key=" + t.private_key + " ca=" + t.ca +
               " require_client_certificate=" + flag(t.require_client_certificate) +
               " psk=" + flag(t.psk) + " hint=" + t.psk_identity_hint +
               " handshake_timeout=" + format_duration(t.handshake_timeout) + ")";
    }
    if (!l.allow_plain_registration) out += " allow_plain_registration=false";
    if (l.reuse_port) out += " reuse_port=true";
    if (l.proxy_protocol) out += " proxy_protocol=true";
    return out;
}

}  // namespace

std::string listeners_text(const Config& c) {
    std::string out;
    for (const auto& l : c.listeners)
        out += (out.empty() ? "" : ", ") + listener_text(l);
    return out;
}

std::string bind_text(const Config& c) {
    const auto& up = c.upstream;
    std::string out;
    for (const auto& a : up.bind_addresses)
        out += (out.empty() ? "" : ",") + a;
    return out + ":" + std::to_string(up.bind_port_first) + "-" + std::to_string(up.bind_port_last);
}

std::string gateway_identity_text(const Config& c) {
    const auto& up = c.upstream;
    std::string key;
    for (auto byte : up.gateway_psk_key)
        key += std::to_string(byte) + ",";
    return up.gateway_psk_identity + "|" + key + "|" + up.gateway_certificate + "|" +
           up.gateway_private_key + "|" + up.gateway_ca;
}

namespace {

// `empty` is how an empty string shows: "\"\"" in the reload log, "none" as a default.
std::string value_text(const ConstValueRef& value, const char* empty) {
    return std::visit(
        [empty](const auto* v) -> std::string {
            using T = std::remove_cvref_t<decltype(*v)>;
            if constexpr (std::is_same_v<T, bool>) {
                return flag(*v);
            } else if constexpr (std::is_same_v<T, double>) {
                return rate_text(*v);
            } else if constexpr (std::is_same_v<T, Duration>) {
                return format_duration(*v);
            } else if constexpr (std::is_same_v<T, std::string>) {
                return v->empty() ? std::string(empty) : *v;
            } else if constexpr (std::is_enum_v<T>) {
                return to_string(*v);
            } else {
                return std::to_string(*v);
            }
        },
        value);
}

}  // namespace

std::string reload_text(const KeySpec& key, const Config& config) {
    if (key.text) return key.text(config);
    if (!key.access) return {};
    return value_text(key.access.cref(config), "\"\"");
}

std::string default_text(const KeySpec& key) {
    static const Config defaults{};
    if (!key.default_text.empty()) return std::string(key.default_text);
    if (!key.access) return "none";
    return value_text(key.access.cref(defaults), "none");
}

}  // namespace lwgate::config
