// store.uri, admin.listen and admin.tls: values with a form or rules of their own.
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
    const auto off = [&a] {
        a.listen = "off";
        a.host.clear();
        a.port = 0;
        a.enabled = false;
    };
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

// certificate and private_key, each read by its kind into AdminConfig, judged on what was written
// (as the listeners' tls is) so that a file that is missing is one error, not two.
void read_admin_tls(Reader& r, const Item& it, Config& cfg) {
    bool certificate = false;
    bool private_key = false;
    const bool is_map = r.walk(it, [&](const KeySpec& key, const Item& v) {
        r.read_key(key, v, cfg);
        const bool given = v.node.IsScalar() && !v.node.Scalar().empty();
        (leaf_name(key.path) == "certificate" ? certificate : private_key) = given;
    });
    if (!is_map) return;
    check_certificate_pair(r, it, certificate, private_key);
    r.admin_tls = certificate && private_key;
}

}  // namespace lwgate::config
