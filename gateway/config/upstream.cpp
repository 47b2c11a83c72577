// upstream: the LwM2M server (and bootstrap server) lwgate relays to over UDP or DTLS, the
// gateway's own DTLS identity, and the local side of the per-device sockets.
#include <arpa/inet.h>

#include <cstdio>

#include "config/key_readers.hpp"

namespace lwgate::config {

namespace {

// The endpoint of an upstream URI, or nullopt after reporting why not.
std::optional<Endpoint> upstream_endpoint(Reader& r, const Item& it) {
    auto s = r.scalar(it, "a URI like coap://127.0.0.1:5683");
    if (!s) return std::nullopt;
    auto parsed = parse_endpoint_uri(*s);
    if (!parsed) {
        r.error(it.path, it.line, std::move(parsed).error().detail);
        return std::nullopt;
    }
    Endpoint& ep = *parsed;
    if (ep.scheme != Scheme::coap && ep.scheme != Scheme::coaps) {
        r.error(
            it.path, it.line,
            "the LwM2M server is reached over UDP: expected coap:// or coaps://, got '" + *s + "'");
        return std::nullopt;
    }
    if (ep.port == 0) {
        r.error(it.path, it.line, "port 0 is not a server port: '" + *s + "'");
        return std::nullopt;
    }
    return ep;
}

}  // namespace

void read_upstream_uri(Reader& r, const Item& it, Config& cfg) {
    if (auto ep = upstream_endpoint(r, it)) {
        cfg.upstream.uri = ep->text;
        cfg.upstream.endpoint = *ep;
    }
}

void read_bootstrap_uri(Reader& r, const Item& it, Config& cfg) {
    auto& up = cfg.upstream;
    if (it.node.IsNull() || (it.node.IsScalar() && it.node.Scalar().empty())) {
        up.bootstrap_uri.clear();
        up.bootstrap.reset();
        return;
    }
    if (auto ep = upstream_endpoint(r, it)) {
        up.bootstrap_uri = ep->text;
        up.bootstrap = *ep;
    }
}

// The gateway's own DTLS identity toward the core, for devices without a credentials entry:
// a PSK or a certificate, each complete, not both.
void read_upstream_dtls(Reader& r, const Item& it, Config& cfg) {
    r.walk_section(it, cfg);
    const auto& up = cfg.upstream;
    const bool identity = r.has(join(it.path, "psk_identity"));
    const bool key = r.has(join(it.path, "psk_key_hex"));
    if (identity != key) {
        r.error(join(it.path, identity ? "psk_key_hex" : "psk_identity"), it.line,
                "missing: psk_identity and psk_key_hex go together");
    }
    if (up.gateway_certificate.empty() != up.gateway_private_key.empty()) {
        r.error(join(it.path, up.gateway_certificate.empty() ? "certificate" : "private_key"),
                it.line, "missing: certificate and private_key go together");
    }
    if (identity && !up.gateway_certificate.empty()) {
        r.error(it.path, it.line, "choose one gateway identity: a PSK or a certificate, not both");
    }
}

void read_gateway_psk_identity(Reader& r, const Item& it, Config& cfg) {
    auto s = r.scalar(it, "a PSK identity");
    if (!s) return;
    if (s->empty()) r.error(it.path, it.line, "must not be empty");
    cfg.upstream.gateway_psk_identity = *s;
}

void read_gateway_psk_key(Reader& r, const Item& it, Config& cfg) {
    r.hex_key(it, cfg.upstream.gateway_psk_key);
}

namespace {

// One bind address, added to `known` unless it is bad, repeated, or of the other IP version
// than those before it (the core is reached over one of them).
void read_bind_address(Reader& r, const Item& a, std::vector<std::string>& known) {
    auto text = r.scalar(a, "an IPv4 or IPv6 address");
    if (!text) return;
    unsigned char buf[sizeof(in6_addr)];
    const bool v4 = inet_pton(AF_INET, text->c_str(), buf) == 1;
    if (!v4 && inet_pton(AF_INET6, text->c_str(), buf) != 1) {
        r.error(a.path, a.line, "expected an IPv4 or IPv6 address, got '" + *text + "'");
        return;
    }
    for (const auto& other : known) {
        if (other == *text) {
            r.error(a.path, a.line, "'" + *text + "' is listed twice");
            return;
        }
        if ((inet_pton(AF_INET, other.c_str(), buf) == 1) != v4) {
            r.error(a.path, a.line, "mixes IPv4 and IPv6: the core is reached over one of them");
            return;
        }
    }
    known.push_back(*text);
}

}  // namespace

// One address, or a list: each address adds the whole port range, so a list lifts the 64k
// devices per address limit (one UDP port per device).
void read_bind_addresses(Reader& r, const Item& it, Config& cfg) {
    auto& addresses = cfg.upstream.bind_addresses;
    addresses.clear();
    if (!it.node.IsSequence()) {
        read_bind_address(r, it, addresses);
        return;
    }
    if (it.node.size() == 0) {
        r.error(it.path, it.line, "expected at least one address");
        return;
    }
    std::size_t i = 0;
    for (auto el = it.node.begin(); el != it.node.end(); ++el, ++i) {
        const int el_line = line_of(*el);
        read_bind_address(r, Item{indexed(it.path, i), *el, el_line > 0 ? el_line : it.line},
                          addresses);
    }
}

// "40000-49999", or one port.
void read_bind_ports(Reader& r, const Item& it, Config& cfg) {
    auto text = r.scalar(it, "a port range like 40000-49999");
    if (!text) return;
    unsigned long first = 0, last = 0;
    char dash = 0, extra = 0;
    const int n = std::sscanf(text->c_str(), "%lu%c%lu%c", &first, &dash, &last, &extra);
    if (n == 1) last = first;
    if (!((n == 1) || (n == 3 && dash == '-')) || first == 0 || last > 65535 || first > last) {
        r.error(it.path, it.line,
                "expected a port range like 40000-49999 (1-65535), got '" + *text + "'");
        return;
    }
    cfg.upstream.bind_port_first = static_cast<std::uint16_t>(first);
    cfg.upstream.bind_port_last = static_cast<std::uint16_t>(last);
}

}  // namespace lwgate::config
