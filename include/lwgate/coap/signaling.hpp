// RFC 8323 §5 signaling messages: construction and parsing. Pure functions, no state except
// PeerCapabilities, which accumulates CSM values as §5.3 requires.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>

#include "lwgate/coap/message.hpp"

namespace lwgate::coap {

inline constexpr std::uint32_t base_max_message_size = 1152;  // RFC 8323 §5.3.1
// The smallest Max-Message-Size a receiver of our CSMs accepts from its peer. RFC 8323 sets no
// lower bound, but a peer that takes less cannot be sent a response carrying the smallest
// RFC 7959 block (16 bytes, SZX 0) with an 8-byte token, an ETag, Content-Format and Block2
// (48 bytes framed): nothing could ever be answered to it, not even block-wise.
inline constexpr std::uint32_t min_peer_max_message_size = 64;

struct Csm {
    std::optional<std::uint32_t> max_message_size;
    bool block_wise_transfer = false;
    friend bool operator==(const Csm&, const Csm&) = default;
};
struct Ping {
    bool custody = false;
    friend bool operator==(const Ping&, const Ping&) = default;
};
struct Pong {
    bool custody = false;
    friend bool operator==(const Pong&, const Pong&) = default;
};
struct Release {
    std::optional<std::string> alternative_address;
    std::optional<std::uint32_t> hold_off_seconds;
    std::string diagnostic;
    friend bool operator==(const Release&, const Release&) = default;
};
struct Abort {
    std::optional<std::uint16_t> bad_csm_option;
    std::string diagnostic;
    friend bool operator==(const Abort&, const Abort&) = default;
};

using Signal = std::variant<Csm, Ping, Pong, Release, Abort>;

struct SignalError {
    std::error_code error;     // CodecError::unknown_critical_signal_option / bad_..
    std::uint16_t option = 0;  // the offending option number
    friend bool operator==(const SignalError&, const SignalError&) = default;
};

// Parses a class-7 message. Unknown elective options are ignored; an unknown critical option is
// an error (the receiver must Abort, RFC 8323 §5.3). Codes 7.06..7.31 are unknown signals and
// yield an error with option 0.
std::variant<Signal, SignalError> parse_signal(const Message& message);

// Capabilities learned from the peer's CSMs. Values accumulate: a later CSM changes only what it
// carries (RFC 8323 §5.3).
struct PeerCapabilities {
    std::uint32_t max_message_size = base_max_message_size;
    bool block_wise_transfer = false;
    void apply(const Csm& csm);
};

Message make_csm(std::uint32_t max_message_size, bool block_wise_transfer);
Message make_ping(Token token, bool custody = false);
// Pong for a received Ping: same token; Custody echoed when the Ping carried it (§5.4).
Message make_pong(const Message& ping);
Message make_release(std::optional<std::string> alternative_address,
                     std::optional<std::uint32_t> hold_off_seconds,
                     std::string_view diagnostic = {});
Message make_abort(std::optional<std::uint16_t> bad_csm_option, std::string_view diagnostic);

}  // namespace lwgate::coap
