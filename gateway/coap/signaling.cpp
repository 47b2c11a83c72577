#include "lwgate/coap/signaling.hpp"

#include <limits>

#include "lwgate/coap/error.hpp"

namespace lwgate::coap {

namespace {

enum class Verdict { accepted, unknown, bad_value };

// Applies `handle` to every option and turns its verdicts into RFC 8323 §5.3 semantics:
// unknown elective options are ignored, unknown critical ones are fatal to the signal.
template <typename Handler>
std::optional<SignalError> scan_options(const Message& message, Handler handle) {
    for (const Option& option : message.options()) {
        switch (handle(option)) {
            case Verdict::accepted:
                break;
            case Verdict::bad_value:
                return SignalError{make_error_code(CodecError::bad_signal_option_value),
                                   option.number};
            case Verdict::unknown:
                if (is_critical(option.number)) {
                    return SignalError{make_error_code(CodecError::unknown_critical_signal_option),
                                       option.number};
                }
                break;
        }
    }
    return std::nullopt;
}

// RFC 7252 §5.4.5: a supernumerary occurrence of a non-repeatable option is treated like an
// unrecognized one; all signaling options we know are elective, so later copies are ignored.
// Alternative-Address is repeatable, but Release keeps only the first address.
template <typename T, typename Decode>
Verdict take_first(std::optional<T>& slot, const Option& option, Decode decode) {
    if (slot) return Verdict::accepted;
    std::optional<T> value = decode(option.value);
    if (!value) return Verdict::bad_value;
    slot = std::move(value);
    return Verdict::accepted;
}

std::optional<std::uint32_t> as_uint32(ByteView value) {
    return decode_uint(value);
}

std::optional<std::uint16_t> as_uint16(ByteView value) {
    const auto v = decode_uint(value);
    if (!v || *v > std::numeric_limits<std::uint16_t>::max()) return std::nullopt;
    return static_cast<std::uint16_t>(*v);
}

// RFC 8323 §5.5.1: Alternative-Address is a string of 1-255 bytes.
std::optional<std::string> as_address(ByteView value) {
    if (value.empty() || value.size() > 255) return std::nullopt;
    return std::string(value.begin(), value.end());
}

Verdict empty_flag(bool& flag, const Option& option) {
    if (!option.value.empty()) return Verdict::bad_value;
    flag = true;
    return Verdict::accepted;
}

std::string payload_string(const Message& message) {
    return {message.payload().begin(), message.payload().end()};
}

std::variant<Signal, SignalError> parse_csm(const Message& message) {
    Csm csm;
    auto error = scan_options(message, [&](const Option& option) {
        switch (option.number) {
            case signal_option::max_message_size:
                return take_first(csm.max_message_size, option, as_uint32);
            case signal_option::block_wise_transfer:
                return empty_flag(csm.block_wise_transfer, option);
            default:
                return Verdict::unknown;
        }
    });
    if (error) return *error;
    return csm;
}

template <typename PingOrPong>
std::variant<Signal, SignalError> parse_custody_signal(const Message& message) {
    PingOrPong signal;
    auto error = scan_options(message, [&](const Option& option) {
        if (option.number == signal_option::custody) return empty_flag(signal.custody, option);
        return Verdict::unknown;
    });
    if (error) return *error;
    return signal;
}

std::variant<Signal, SignalError> parse_release(const Message& message) {
    Release release;
    auto error = scan_options(message, [&](const Option& option) {
        switch (option.number) {
            case signal_option::alternative_address:
                return take_first(release.alternative_address, option, as_address);
            case signal_option::hold_off:
                return take_first(release.hold_off_seconds, option, as_uint32);
            default:
                return Verdict::unknown;
        }
    });
    if (error) return *error;
    release.diagnostic = payload_string(message);
    return release;
}

std::variant<Signal, SignalError> parse_abort(const Message& message) {
    Abort abort;
    auto error = scan_options(message, [&](const Option& option) {
        if (option.number == signal_option::bad_csm_option) {
            return take_first(abort.bad_csm_option, option, as_uint16);
        }
        return Verdict::unknown;
    });
    if (error) return *error;
    abort.diagnostic = payload_string(message);
    return abort;
}

}  // namespace

std::variant<Signal, SignalError> parse_signal(const Message& message) {
    switch (message.code()) {
        case code::csm:
            return parse_csm(message);
        case code::ping:
            return parse_custody_signal<Ping>(message);
        case code::pong:
            return parse_custody_signal<Pong>(message);
        case code::release:
            return parse_release(message);
        case code::abort:
            return parse_abort(message);
        default:
            // 7.00 and 7.06-7.31 are unassigned signals (and other classes are not signals at
            // all); the peer expects semantics we cannot provide, as with a critical option.
            return SignalError{make_error_code(CodecError::unknown_critical_signal_option), 0};
    }
}

void PeerCapabilities::apply(const Csm& csm) {
    if (csm.max_message_size) max_message_size = *csm.max_message_size;
    // §5.3.2: once announced, the capability stays; a CSM without the option does not revoke it.
    if (csm.block_wise_transfer) block_wise_transfer = true;
}

Message make_csm(std::uint32_t max_message_size, bool block_wise_transfer) {
    Message message(code::csm);
    message.add_uint_option(signal_option::max_message_size, max_message_size);
    if (block_wise_transfer) message.add_option(signal_option::block_wise_transfer, Bytes{});
    return message;
}

Message make_ping(Token token, bool custody) {
    Message message(code::ping, token);
    if (custody) message.add_option(signal_option::custody, Bytes{});
    return message;
}

Message make_pong(const Message& ping) {
    Message message(code::pong, ping.token());
    if (ping.find_option(signal_option::custody) != nullptr) {
        message.add_option(signal_option::custody, Bytes{});
    }
    return message;
}

Message make_release(std::optional<std::string> alternative_address,
                     std::optional<std::uint32_t> hold_off_seconds, std::string_view diagnostic) {
    Message message(code::release);
    if (alternative_address) {
        message.add_option(signal_option::alternative_address,
                           std::string_view(*alternative_address));
    }
    if (hold_off_seconds) message.add_uint_option(signal_option::hold_off, *hold_off_seconds);
    message.set_payload(diagnostic);
    return message;
}

Message make_abort(std::optional<std::uint16_t> bad_csm_option, std::string_view diagnostic) {
    Message message(code::abort);
    if (bad_csm_option) message.add_uint_option(signal_option::bad_csm_option, *bad_csm_option);
    message.set_payload(diagnostic);
    return message;
}

}  // namespace lwgate::coap
