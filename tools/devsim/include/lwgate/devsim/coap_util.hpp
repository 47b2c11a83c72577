// Small CoAP helpers the device simulator uses and that tests reuse: RFC 7959 block options,
// Uri-Path / Uri-Query access, URIs of the `coap+tcp` / `coaps+tcp` schemes, and (from the
// shared device library) hex keys. Pure functions, no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lwgate/coap/block.hpp"
#include "lwgate/coap/message.hpp"
#include "lwgate/device/hex.hpp"
#include "lwgate/device/requests.hpp"

namespace lwgate::devsim {

// RFC 7959 block options: shared with the gateway (lwgate/coap/block.hpp).
using coap::block_option;
using coap::BlockOption;
using coap::set_block_option;
using coap::szx_at_most;

// Uri-Path segments ("3","0","1") and the path as a string ("/3/0/1"; "/" for no segments).
std::vector<std::string> uri_path(const coap::Message& message);
std::string uri_path_string(const coap::Message& message);
// Uri-Query values in order ("ep=dev1", "lt=300", "Q").
std::vector<std::string> uri_queries(const coap::Message& message);
// Location-Path segments, and as a string ("/rd/abc"; empty if there are none).
std::vector<std::string> location_path(const coap::Message& message);
std::string location_path_string(const coap::Message& message);
using device::add_uri_path;

// The two RFC 8323 schemes. Default ports: 5683 (coap+tcp) and 5684 (coaps+tcp).
struct ServerUri {
    bool tls = false;
    std::string host;  // without IPv6 brackets
    std::uint16_t port = 0;
};
// Parses "coap+tcp://HOST[:PORT][/...]" and "coaps+tcp://..."; HOST may be a name, an IPv4
// literal or a bracketed IPv6 literal. nullopt for anything else.
std::optional<ServerUri> parse_server_uri(std::string_view uri);

using device::parse_hex;
using device::to_hex;

}  // namespace lwgate::devsim
