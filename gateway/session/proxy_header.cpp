#include "session/proxy_header.hpp"

#include <algorithm>
#include <optional>
#include <string_view>
#include <vector>

namespace lwgate::session {

namespace {

class ProxyCategory final : public std::error_category {
  public:
    const char* name() const noexcept override { return "lwgate.proxy"; }
    std::string message(int value) const override {
        switch (static_cast<ProxyErrc>(value)) {
            case ProxyErrc::bad_signature:
                return "no PROXY protocol signature";
            case ProxyErrc::bad_version:
                return "unsupported PROXY protocol version";
            case ProxyErrc::bad_command:
                return "unknown PROXY protocol command";
            case ProxyErrc::bad_family:
                return "unknown PROXY protocol address family or transport";
            case ProxyErrc::bad_length:
                return "PROXY header too short for its addresses";
            case ProxyErrc::too_long:
                return "PROXY header too long";
            case ProxyErrc::bad_address:
                return "bad address in PROXY header";
            case ProxyErrc::bad_port:
                return "bad port in PROXY header";
        }
        return "unknown lwgate.proxy error " + std::to_string(value);
    }
};

constexpr std::string_view v1_signature = "PROXY ";
constexpr std::array<std::uint8_t, 12> v2_signature{0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                                    0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
constexpr std::size_t v2_fixed = 16;  // signature, version/command, family, length

ProxyParse fail(ProxyErrc e) {
    ProxyParse out;
    out.status = ProxyParse::Status::error;
    out.error = make_error_code(e);
    return out;
}

ProxyParse done(const ProxyHeader& header, std::size_t consumed) {
    return {ProxyParse::Status::parsed, header, consumed, {}};
}

// The first `n` bytes of `bytes` equal those of the signature (n at most either's size).
template <class Signature>
bool starts_like(std::span<const std::uint8_t> bytes, const Signature& sig) {
    const std::size_t n = std::min(bytes.size(), sig.size());
    return std::equal(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n), sig.begin(),
                      [](std::uint8_t a, auto b) { return a == static_cast<std::uint8_t>(b); });
}

std::optional<unsigned> decimal(std::string_view s, std::size_t max_digits, unsigned max) {
    if (s.empty() || s.size() > max_digits) return std::nullopt;
    unsigned value = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value > max) return std::nullopt;
    return value;
}

// Dotted quad into bytes 12..15 of an IPv4-mapped address.
bool parse_ipv4(std::string_view s, std::uint8_t* out) {
    for (int i = 0; i < 4; ++i) {
        const auto dot = i < 3 ? s.find('.') : s.size();
        if (dot == std::string_view::npos) return false;
        const auto part = decimal(s.substr(0, dot), 3, 255);
        if (!part) return false;
        out[i] = static_cast<std::uint8_t>(*part);
        s.remove_prefix(i < 3 ? dot + 1 : dot);
    }
    return s.empty();
}

std::optional<unsigned> hex_group(std::string_view s) {
    if (s.empty() || s.size() > 4) return std::nullopt;
    unsigned value = 0;
    for (char c : s) {
        const int d = c >= '0' && c <= '9'   ? c - '0'
                      : c >= 'a' && c <= 'f' ? c - 'a' + 10
                      : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                             : -1;
        if (d < 0) return std::nullopt;
        value = value * 16 + static_cast<unsigned>(d);
    }
    return value;
}

// One side of "::" (or the whole address without one): groups, an IPv4 tail allowed at the end.
bool ipv6_groups(std::string_view s, bool tail_allowed, std::vector<std::uint8_t>& out) {
    while (!s.empty()) {
        const auto colon = s.find(':');
        const auto group = s.substr(0, colon);
        if (colon == std::string_view::npos && tail_allowed && group.find('.') != group.npos) {
            std::uint8_t v4[4];
            if (!parse_ipv4(group, v4)) return false;
            out.insert(out.end(), v4, v4 + 4);
            return true;
        }
        const auto value = hex_group(group);
        if (!value) return false;
        out.push_back(static_cast<std::uint8_t>(*value >> 8));
        out.push_back(static_cast<std::uint8_t>(*value & 0xFF));
        if (colon == std::string_view::npos) break;
        s.remove_prefix(colon + 1);
        if (s.empty()) return false;  // a trailing single ':'
    }
    return true;
}

bool parse_ipv6(std::string_view s, std::array<std::uint8_t, 16>& out) {
    if (s.size() > 45) return false;
    std::vector<std::uint8_t> head, tail;
    const auto gap = s.find("::");
    if (gap == std::string_view::npos) {
        if (!ipv6_groups(s, true, head) || head.size() != 16) return false;
    } else {
        if (s.find("::", gap + 1) != std::string_view::npos) return false;
        if (!ipv6_groups(s.substr(0, gap), false, head)) return false;
        if (!ipv6_groups(s.substr(gap + 2), true, tail)) return false;
        if (head.size() + tail.size() > 14) return false;  // "::" stands for at least one group
    }
    out.fill(0);
    std::copy(head.begin(), head.end(), out.begin());
    std::copy(tail.rbegin(), tail.rend(), out.rbegin());
    return true;
}

ProxyEndpoint mapped_v4(const std::uint8_t* bytes, std::uint16_t port) {
    ProxyEndpoint e;
    e.address[10] = 0xFF;
    e.address[11] = 0xFF;
    std::copy(bytes, bytes + 4, e.address.begin() + 12);
    e.v4 = true;
    e.port = port;
    return e;
}

std::vector<std::string_view> split_spaces(std::string_view line) {
    std::vector<std::string_view> out;
    while (out.size() < 6) {
        const auto space = line.find(' ');
        out.push_back(line.substr(0, space));
        if (space == std::string_view::npos) break;
        line.remove_prefix(space + 1);
    }
    return out;
}

bool parse_v1_endpoint(bool v4, std::string_view address, std::string_view port,
                       ProxyEndpoint& out) {
    const auto p = decimal(port, 5, 65535);
    if (!p) return false;
    if (v4) {
        std::uint8_t bytes[4];
        if (!parse_ipv4(address, bytes)) return false;
        out = mapped_v4(bytes, static_cast<std::uint16_t>(*p));
        return true;
    }
    out.v4 = false;
    out.port = static_cast<std::uint16_t>(*p);
    return parse_ipv6(address, out.address);
}

// "PROXY TCP4 192.0.2.1 192.0.2.2 4000 5683\r\n", "PROXY UNKNOWN ...\r\n".
ProxyParse parse_v1(std::span<const std::uint8_t> bytes) {
    const std::string_view text(reinterpret_cast<const char*>(bytes.data()),
                                std::min(bytes.size(), max_v1_header));
    const auto crlf = text.find("\r\n");
    if (crlf == std::string_view::npos) {
        return text.size() >= max_v1_header ? fail(ProxyErrc::too_long) : ProxyParse{};
    }
    const auto fields = split_spaces(text.substr(v1_signature.size(), crlf - v1_signature.size()));
    const std::size_t consumed = crlf + 2;
    if (fields[0] == "UNKNOWN") return done({}, consumed);  // the rest of the line is ignored
    const bool v4 = fields[0] == "TCP4";
    if (!v4 && fields[0] != "TCP6") return fail(ProxyErrc::bad_family);
    if (fields.size() != 5) return fail(ProxyErrc::bad_address);
    ProxyHeader header;
    header.use_socket_address = false;
    if (!decimal(fields[3], 5, 65535) || !decimal(fields[4], 5, 65535))
        return fail(ProxyErrc::bad_port);
    if (!parse_v1_endpoint(v4, fields[1], fields[3], header.source) ||
        !parse_v1_endpoint(v4, fields[2], fields[4], header.destination)) {
        return fail(ProxyErrc::bad_address);
    }
    return done(header, consumed);
}

std::uint16_t be16(const std::uint8_t* p) {
    return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

// The addresses of a v2 PROXY command; `body` has at least the family's length.
ProxyHeader v2_addresses(unsigned family, const std::uint8_t* body) {
    ProxyHeader header;
    if (family == 1) {
        header.use_socket_address = false;
        header.source = mapped_v4(body, be16(body + 8));
        header.destination = mapped_v4(body + 4, be16(body + 10));
    } else if (family == 2) {
        header.use_socket_address = false;
        std::copy(body, body + 16, header.source.address.begin());
        std::copy(body + 16, body + 32, header.destination.address.begin());
        header.source.port = be16(body + 32);
        header.destination.port = be16(body + 34);
    }
    return header;  // unspecified or unix: the socket's addresses
}

ProxyParse parse_v2(std::span<const std::uint8_t> bytes) {
    if (bytes.size() < v2_fixed) return {};
    const unsigned version = bytes[12] >> 4;
    const unsigned command = bytes[12] & 0x0F;
    const unsigned family = bytes[13] >> 4;
    const unsigned transport = bytes[13] & 0x0F;
    const std::size_t length = be16(&bytes[14]);
    if (version != 2) return fail(ProxyErrc::bad_version);
    if (command > 1) return fail(ProxyErrc::bad_command);
    if (v2_fixed + length > max_v2_header) return fail(ProxyErrc::too_long);
    // PROXY needs a known family whose addresses fit; LOCAL ignores the family and what follows.
    if (command == 1) {
        static constexpr std::array<std::size_t, 4> needed{0, 12, 36, 216};
        if (family >= needed.size() || transport > 2) return fail(ProxyErrc::bad_family);
        // A datagram's addresses say nothing about this stream.
        if (family != 0 && family != 3 && transport != 1) return fail(ProxyErrc::bad_family);
        if (length < needed[family]) return fail(ProxyErrc::bad_length);
    }
    if (bytes.size() < v2_fixed + length) return {};
    if (command == 0) return done({}, v2_fixed + length);
    return done(v2_addresses(family, &bytes[v2_fixed]), v2_fixed + length);
}

std::string hex4(unsigned v) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    bool started = false;
    for (int shift = 12; shift >= 0; shift -= 4) {
        const unsigned d = (v >> shift) & 0xF;
        if (d != 0 || started || shift == 0) {
            out += digits[d];
            started = true;
        }
    }
    return out;
}

// RFC 5952: lowercase, the longest run of two or more zero groups (the first of equals) as "::".
std::string ipv6_text(const std::array<std::uint8_t, 16>& a) {
    std::array<unsigned, 8> g{};
    for (std::size_t i = 0; i < 8; ++i)
        g[i] = (unsigned{a[2 * i]} << 8) | a[2 * i + 1];
    std::size_t best = 8, best_len = 1;
    for (std::size_t i = 0; i < 8;) {
        std::size_t j = i;
        while (j < 8 && g[j] == 0)
            ++j;
        if (j - i > best_len) best = i, best_len = j - i;
        i = j == i ? i + 1 : j;
    }
    std::string out;
    for (std::size_t i = 0; i < 8; ++i) {
        if (i == best) {
            out += "::";
            i += best_len - 1;
            continue;
        }
        if (!out.empty() && out.back() != ':') out += ':';
        out += hex4(g[i]);
    }
    return out;
}

}  // namespace

const std::error_category& proxy_category() noexcept {
    static const ProxyCategory category;
    return category;
}

std::error_code make_error_code(ProxyErrc e) noexcept {
    return {static_cast<int>(e), proxy_category()};
}

ProxyParse parse_proxy_header(std::span<const std::uint8_t> bytes) {
    if (bytes.empty()) return {};
    if (starts_like(bytes, v1_signature)) {
        return bytes.size() < v1_signature.size() ? ProxyParse{} : parse_v1(bytes);
    }
    if (starts_like(bytes, v2_signature)) return parse_v2(bytes);
    return fail(ProxyErrc::bad_signature);
}

std::string to_string(const ProxyEndpoint& e) {
    const auto& a = e.address;
    if (e.v4) {
        return std::to_string(a[12]) + "." + std::to_string(a[13]) + "." + std::to_string(a[14]) +
               "." + std::to_string(a[15]) + ":" + std::to_string(e.port);
    }
    return "[" + ipv6_text(a) + "]:" + std::to_string(e.port);
}

}  // namespace lwgate::session
