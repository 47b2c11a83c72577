#include "redis/redis_uri.hpp"

#include <charconv>

namespace lwgate::redis {

namespace {

constexpr std::string_view kTcp = "redis://";
constexpr std::string_view kUnix = "redis+unix://";
constexpr int kMaxDb = 1 << 20;  // far above any databases setting; catches typos
constexpr auto npos = std::string_view::npos;

Unexpected<Error> bad(std::string text) {
    return fail(Error{RedisErrc::bad_uri, std::move(text)});
}

// Errors quote a port or database only when it looks like a number: anything else there may be
// a password whose '@' was forgotten ("redis://user:secret").
std::string quoted_number(std::string_view text) {
    const bool number = text.size() <= 12 && text.find_first_not_of("+-0123456789") == npos;
    return number ? "'" + std::string(text) + "'" : std::string("something that is not a number");
}

Result<int, Error> parse_db(std::string_view text, std::string_view what) {
    int db = -1;
    const auto* end = text.data() + text.size();
    const auto [p, ec] = std::from_chars(text.data(), end, db);
    if (text.empty() || ec != std::errc() || p != end || db < 0 || db > kMaxDb) {
        return bad(std::string(what) + " must be a database number 0.." + std::to_string(kMaxDb) +
                   ", got " + quoted_number(text));
    }
    return db;
}

Result<std::uint16_t, Error> parse_port(std::string_view text) {
    unsigned port = 0;
    const auto* end = text.data() + text.size();
    const auto [p, ec] = std::from_chars(text.data(), end, port);
    if (text.empty() || ec != std::errc() || p != end || port == 0 || port > 65535) {
        return bad("port must be 1..65535, got " + quoted_number(text));
    }
    return static_cast<std::uint16_t>(port);
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// One part of the user information, percent-decoded. The escapes and the length are checked
// before anything is copied; errors name the part (`what`) and never quote it.
Result<std::string, Error> decode_credential(std::string_view raw, const std::string& what) {
    std::size_t length = 0;
    for (std::size_t i = 0; i < raw.size(); ++i, ++length) {
        if (raw[i] != '%') continue;
        if (i + 2 >= raw.size() || hex_digit(raw[i + 1]) < 0 || hex_digit(raw[i + 2]) < 0) {
            return bad("malformed %-escape in the " + what +
                       " (expected '%' and two hex digits; '%' itself is %25)");
        }
        i += 2;
    }
    if (length > redis_max_credential) {
        return bad("the " + what + " is longer than " + std::to_string(redis_max_credential) +
                   " bytes");
    }
    std::string out;
    out.reserve(length);
    for (std::size_t i = 0; i < raw.size(); ++i) {
        char c = raw[i];
        if (c == '%') {
            c = static_cast<char>(hex_digit(raw[i + 1]) * 16 + hex_digit(raw[i + 2]));
            i += 2;
        }
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f) return bad("the " + what + " holds a control character");
        out.push_back(c);
    }
    return out;
}

// "[USER]:PASSWORD", the part before '@'.
Result<void, Error> parse_userinfo(std::string_view info, RedisAddress& out) {
    const auto colon = info.find(':');
    const auto user_part = info.substr(0, colon);
    const auto password_part = colon == npos ? std::string_view() : info.substr(colon + 1);
    if (password_part.empty()) {
        // Without ':' the lone part may well be a password: never quoted.
        return bad(user_part.empty()
                       ? "no password before '@' (leave '[USER]:PASSWORD@' out for a Redis "
                         "without AUTH)"
                       : "a user name needs a password: [USER]:PASSWORD@ (a password alone: "
                         ":PASSWORD@)");
    }
    auto user = decode_credential(user_part, "user name");
    if (!user) return fail(std::move(user).error());
    auto password = decode_credential(password_part, "password");
    if (!password) return fail(std::move(password).error());
    out.username = std::move(user).value();
    out.password = std::move(password).value();
    return {};
}

// Where the user information of what follows "scheme://" ends (its '@'), or npos. redis://: the
// last '@', as no later part holds one (an unescaped '@' or '/' in a password still works).
// redis+unix: the '@' right before the path, which may hold '@' itself (/run/redis@a/r.sock).
std::size_t userinfo_end(std::string_view rest, bool unix) {
    if (rest.empty() || rest.front() == '/') return npos;
    return unix ? rest.find("@/") : rest.rfind('@');
}

// "host", "host:port", "[v6]", "[v6]:port".
Result<void, Error> parse_authority(std::string_view text, RedisAddress& out) {
    std::string_view port;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == npos) return bad("missing ']' after the IPv6 address");
        out.host = std::string(text.substr(1, close - 1));
        const auto rest = text.substr(close + 1);
        if (!rest.empty() && rest.front() != ':') return bad("expected ':PORT' after ']'");
        if (!rest.empty()) port = rest.substr(1);
        if (rest == ":") return bad("empty port after ':'");
    } else {
        const auto colon = text.rfind(':');
        out.host = std::string(text.substr(0, colon));
        if (colon != npos) {
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
    RedisAddress out;
    if (const auto at = userinfo_end(rest, false); at != npos) {
        if (auto u = parse_userinfo(rest.substr(0, at), out); !u) return fail(std::move(u).error());
        rest = rest.substr(at + 1);
    }
    if (rest.find_first_of("?#") != npos) {
        return bad("redis:// takes no query or fragment (the database is the path: /DB)");
    }
    const auto slash = rest.find('/');
    if (auto a = parse_authority(rest.substr(0, slash), out); !a) return fail(std::move(a).error());
    if (slash != npos && slash + 1 < rest.size()) {
        auto db = parse_db(rest.substr(slash + 1), "the path");
        if (!db) return fail(std::move(db).error());
        out.db = *db;
    }
    return out;
}

Result<RedisAddress, Error> parse_unix(std::string_view rest) {
    RedisAddress out;
    if (!rest.empty() && rest.front() != '/') {
        const auto at = userinfo_end(rest, true);
        if (at == npos) {
            return bad(
                "expected an absolute socket path: redis+unix:///PATH (three slashes) or "
                "redis+unix://[USER]:PASSWORD@/PATH");
        }
        if (auto u = parse_userinfo(rest.substr(0, at), out); !u) return fail(std::move(u).error());
        rest = rest.substr(at + 1);
    }
    const auto query = rest.find('?');
    const auto path = rest.substr(0, query);
    if (path.empty() || path.front() != '/') {
        return bad("expected an absolute socket path: redis+unix:///PATH (three slashes)");
    }
    if (path.back() == '/')
        return bad("the socket path names a directory: '" + std::string(path) + "'");
    out.unix_path = std::string(path);
    if (query != npos) {
        // Not quoted: a password put in the query (as some clients take it) must not be logged.
        const auto q = rest.substr(query + 1);
        if (q.rfind("db=", 0) != 0 || q.find('&') != npos) {
            return bad(
                "the only query parameter is db=N (a password goes before the path: "
                "redis+unix://[USER]:PASSWORD@/PATH)");
        }
        auto db = parse_db(q.substr(3), "db=");
        if (!db) return fail(std::move(db).error());
        out.db = *db;
    }
    return out;
}

}  // namespace

std::string RedisAddress::describe() const {
    std::string out = username.empty() ? std::string() : username + "@";
    out += is_unix()                             ? "unix:" + unix_path
           : host.find(':') != std::string::npos ? "[" + host + "]:" + std::to_string(port)
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
               redact_uri(uri) + "'");
}

std::string redact_uri(std::string_view uri) {
    const auto scheme = uri.find("://");
    if (scheme == npos) return std::string(uri);
    const auto start = scheme + 3;
    const auto rest = uri.substr(start);
    auto end = userinfo_end(rest, uri.rfind(kUnix, 0) == 0);
    if (end == npos) end = userinfo_end(rest, false);  // not a valid redis+unix: hide the most
    if (end == npos) return std::string(uri);
    const auto colon = rest.substr(0, end).find(':');
    const std::string shown = colon == npos ? "***" : std::string(rest.substr(0, colon)) + ":***";
    return std::string(uri.substr(0, start)) + shown + std::string(rest.substr(end));
}

}  // namespace lwgate::redis
