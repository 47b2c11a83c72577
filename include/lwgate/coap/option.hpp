// CoAP option numbers used by lwgate. Signaling options (RFC 8323 §5) reuse small numbers
// whose meaning depends on the signaling code, so they live in their own namespace.
#pragma once

#include <cstdint>

namespace lwgate::coap {

namespace option {
inline constexpr std::uint16_t if_match = 1;
inline constexpr std::uint16_t uri_host = 3;
inline constexpr std::uint16_t etag = 4;
inline constexpr std::uint16_t if_none_match = 5;
inline constexpr std::uint16_t observe = 6;
inline constexpr std::uint16_t uri_port = 7;
inline constexpr std::uint16_t location_path = 8;
inline constexpr std::uint16_t uri_path = 11;
inline constexpr std::uint16_t content_format = 12;
inline constexpr std::uint16_t max_age = 14;
inline constexpr std::uint16_t uri_query = 15;
inline constexpr std::uint16_t accept = 17;
inline constexpr std::uint16_t location_query = 20;
inline constexpr std::uint16_t block2 = 23;
inline constexpr std::uint16_t block1 = 27;
inline constexpr std::uint16_t size2 = 28;
inline constexpr std::uint16_t proxy_uri = 35;
inline constexpr std::uint16_t proxy_scheme = 39;
inline constexpr std::uint16_t size1 = 60;
}  // namespace option

namespace signal_option {
// 7.01 CSM
inline constexpr std::uint16_t max_message_size = 2;
inline constexpr std::uint16_t block_wise_transfer = 4;
// 7.02 Ping / 7.03 Pong
inline constexpr std::uint16_t custody = 2;
// 7.04 Release
inline constexpr std::uint16_t alternative_address = 2;
inline constexpr std::uint16_t hold_off = 4;
// 7.05 Abort
inline constexpr std::uint16_t bad_csm_option = 2;
}  // namespace signal_option

// RFC 7252 §5.4.1: odd option numbers are critical.
constexpr bool is_critical(std::uint16_t number) {
    return (number & 1) != 0;
}

}  // namespace lwgate::coap
