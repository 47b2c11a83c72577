// Hosts, host:port authorities and endpoint URIs as the configuration writes them. Hand-written
// rather than a URI library so that exactly the forms documented in conf/gateway.yaml are
// accepted: IPv6 only in brackets, no user info, no path beyond a trailing "/".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/config_error.hpp"
#include "lwgate/util/result.hpp"

namespace lwgate::config {

bool iequals(std::string_view a, std::string_view b);  // ASCII, case-insensitive
bool is_digit(char c);

bool valid_ipv4(const std::string& host);  // dotted quad as inet_pton takes it
bool valid_ipv6(const std::string& host);  // without brackets

// RFC 1123 host name; an all-numeric name is reported as a bad IPv4 address. ConfigErrc::bad_host
// when not valid.
Result<void, Error> check_hostname(const std::string& host);

struct HostPort {
    std::string host;  // IPv6 without brackets
    std::optional<std::uint16_t> port;
};

// "host", "host:port", "[v6]", "[v6]:port". ConfigErrc::bad_host or bad_port on failure.
Result<HostPort, Error> parse_authority(std::string_view text);

// localhost, 127.0.0.0/8, ::1 and IPv4-mapped 127.0.0.0/8.
bool is_loopback(const std::string& host);

}  // namespace lwgate::config
