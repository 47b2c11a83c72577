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

constexpr RouteSpec route_table[] = {
    {"GET", "/v1/health", Op::health},
    {"GET", "/metrics", Op::metrics},
    {"GET", "/v1/connections", Op::connections},
    {"GET", "/v1/connections/{target}", Op::connection},
    {"POST", "/v1/connections/{target}/ping", Op::ping},
    {"POST", "/v1/connections/{target}/release", Op::release},
    {"POST", "/v1/connections/{target}/close", Op::close},
    {"POST", "/v1/drain", Op::drain},
    {"POST", "/v1/reload", Op::reload},
    {"GET", "/v1/credentials", Op::credentials},
    {"POST", "/v1/credentials", Op::credential_put},
    {"POST", "/v1/credentials/import", Op::credential_import},
    {"GET", "/v1/credentials/{target}", Op::credential},
    {"DELETE", "/v1/credentials/{target}", Op::credential_remove},
    {"POST", "/v1/credentials/{target}/rotate", Op::credential_rotate},
    {"POST", "/v1/credentials/{target}/retire", Op::credential_retire},
    {"GET", "/v1/cluster", Op::cluster},
    {"GET", "/v1/openapi.json", Op::openapi},
    {"GET", "/", Op::status_page},
};

// The next '/'-separated segment of `path` (which is consumed up to and including the '/').
std::string_view next_segment(std::string_view& path) {
    const auto slash = path.find('/');
    const auto segment = path.substr(0, slash);
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
    return segment;
}

// The path split before decoding, so that an endpoint name may hold '/' (sent as %2F). nullopt:
// no match; otherwise the decoded "{target}" segment, or "" for a path without one.
std::optional<std::string> match(std::string_view pattern, std::string_view path) {
    std::string target;
    bool more = true;
    while (more) {
        more = pattern.find('/') != std::string_view::npos;
        if (more != (path.find('/') != std::string_view::npos)) return std::nullopt;
        const auto want = next_segment(pattern);
        const auto got = next_segment(path);
        if (want == "{target}") {
            auto decoded = percent_decode(got);
            if (!decoded || decoded->empty()) return std::nullopt;
            target = std::move(*decoded);
        } else if (want != got) {
            return std::nullopt;
        }
    }
    return target;
}

}  // namespace

bool needs_token(Op op) {
    return op != Op::status_page;
}

std::span<const RouteSpec> routes() {
    return route_table;
}

// A linear scan of a dozen routes: cheaper than any index at this size, and the table stays the
// one place a route is written.
Route route(std::string_view method, std::string_view path) {
    if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
    std::string allow;
    for (const auto& spec : route_table) {
        auto target = match(spec.path, path);
        if (!target) continue;
        if (spec.method == method) return {spec.op, std::move(*target), {}};
        if (allow.find(spec.method) == std::string::npos)
            allow += (allow.empty() ? "" : ", ") + std::string(spec.method);
    }
    if (!allow.empty()) return {Op::method_not_allowed, {}, std::move(allow)};
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
