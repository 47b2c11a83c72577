// listeners: where devices connect, each with its URI and, for coaps+tcp, its TLS settings.
// The keys of a listener are read into a ListenerConfig, not into Config, so they are bound
// here by name; their names, kinds and defaults are in the key table.
#include "config/key_readers.hpp"

namespace lwgate::config {

namespace {

// What the tls block wrote, judged on what was written rather than on what loaded, so that a
// missing file is one error and not two.
struct TlsSeen {
    bool is_map = false;
    bool certificate = false;
    bool private_key = false;
    bool ca = false;
    bool psk_bad = false;  // psk: was written but is not a boolean
};

bool written(const Item& v) {
    return v.node.IsScalar() && !v.node.Scalar().empty();
}

void read_tls_key(Reader& r, const KeySpec& key, const Item& v, TlsConfig& t, TlsSeen& seen) {
    const auto name = leaf_name(key.path);
    if (name == "certificate") {
        seen.certificate = written(v);
        r.existing_file(v, t.certificate);
    } else if (name == "private_key") {
        seen.private_key = written(v);
        r.existing_file(v, t.private_key);
    } else if (name == "ca") {
        seen.ca = written(v);
        r.existing_file(v, t.ca);
    } else if (name == "require_client_certificate") {
        r.boolean(v, t.require_client_certificate);
    } else if (name == "psk") {
        seen.psk_bad = !r.boolean(v, t.psk);
    } else if (name == "psk_identity_hint") {
        r.optional_string(v, t.psk_identity_hint);
    } else if (name == "handshake_timeout") {
        r.duration(v, t.handshake_timeout, key.min > 0, kMaxDuration);
    }
}

TlsSeen read_tls(Reader& r, const Item& it, TlsConfig& t) {
    TlsSeen seen;
    seen.is_map =
        r.walk(it, [&](const KeySpec& key, const Item& v) { read_tls_key(r, key, v, t, seen); });
    if (!seen.is_map) return seen;
    check_certificate_pair(r, it, seen.certificate, seen.private_key);
    const std::string require_path = join(it.path, "require_client_certificate");
    if (t.require_client_certificate && !seen.ca) {
        r.error(require_path, r.line(require_path),
                "needs tls.ca to verify client certificates against");
    }
    const std::string ca_path = join(it.path, "ca");
    if (seen.ca && !seen.certificate) {
        r.error(ca_path, r.line(ca_path),
                "client certificates are only requested in certificate handshakes: ca needs "
                "certificate and private_key");
    }
    return seen;
}

// The endpoint of a listener's uri, or nullopt after reporting why not.
std::optional<Endpoint> listener_uri(Reader& r, const Item& v) {
    auto s = r.scalar(v, "a URI like coap+tcp://127.0.0.1:5683");
    if (!s) return std::nullopt;
    auto parsed = parse_endpoint_uri(*s);
    if (!parsed) {
        r.error(v.path, v.line, std::move(parsed).error().detail);
        return std::nullopt;
    }
    Endpoint& ep = *parsed;
    if (ep.scheme != Scheme::coap_tcp && ep.scheme != Scheme::coaps_tcp) {
        r.error(v.path, v.line, "a listener must be coap+tcp:// or coaps+tcp://, got '" + *s + "'");
        return std::nullopt;
    }
    return ep;
}

// A listener's keys as written, before they are judged together.
struct ListenerSeen {
    bool have_uri = false;
    bool uri_ok = false;
    std::optional<Item> tls_item;
    TlsConfig tls;
    TlsSeen tls_seen;
};

// tls is required for coaps+tcp, with something to authenticate with, and forbidden for
// coap+tcp.
void check_tls(Reader& r, const Item& it, ListenerConfig& l, const ListenerSeen& seen) {
    if (l.endpoint.scheme != Scheme::coaps_tcp) {
        if (seen.tls_item) {
            r.error(seen.tls_item->path, seen.tls_item->line,
                    "tls is only for coaps+tcp:// listeners (this one is coap+tcp://)");
        }
        return;
    }
    if (!seen.tls_item) {
        r.error(join(it.path, "tls"), it.line,
                "missing: a coaps+tcp listener needs tls with certificate and private_key, "
                "or psk: true");
    } else if (seen.tls_seen.is_map && !seen.tls_seen.certificate && !seen.tls_seen.private_key &&
               !seen.tls.psk && !seen.tls_seen.psk_bad) {
        r.error(seen.tls_item->path, seen.tls_item->line,
                "needs certificate and private_key, or psk: true");
    }
    if (seen.tls.psk) {
        const std::string psk_path = join(seen.tls_item->path, "psk");
        r.psk_listeners.emplace_back(psk_path, r.line(psk_path));
    }
    l.tls = seen.tls;
}

void read_listener(Reader& r, const Item& it, Config& cfg) {
    if (!it.node.IsMap()) {
        r.error(it.path, it.line,
                "expected a map with keys " + child_names("listeners[]") + ", got " +
                    describe(it.node));
        return;
    }
    ListenerConfig l;
    l.line = it.line;
    ListenerSeen seen;
    r.walk(it, [&](const KeySpec& key, const Item& v) {
        const auto name = leaf_name(key.path);
        if (name == "uri") {
            seen.have_uri = true;
            if (auto ep = listener_uri(r, v)) {
                l.endpoint = *ep;
                seen.uri_ok = true;
            }
        } else if (name == "tls") {
            seen.tls_item = v;
            seen.tls_seen = read_tls(r, v, seen.tls);
        } else if (name == "allow_plain_registration") {
            r.boolean(v, l.allow_plain_registration);
        } else if (name == "reuse_port") {
            r.boolean(v, l.reuse_port);
        } else if (name == "proxy_protocol") {
            r.boolean(v, l.proxy_protocol);
        }
    });
    if (!seen.have_uri)
        r.error(join(it.path, "uri"), it.line, "missing (every listener needs a uri)");
    if (seen.uri_ok) check_tls(r, it, l, seen);
    cfg.listeners.push_back(std::move(l));
}

}  // namespace

void check_certificate_pair(Reader& r, const Item& tls, bool certificate, bool private_key) {
    if (certificate && !private_key) {
        r.error(join(tls.path, "private_key"), tls.line,
                "missing: certificate needs its private_key");
    } else if (private_key && !certificate) {
        r.error(join(tls.path, "certificate"), tls.line,
                "missing: private_key needs its certificate");
    }
}

void read_listeners(Reader& r, const Item& it, Config& cfg) {
    if (it.node.IsNull()) return;
    if (!it.node.IsSequence()) {
        r.error(it.path, it.line, "expected a list of listeners, got " + describe(it.node));
        return;
    }
    std::size_t i = 0;
    for (auto el = it.node.begin(); el != it.node.end(); ++el, ++i) {
        const int el_line = line_of(*el);
        read_listener(r, Item{indexed(it.path, i), *el, el_line > 0 ? el_line : it.line}, cfg);
    }
}

}  // namespace lwgate::config
