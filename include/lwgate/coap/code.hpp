// CoAP codes (RFC 7252 §12.1, RFC 8323 §11.1) as class.detail bytes.
#pragma once

#include <cstdint>
#include <string>

namespace lwgate::coap {

constexpr std::uint8_t make_code(unsigned cls, unsigned detail) {
    return static_cast<std::uint8_t>((cls << 5) | (detail & 0x1f));
}
constexpr unsigned code_class(std::uint8_t code) {
    return code >> 5;
}
constexpr unsigned code_detail(std::uint8_t code) {
    return code & 0x1f;
}

namespace code {
inline constexpr std::uint8_t empty = make_code(0, 0);
inline constexpr std::uint8_t get = make_code(0, 1);
inline constexpr std::uint8_t post = make_code(0, 2);
inline constexpr std::uint8_t put = make_code(0, 3);
inline constexpr std::uint8_t del = make_code(0, 4);
inline constexpr std::uint8_t fetch = make_code(0, 5);
inline constexpr std::uint8_t patch = make_code(0, 6);
inline constexpr std::uint8_t ipatch = make_code(0, 7);

inline constexpr std::uint8_t created = make_code(2, 1);
inline constexpr std::uint8_t deleted = make_code(2, 2);
inline constexpr std::uint8_t valid = make_code(2, 3);
inline constexpr std::uint8_t changed = make_code(2, 4);
inline constexpr std::uint8_t content = make_code(2, 5);
inline constexpr std::uint8_t continue_ = make_code(2, 31);

inline constexpr std::uint8_t bad_request = make_code(4, 0);
inline constexpr std::uint8_t unauthorized = make_code(4, 1);
inline constexpr std::uint8_t bad_option = make_code(4, 2);
inline constexpr std::uint8_t forbidden = make_code(4, 3);
inline constexpr std::uint8_t not_found = make_code(4, 4);
inline constexpr std::uint8_t method_not_allowed = make_code(4, 5);
inline constexpr std::uint8_t not_acceptable = make_code(4, 6);
inline constexpr std::uint8_t request_entity_incomplete = make_code(4, 8);
inline constexpr std::uint8_t precondition_failed = make_code(4, 12);
inline constexpr std::uint8_t request_entity_too_large = make_code(4, 13);
inline constexpr std::uint8_t unsupported_content_format = make_code(4, 15);

inline constexpr std::uint8_t internal_server_error = make_code(5, 0);
inline constexpr std::uint8_t not_implemented = make_code(5, 1);
inline constexpr std::uint8_t bad_gateway = make_code(5, 2);
inline constexpr std::uint8_t service_unavailable = make_code(5, 3);
inline constexpr std::uint8_t gateway_timeout = make_code(5, 4);

// RFC 8323 §5: signaling codes (class 7).
inline constexpr std::uint8_t csm = make_code(7, 1);
inline constexpr std::uint8_t ping = make_code(7, 2);
inline constexpr std::uint8_t pong = make_code(7, 3);
inline constexpr std::uint8_t release = make_code(7, 4);
inline constexpr std::uint8_t abort = make_code(7, 5);
}  // namespace code

constexpr bool is_request(std::uint8_t c) {
    return code_class(c) == 0 && c != code::empty;
}
constexpr bool is_response(std::uint8_t c) {
    return code_class(c) >= 2 && code_class(c) <= 5;
}
constexpr bool is_signaling(std::uint8_t c) {
    return code_class(c) == 7;
}

// "2.05", "7.02" ...
std::string code_to_string(std::uint8_t code);

}  // namespace lwgate::coap
