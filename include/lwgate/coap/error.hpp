// Typed errors of the RFC 8323 codec and signaling parser, usable as std::error_code.
#pragma once

#include <system_error>

namespace lwgate::coap {

enum class CodecError {
    // Framing is lost: the connection must be aborted (7.05) and closed.
    invalid_token_length = 1,  // TKL 9..15 (reserved, RFC 8323 §3.2)
    frame_too_large,           // length beyond what we are willing even to skip
    // Framing intact, the frame was consumed: answer or skip, then continue.
    message_too_large,       // over our advertised Max-Message-Size (skipped, not buffered)
    invalid_option,          // option nibble 15 that is not the payload marker, or option past end
    option_number_overflow,  // accumulated option number above 65535
    empty_payload,           // payload marker followed by no payload
    // Signaling semantics (RFC 8323 §5)
    unknown_critical_signal_option,
    bad_signal_option_value,
};

const std::error_category& codec_category() noexcept;
std::error_code make_error_code(CodecError e) noexcept;

}  // namespace lwgate::coap

template <>
struct std::is_error_code_enum<lwgate::coap::CodecError> : std::true_type {};
