#include "lwgate/coap/message.hpp"

#include <algorithm>
#include <cstdio>

namespace lwgate::coap {

namespace {

constexpr char hex_digits[] = "0123456789abcdef";

void append_hex(std::string& out, ByteView bytes) {
    for (std::uint8_t b : bytes) {
        out.push_back(hex_digits[b >> 4]);
        out.push_back(hex_digits[b & 0x0f]);
    }
}

// Log lines must stay on one line and unambiguous, so anything that is not plain printable
// ASCII (or would need escaping inside quotes) is shown as hex instead.
bool is_plain_text(ByteView bytes) {
    return std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) {
        return b >= 0x20 && b <= 0x7e && b != '\'' && b != '\\';
    });
}

// Bounds the log line for huge option values (up to 64 KiB on the wire).
constexpr std::size_t describe_value_limit = 32;

void append_value(std::string& out, ByteView value) {
    const bool truncated = value.size() > describe_value_limit;
    const ByteView shown = value.first(std::min(value.size(), describe_value_limit));
    if (is_plain_text(shown)) {
        out.push_back('\'');
        out.append(shown.begin(), shown.end());
        out.push_back('\'');
    } else {
        out.append("0x");
        append_hex(out, shown);
    }
    if (truncated) out.append("...");
}

// Options whose value is a uint (RFC 7252 §5.10, RFC 7641, RFC 7959, RFC 8323 §5), so logs show
// "12:40" rather than a quoted '('. Signaling options depend on the signaling code.
bool is_uint_option(std::uint8_t code, std::uint16_t number) {
    if (is_signaling(code)) {
        return (code == code::csm && number == signal_option::max_message_size) ||
               (code == code::release && number == signal_option::hold_off) ||
               (code == code::abort && number == signal_option::bad_csm_option);
    }
    switch (number) {
        case option::observe:
        case option::uri_port:
        case option::content_format:
        case option::max_age:
        case option::accept:
        case option::block2:
        case option::block1:
        case option::size2:
        case option::size1:
            return true;
        default:
            return false;
    }
}

}  // namespace

std::string code_to_string(std::uint8_t code) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%u.%02u", code_class(code), code_detail(code));
    return buf;
}

Token::Token(ByteView bytes) {
    size_ = static_cast<std::uint8_t>(std::min(bytes.size(), max_token_length));
    std::copy_n(bytes.begin(), size_, data_);
}

Token Token::from_u64(std::uint64_t value) {
    Token token;
    std::size_t n = 0;
    for (std::uint64_t v = value; v != 0; v >>= 8)
        ++n;
    for (std::size_t i = 0; i < n; ++i) {
        token.data_[n - 1 - i] = static_cast<std::uint8_t>(value >> (8 * i));
    }
    token.size_ = static_cast<std::uint8_t>(n);
    return token;
}

std::string Token::to_hex() const {
    std::string out;
    out.reserve(2 * size_);
    append_hex(out, bytes());
    return out;
}

void Message::add_option(std::uint16_t number, OptionValue value) {
    // Most messages carry 1-4 options: one allocation instead of growing 1, 2, 4.
    if (options_.empty()) options_.reserve(4);
    // upper_bound keeps repeated options in insertion order, which carries meaning (Uri-Path).
    auto pos = std::upper_bound(options_.begin(), options_.end(), number,
                                [](std::uint16_t n, const Option& o) { return n < o.number; });
    options_.insert(pos, Option{number, std::move(value)});
}

void Message::add_option(std::uint16_t number, std::string_view value) {
    add_option(number, OptionValue(std::span(reinterpret_cast<const std::uint8_t*>(value.data()),
                                             value.size())));
}

void Message::add_uint_option(std::uint16_t number, std::uint32_t value) {
    std::uint8_t bytes[4];
    std::size_t n = 0;
    for (int shift = 24; shift >= 0; shift -= 8) {
        const auto b = static_cast<std::uint8_t>(value >> shift);
        if (b != 0 || n != 0) bytes[n++] = b;
    }
    add_option(number, OptionValue(std::span<const std::uint8_t>(bytes, n)));
}

void Message::remove_options(std::uint16_t number) {
    std::erase_if(options_, [number](const Option& o) { return o.number == number; });
}

const Option* Message::find_option(std::uint16_t number) const {
    auto it = std::lower_bound(options_.begin(), options_.end(), number,
                               [](const Option& o, std::uint16_t n) { return o.number < n; });
    return it != options_.end() && it->number == number ? &*it : nullptr;
}

std::vector<const Option*> Message::find_options(std::uint16_t number) const {
    std::vector<const Option*> found;
    for (const Option& o : options_of(number))
        found.push_back(&o);
    return found;
}

std::span<const Option> Message::options_of(std::uint16_t number) const {
    const auto less = [](const Option& o, std::uint16_t n) { return o.number < n; };
    const auto first = std::lower_bound(options_.begin(), options_.end(), number, less);
    auto last = first;
    while (last != options_.end() && last->number == number)
        ++last;
    return {first, last};
}

std::optional<std::uint32_t> Message::uint_option(std::uint16_t number) const {
    const Option* option = find_option(number);
    if (option == nullptr) return std::nullopt;
    return decode_uint(option->value);
}

void Message::set_payload(std::string_view payload) {
    payload_.assign(payload.begin(), payload.end());
}

std::optional<std::uint32_t> decode_uint(ByteView value) {
    if (value.size() > 4) return std::nullopt;
    std::uint32_t result = 0;
    for (std::uint8_t b : value)
        result = (result << 8) | b;
    return result;
}

Bytes encode_uint(std::uint32_t value) {
    Bytes out;
    for (int shift = 24; shift >= 0; shift -= 8) {
        const auto b = static_cast<std::uint8_t>(value >> shift);
        if (b != 0 || !out.empty()) out.push_back(b);
    }
    return out;
}

std::string describe(const Message& message) {
    std::string out = code_to_string(message.code());
    out.append(" token=");
    append_hex(out, message.token().bytes());
    out.append(" opts=[");
    bool first = true;
    for (const Option& option : message.options()) {
        if (!first) out.push_back(',');
        first = false;
        out.append(std::to_string(option.number));
        out.push_back(':');
        const auto uint_value = is_uint_option(message.code(), option.number)
                                    ? decode_uint(option.value)
                                    : std::nullopt;
        if (uint_value) {
            out.append(std::to_string(*uint_value));
        } else {
            append_value(out, option.value);
        }
    }
    out.push_back(']');
    if (!message.payload().empty()) {
        out.append(" payload=");
        out.append(std::to_string(message.payload().size()));
        out.push_back('B');
    }
    return out;
}

}  // namespace lwgate::coap
