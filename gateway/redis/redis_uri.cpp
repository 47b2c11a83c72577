#include "redis/redis_uri.hpp"

#include <charconv>

namespace lwgate::redis {

namespace {

constexpr std::string_view kTcp = "redis://";
constexpr std::string_view kUnix = "redis+unix://";
constexpr int kMaxDb = 1 << 20;  // far above any databases setting; catches typos

Unexpected<Error> bad(std::string text) {
    return fail(Error{RedisErrc::bad_uri, std::move(text)});
}

Result<int, Error> parse_db(std::string_view text, std::string_view what) {
    int db = -1;
    const auto* end = text.data() + text.size();
    const auto [p, ec] = std::from_chars(text.data(), end, db);
    if (text.empty() || ec != std::errc() || p != end || db < 0 || db > kMaxDb) {
        return bad(std::string(what) + " must be a database number 0.." + std::to_string(kMaxDb) +
                   ", got '" + std::string(text) + "'");
    }
    return db;
}

Result<std::uint16_t, Error> parse_port(std::string_view text) {
    unsigned port = 0;
    const auto* end = text.data() + text.size();
    const auto [p, ec] = std::from_chars(text.data(), end, port);
    if (text.empty() || ec != std::errc() || p != end || port == 0 || port > 65535) {
        return bad("port must be 1..65535, got '" + std::string(text) + "'");
    }
    return static_cast<std::uint16_t>(port);
}

// "host", "host:port", "[v6]", "[v6]:port".
Result<void, Error> parse_authority(std::string_view text, RedisAddress& out) {
    if (text.find('@') != std::string_view::npos) {
        return bad("user or password in the URI is not supported (use a unix socket)");
    }
    std::string_view port;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos) return bad("missing ']' after the IPv6 address");
        out.host = std::string(text.substr(1, close - 1));
        const auto rest = text.substr(close + 1);
        if (!rest.empty() && rest.front() != ':') return bad("expected ':PORT' after ']'");
        if (!rest.empty()) port = rest.substr(1);
        if (rest == ":") return bad("empty port after ':'");
    } else {
        const auto colon = text.rfind(':');
        out.host = std::string(text.substr(0, colon));
        if (colon != std::string_view::npos) {
            if (text.find(':') != colon) return bad("an IPv6 address must be in brackets");
            port = text.substr(colon + 1);
            if (port.empty()) return bad("empty port after ':'");
        }
    }
    if (out.host.empty()) return bad("missing host (redis://HOST:PORT[/DB])");
    out.port = redis_default_port;
    if (!port.empty()) {
        auto parsed = parse_port(port);
        if (!parsed) return fail(std::move(parsed).error());
        out.port = *parsed;
    }
    return {};
}

Result<RedisAddress, Error> parse_tcp(std::string_view rest) {
    if (rest.find_first_of("?#") != std::string_view::npos) {
        return bad("redis:// takes no query or fragment (the database is the path: /DB)");
    }
    RedisAddress out;
    const auto slash = rest.find('/');
    if (auto a = parse_authority(rest.substr(0, slash), out); !a) return fail(std::move(a).error());
    if (slash != std::string_view::npos && slash + 1 < rest.size()) {
        auto db = parse_db(rest.substr(slash + 1), "the path");
        if (!db) return fail(std::move(db).error());
        out.db = *db;
    }
    return out;
}

Result<RedisAddress, Error> parse_unix(std::string_view rest) {
    RedisAddress out;
    const auto query = rest.find('?');
    const auto path = rest.substr(0, query);
    if (path.empty() || path.front() != '/') {
        return bad("expected an absolute socket path: redis+unix:///PATH (three slashes)");
    }
    if (path.back() == '/')
        return bad("the socket path names a directory: '" + std::string(path) + "'");
    out.unix_path = std::string(path);
    if (query != std::string_view::npos) {
        const auto q = rest.substr(query + 1);
        if (q.rfind("db=", 0) != 0) {
            return bad("the only query parameter is db=N, got '" + std::string(q) + "'");
        }
        auto db = parse_db(q.substr(3), "db=");
        if (!db) return fail(std::move(db).error());
        out.db = *db;
    }
    return out;
}

}  // namespace

std::string RedisAddress::describe() const {
    std::string out = is_unix() ? "unix:" + unix_path
                      : host.find(':') != std::string::npos
                          ? "[" + host + "]:" + std::to_string(port)
                          : host + ":" + std::to_string(port);
    if (db != 0) out += "/" + std::to_string(db);
    return out;
}

bool is_redis_uri(std::string_view uri) {
    return uri.rfind(kTcp, 0) == 0 || uri.rfind(kUnix, 0) == 0;
}

Result<RedisAddress, Error> parse_redis_uri(std::string_view uri) {
    if (uri.rfind(kTcp, 0) == 0) return parse_tcp(uri.substr(kTcp.size()));
    if (uri.rfind(kUnix, 0) == 0) return parse_unix(uri.substr(kUnix.size()));
    return bad("expected redis://HOST:PORT[/DB] or redis+unix:///PATH[?db=N], got '" +
               std::string(uri) + "'");
}

}  // namespace lwgate::redis
