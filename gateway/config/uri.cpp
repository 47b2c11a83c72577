// Hosts, authorities and endpoint URIs (see uri.hpp); parse_endpoint_uri is public
// (config_loader.hpp) because the tools parse URIs the way the configuration does.
#include "config/uri.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "config/config_loader.hpp"

namespace lwgate::config {

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

bool valid_ipv4(const std::string& host) {
    in_addr addr{};
    return inet_pton(AF_INET, host.c_str(), &addr) == 1;
}

bool valid_ipv6(const std::string& host) {
    in6_addr addr{};
    return inet_pton(AF_INET6, host.c_str(), &addr) == 1;
}

namespace {

Unexpected<Error> bad_host(std::string detail) {
    return fail(Error{ConfigErrc::bad_host, std::move(detail)});
}

Unexpected<Error> bad_port(std::string detail) {
    return fail(Error{ConfigErrc::bad_port, std::move(detail)});
}

}  // namespace

// Labels of letters, digits and '-', 1..63 characters each, not starting or ending with '-';
// 253 characters at most.
Result<void, Error> check_hostname(const std::string& host) {
    if (host.size() > 253) return bad_host("host name longer than 253 characters");
    bool numeric = true;
    std::size_t start = 0;
    while (true) {
        const std::size_t dot = host.find('.', start);
        const std::string_view label = std::string_view(host).substr(
            start, dot == std::string::npos ? host.npos : dot - start);
        if (label.empty() || label.size() > 63) {
            return bad_host("not a valid host name: '" + host + "'");
        }
        if (label.front() == '-' || label.back() == '-') {
            return bad_host("not a valid host name: '" + host + "'");
        }
        for (char c : label) {
            const bool alnum = is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
            if (!alnum && c != '-') return bad_host("not a valid host name: '" + host + "'");
            if (!is_digit(c)) numeric = false;
        }
        if (dot == std::string::npos) break;
        start = dot + 1;
    }
    if (numeric) return bad_host("not a valid IPv4 address: '" + host + "'");
    return {};
}

namespace {

// "[v6]" or "[v6]:port": the host into `out`, the port text into `port_text`.
Result<void, Error> bracketed_host(std::string_view text, HostPort& out,
                                   std::optional<std::string_view>& port_text) {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return bad_host("missing ']' after IPv6 address");
    out.host = std::string(text.substr(1, close - 1));
    if (!valid_ipv6(out.host)) return bad_host("not a valid IPv6 address: '" + out.host + "'");
    const auto rest = text.substr(close + 1);
    if (!rest.empty()) {
        if (rest.front() != ':') {
            return bad_host("unexpected '" + std::string(rest) + "' after ']'");
        }
        port_text = rest.substr(1);
    }
    return {};
}

// "host" or "host:port" with an IPv4 address or a name.
Result<void, Error> plain_host(std::string_view text, HostPort& out,
                               std::optional<std::string_view>& port_text) {
    const auto colon = text.rfind(':');
    if (colon != std::string_view::npos) {
        if (text.substr(0, colon).find(':') != std::string_view::npos) {
            return bad_host("an IPv6 address must be written in brackets, e.g. [::1]:5683");
        }
        port_text = text.substr(colon + 1);
        text = text.substr(0, colon);
    }
    out.host = std::string(text);
    if (out.host.empty()) return bad_host("missing host");
    const bool looks_ipv4 = std::all_of(out.host.begin(), out.host.end(),
                                        [](char c) { return is_digit(c) || c == '.'; });
    if (looks_ipv4) {
        if (!valid_ipv4(out.host)) return bad_host("not a valid IPv4 address: '" + out.host + "'");
        return {};
    }
    return check_hostname(out.host);
}

Result<std::uint16_t, Error> parse_port(std::string_view text) {
    if (text.empty()) return bad_port("missing port after ':'");
    if (text.size() > 5 || !std::all_of(text.begin(), text.end(), is_digit)) {
        return bad_port("not a valid port: '" + std::string(text) + "'");
    }
    const unsigned long value = std::stoul(std::string(text));
    if (value > 65535) return bad_port("port out of range (0-65535): " + std::string(text));
    return static_cast<std::uint16_t>(value);
}

}  // namespace

Result<HostPort, Error> parse_authority(std::string_view text) {
    if (text.empty()) return bad_host("missing host");
    HostPort out;
    std::optional<std::string_view> port_text;
    auto host = text.front() == '[' ? bracketed_host(text, out, port_text)
                                    : plain_host(text, out, port_text);
    if (!host) return fail(std::move(host).error());
    if (port_text) {
        auto port = parse_port(*port_text);
        if (!port) return fail(std::move(port).error());
        out.port = *port;
    }
    return out;
}

bool is_loopback(const std::string& host) {
    if (iequals(host, "localhost")) return true;
    in_addr v4{};
    if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
        return (ntohl(v4.s_addr) >> 24) == 127;
    }
    in6_addr v6{};
    if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
        static constexpr std::array<std::uint8_t, 16> kLoopback{0, 0, 0, 0, 0, 0, 0, 0,
                                                                0, 0, 0, 0, 0, 0, 0, 1};
        if (std::memcmp(v6.s6_addr, kLoopback.data(), 16) == 0) return true;
        static constexpr std::array<std::uint8_t, 12> kMapped{0, 0, 0, 0, 0,    0,
                                                              0, 0, 0, 0, 0xff, 0xff};
        return std::memcmp(v6.s6_addr, kMapped.data(), 12) == 0 && v6.s6_addr[12] == 127;
    }
    return false;
}

