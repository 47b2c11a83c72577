// store.uri and admin.listen: values with a form of their own.
#include "config/key_readers.hpp"
#include "config/uri.hpp"
#include "redis/redis_uri.hpp"

namespace lwgate::config {

void read_store_uri(Reader& r, const Item& it, Config& cfg) {
    auto s = r.scalar(it, "memory:, sqlite:///path, redis://host:port or redis+unix:///path");
    if (!s) return;
    if (redis::is_redis_uri(*s)) {
        // The scheme says Redis: report what is wrong with it, not the list of schemes.
        if (auto parsed = redis::parse_redis_uri(*s); parsed) {
            cfg.store.uri = *s;
        } else {
            r.error(it.path, it.line, parsed.error().detail);
        }
        return;
    }
    constexpr std::string_view kSqlite = "sqlite://";
    const bool sqlite =
        s->rfind(kSqlite, 0) == 0 && s->size() > kSqlite.size() + 1 && (*s)[kSqlite.size()] == '/';
    if (*s == "memory:" || *s == "memory") {
        cfg.store.uri = "memory:";  // `uri: memory:` unquoted is bad YAML: take `memory` too
    } else if (sqlite) {
        cfg.store.uri = *s;
    } else {
        r.error(it.path, it.line,
                "expected memory:, sqlite:///absolute/path.db, redis://HOST:PORT[/DB] or "
                "redis+unix:///PATH[?db=N], got '" +
                    redis::redact_uri(*s) + "'");  // a mistyped scheme may carry a password
    }
}

// host:port, [v6]:port, or off (an empty value too) to disable the admin API.
void read_admin_listen(Reader& r, const Item& it, Config& cfg) {
    auto& a = cfg.admin;
    const auto off = [&a] { a = AdminConfig{"off", a.token, "", 0, false}; };
    if (it.node.IsNull()) return off();
    auto s = r.scalar(it, "host:port or off");
    if (!s) return;
    if (s->empty() || *s == "off") return off();
    auto parsed = parse_authority(*s);
    if (!parsed) {
        r.error(it.path, it.line, std::move(parsed).error().detail);
        return;
    }
    const HostPort& hp = *parsed;
    if (!hp.port) {
        r.error(it.path, it.line, "expected host:port, got '" + *s + "'");
        return;
    }
    a.listen = *s;
    a.host = hp.host;
    a.port = *hp.port;
}

}  // namespace lwgate::config
