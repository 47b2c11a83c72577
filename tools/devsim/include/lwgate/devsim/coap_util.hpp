// Small CoAP helpers the device simulator uses and that tests reuse: RFC 7959 block options,
// Uri-Path / Uri-Query access, URIs of the `coap+tcp` / `coaps+tcp` schemes and hex keys.
// Pure functions, no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lwgate/coap/message.hpp"

namespace lwgate::devsim {

// RFC 7959 §2.2 Block1/Block2 option value: NUM (20 bits), M, SZX (block size 2^(SZX+4);
// SZX 7 is BERT, RFC 8323 §6, whose unit size is 1024 like SZX 6).
struct BlockOption {
    std::uint32_t num = 0;
    bool more = false;
    std::uint8_t szx = 6;

    std::size_t size() const { return std::size_t{16} << (szx > 6 ? 6 : szx); }
    std::size_t offset() const { return static_cast<std::size_t>(num) * size(); }
    std::uint32_t value() const { return (num << 4) | (more ? 8u : 0u) | (szx & 7u); }

    // nullopt for values longer than 3 bytes (NUM would not fit in 20 bits).
    static std::optional<BlockOption> decode(coap::ByteView value);
    friend bool operator==(const BlockOption&, const BlockOption&) = default;
};

// The Block1/Block2 option of a message, if present and well-formed.
std::optional<BlockOption> block_option(const coap::Message& message, std::uint16_t number);
// Replaces any existing option `number` with `block`.
void set_block_option(coap::Message& message, std::uint16_t number, const BlockOption& block);
// The largest SZX (0..6) whose block size is <= `bytes`; 0 if `bytes` < 32.
std::uint8_t szx_at_most(std::size_t bytes);

// Uri-Path segments ("3","0","1") and the path as a string ("/3/0/1"; "/" for no segments).
std::vector<std::string> uri_path(const coap::Message& message);
std::string uri_path_string(const coap::Message& message);
// Uri-Query values in order ("ep=dev1", "lt=300", "Q").
std::vector<std::string> uri_queries(const coap::Message& message);
// Location-Path segments, and as a string ("/rd/abc"; empty if there are none).
std::vector<std::string> location_path(const coap::Message& message);
std::string location_path_string(const coap::Message& message);
// Adds one Uri-Path option per non-empty '/'-separated segment of `path` ("/rd/abc").
void add_uri_path(coap::Message& message, std::string_view path);

// The two RFC 8323 schemes. Default ports: 5683 (coap+tcp) and 5684 (coaps+tcp).
struct ServerUri {
    bool tls = false;
    std::string host;  // without IPv6 brackets
    std::uint16_t port = 0;
};
// Parses "coap+tcp://HOST[:PORT][/...]" and "coaps+tcp://..."; HOST may be a name, an IPv4
// literal or a bracketed IPv6 literal. nullopt for anything else.
std::optional<ServerUri> parse_server_uri(std::string_view uri);

// "00a1FF" -> {0x00, 0xa1, 0xff}; nullopt on odd length or a non-hex character.
std::optional<coap::Bytes> parse_hex(std::string_view hex);
std::string to_hex(coap::ByteView bytes);

}  // namespace lwgate::devsim
