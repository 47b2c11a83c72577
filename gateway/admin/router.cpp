#include "admin/router.hpp"

#include <optional>

namespace lwgate::admin {

namespace {

Route only(std::string_view method, std::string_view wanted, Op op, std::string target = {}) {
    if (method == wanted) return {op, std::move(target), {}};
    return {Op::method_not_allowed, {}, std::string(wanted)};
}

// RFC 3986 percent-decoding of one path segment; nullopt for a malformed escape.
std::optional<std::string> percent_decode(std::string_view text) {
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
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

}  // namespace lwgate::admin
