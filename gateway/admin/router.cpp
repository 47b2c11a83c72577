#include "admin/router.hpp"

#include <optional>

namespace lwgate::admin {

namespace {

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// One side of a query pair, decoded as the cpp-httplib server did before, so lwgatectl's
// filters mean what they meant: '+' is a space (form encoding), a stray '%' stays as text.
std::string decode_query_component(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const int hi = text[i] == '%' && i + 2 < text.size() ? hex_digit(text[i + 1]) : -1;
        const int lo = hi >= 0 ? hex_digit(text[i + 2]) : -1;
        if (lo >= 0) {
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else {
            out += text[i] == '+' ? ' ' : text[i];
        }
    }
    return out;
}

Route only(std::string_view method, std::string_view wanted, Op op, std::string target = {}) {
    if (method == wanted) return {op, std::move(target), {}};
    return {Op::method_not_allowed, {}, std::string(wanted)};
}

// RFC 3986 percent-decoding of one path segment; nullopt for a malformed escape.
std::optional<std::string> percent_decode(std::string_view text) {
    const auto hex = hex_digit;
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        if (i + 2 >= text.size()) return std::nullopt;
        const int hi = hex(text[i + 1]);
        const int lo = hex(text[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
    }
    return out;
}

// The target segment, decoded: an endpoint name may hold '/' (sent as %2F), so the path is
// split before decoding.
Route targeted(std::string_view method, std::string_view wanted, Op op, std::string_view raw) {
    auto target = percent_decode(raw);
    if (!target || target->empty()) return {};
    return only(method, wanted, op, std::move(*target));
}

}  // namespace

Route route(std::string_view method, std::string_view path) {
    if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
    if (path == "/v1/health") return only(method, "GET", Op::health);
    if (path == "/metrics") return only(method, "GET", Op::metrics);
    if (path == "/v1/connections") return only(method, "GET", Op::connections);
    if (path == "/v1/drain") return only(method, "POST", Op::drain);
    if (path == "/v1/cluster") return only(method, "GET", Op::cluster);
    constexpr std::string_view prefix = "/v1/connections/";
    if (path.substr(0, prefix.size()) != prefix) return {};
    auto rest = path.substr(prefix.size());
    const auto slash = rest.find('/');
    if (slash == std::string_view::npos) {
        return targeted(method, "GET", Op::connection, rest);
    }
    const auto target = rest.substr(0, slash);
    const auto action = rest.substr(slash + 1);
    if (action == "ping") return targeted(method, "POST", Op::ping, target);
    if (action == "release") return targeted(method, "POST", Op::release, target);
    if (action == "close") return targeted(method, "POST", Op::close, target);
    return {};
}

std::multimap<std::string, std::string> parse_query(std::string_view query) {
    std::multimap<std::string, std::string> out;
    while (!query.empty()) {
        const auto amp = query.find('&');
        const auto pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        const auto eq = pair.find('=');
        const auto key = pair.substr(0, eq);
        if (key.empty()) continue;
        const auto value = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
        out.emplace(decode_query_component(key), decode_query_component(value));
    }
    return out;
}

}  // namespace lwgate::admin
