// The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2) that a load
// balancer puts in front of a connection's first byte to name the client it relays. Pure: bytes
// in, a verdict out; the caller reads more and calls again while it needs more.
//
// Lengths are capped before anything is kept: a v1 line has at most 107 bytes, a v2 header at
// most max_v2_header bytes (addresses plus TLVs, which are skipped). A balancer that sends more
// is refused instead of being buffered for.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <system_error>

namespace lwgate::session {

enum class ProxyErrc {
    bad_signature = 1,  // neither "PROXY " nor the v2 signature
    bad_version,        // v2: a version other than 2
    bad_command,        // v2: neither LOCAL nor PROXY
    bad_family,         // an unknown address family or transport
    bad_length,         // v2: the length is too short for the family's addresses
    too_long,           // v1 without CRLF within 107 bytes; v2 beyond max_v2_header
    bad_address,        // an address that does not parse, or not of the family named
    bad_port,           // v1: not a decimal number up to 65535
};

const std::error_category& proxy_category() noexcept;
std::error_code make_error_code(ProxyErrc e) noexcept;

struct ProxyEndpoint {
    // IPv6 bytes; IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d), with `v4` set.
    std::array<std::uint8_t, 16> address{};
    bool v4 = false;
    std::uint16_t port = 0;
};

struct ProxyHeader {
    // LOCAL (a balancer's health check), UNKNOWN or an unspecified/unix family: the connection
    // carries no client address, and the socket's own addresses stand.
    bool use_socket_address = true;
    ProxyEndpoint source;
    ProxyEndpoint destination;
};

struct ProxyParse {
    enum class Status { need_more, parsed, error };
    Status status = Status::need_more;
    ProxyHeader header;
    std::size_t consumed = 0;  // parsed: the header's length; what follows is the device's
    std::error_code error;
};

inline constexpr std::size_t max_v1_header = 107;
inline constexpr std::size_t max_v2_header = 536;

// Judges the connection's first bytes, all of them so far (a prefix of a header is need_more).
ProxyParse parse_proxy_header(std::span<const std::uint8_t> bytes);

// "192.0.2.1:4000" or "[2001:db8::1]:4000", as the rest of lwgate writes a remote address.
std::string to_string(const ProxyEndpoint& endpoint);

}  // namespace lwgate::session

template <>
struct std::is_error_code_enum<lwgate::session::ProxyErrc> : std::true_type {};