namespace {

// The scheme part of a URI and the port it implies; nullopt when not one of the four.
std::optional<std::pair<Scheme, std::uint16_t>> parse_scheme(std::string_view text) {
    if (iequals(text, "coap+tcp")) return std::pair{Scheme::coap_tcp, std::uint16_t{5683}};
    if (iequals(text, "coaps+tcp")) return std::pair{Scheme::coaps_tcp, std::uint16_t{5684}};
    if (iequals(text, "coap")) return std::pair{Scheme::coap, std::uint16_t{5683}};
    if (iequals(text, "coaps")) return std::pair{Scheme::coaps, std::uint16_t{5684}};
    return std::nullopt;
}

Unexpected<Error> bad_uri(std::string detail) {
    return fail(Error{ConfigErrc::bad_uri, std::move(detail)});
}

}  // namespace

Result<Endpoint, Error> parse_endpoint_uri(std::string_view uri) {
    const auto sep = uri.find("://");
    if (sep == std::string_view::npos) {
        return bad_uri("not a URI: '" + std::string(uri) +
                       "' (expected e.g. coap+tcp://127.0.0.1:5683)");
    }
    const auto scheme_text = uri.substr(0, sep);
    const auto scheme = parse_scheme(scheme_text);
    if (!scheme) {
        return bad_uri("unsupported scheme '" + std::string(scheme_text) +
                       "' (expected coap+tcp, coaps+tcp, coap or coaps)");
    }
    auto rest = uri.substr(sep + 3);
    const auto end = rest.find_first_of("/?#");
    auto authority = rest.substr(0, end);
    if (end != std::string_view::npos && rest.substr(end) != "/") {
        return bad_uri("a path, query or fragment is not allowed: '" + std::string(uri) + "'");
    }
    if (authority.find('@') != std::string_view::npos) {
        return bad_uri("user info is not allowed: '" + std::string(uri) + "'");
    }
    auto parsed = parse_authority(authority);
    if (!parsed) return fail(std::move(parsed).error());
    Endpoint ep;
    ep.scheme = scheme->first;
    ep.host = std::move(parsed->host);
    ep.port = parsed->port.value_or(scheme->second);
    ep.text = std::string(uri);
    return ep;
}

}  // namespace lwgate::config
