#include "lwgate/coap/tcp_codec.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

namespace lwgate::coap {

namespace {

// RFC 8323 §3.2 length nibbles 13/14/15 and RFC 7252 §3.1 option nibbles 13/14 share the
// same offsets.
constexpr std::uint64_t ext1_offset = 13;
constexpr std::uint64_t ext2_offset = 269;
constexpr std::uint64_t ext4_offset = 65805;

constexpr std::uint8_t payload_marker = 0xff;
constexpr std::uint64_t max_option_value_size = 0xffff + ext2_offset;  // 65804
constexpr std::uint64_t max_frame_len = 0xffffffffULL + ext4_offset;

// Keeps a decoder that once buffered a large frame from pinning that memory for the rest of
// a long-lived connection, while small frames split across reads reuse the buffer.
constexpr std::size_t retained_body_capacity = 4096;

constexpr std::size_t ext_len_bytes(std::uint8_t nibble) {
    switch (nibble) {
        case 13:
            return 1;
        case 14:
            return 2;
        case 15:
            return 4;
        default:
            return 0;
    }
}

// Option header bytes for one delta or length value: the nibble and its extension size.
constexpr std::size_t option_ext_bytes(std::uint64_t v) {
    return v < ext1_offset ? 0 : v < ext2_offset ? 1 : 2;
}

std::size_t option_value_size(const Option& option) {
    return static_cast<std::size_t>(
        std::min<std::uint64_t>(option.value.size(), max_option_value_size));
}

struct BodyLayout {
    std::uint64_t options_len = 0;
    std::uint64_t payload_len = 0;
    std::uint64_t len() const { return options_len + (payload_len ? 1 + payload_len : 0); }
};

BodyLayout layout_of(const Message& message) {
    BodyLayout layout;
    std::uint16_t previous = 0;
    for (const Option& option : message.options()) {
        const std::uint64_t size = option_value_size(option);
        layout.options_len +=
            1 + option_ext_bytes(option.number - previous) + option_ext_bytes(size) + size;
        previous = option.number;
    }
    layout.payload_len = message.payload().size();
    if (layout.payload_len != 0 && layout.len() > max_frame_len) {
        layout.payload_len =
            layout.options_len + 1 < max_frame_len ? max_frame_len - layout.options_len - 1 : 0;
    }
    return layout;
}

void put_be(Bytes& out, std::uint64_t value, std::size_t bytes) {
    for (std::size_t i = bytes; i-- > 0;)
        out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
}

std::pair<std::uint8_t, std::size_t> option_nibble(std::uint64_t v) {
    switch (option_ext_bytes(v)) {
        case 0:
            return {static_cast<std::uint8_t>(v), 0};
        case 1:
            return {13, 1};
        default:
            return {14, 2};
    }
}

std::uint64_t option_ext_value(std::uint64_t v, std::size_t bytes) {
    return bytes == 1 ? v - ext1_offset : bytes == 2 ? v - ext2_offset : 0;
}

// Reads an option delta or length with its extension. Returns false when the extension bytes
// run past the end of the body.
bool read_option_field(std::uint8_t nibble, ByteView body, std::size_t& pos, std::uint32_t& out) {
    if (nibble < 13) {
        out = nibble;
        return true;
    }
    const std::size_t n = nibble == 13 ? 1 : 2;
    if (body.size() - pos < n) return false;
    if (n == 1) {
        out = static_cast<std::uint32_t>(body[pos] + ext1_offset);
    } else {
        out = static_cast<std::uint32_t>(((body[pos] << 8) | body[pos + 1]) + ext2_offset);
    }
    pos += n;
    return true;
}

}  // namespace

std::variant<Message, CodecError> parse_body(std::uint8_t code, Token token, ByteView body) {
    Message message(code, token);
    std::size_t pos = 0;
    std::uint32_t number = 0;
    while (pos < body.size()) {
        const std::uint8_t head = body[pos++];
        if (head == payload_marker) {
            if (pos == body.size()) return CodecError::empty_payload;
            message.set_payload(Bytes(body.begin() + static_cast<std::ptrdiff_t>(pos), body.end()));
            break;
        }
        const std::uint8_t delta_nibble = head >> 4;
        const std::uint8_t length_nibble = head & 0x0f;
        // Nibble 15 is reserved except as part of the payload marker (RFC 7252 §3.1).
        if (delta_nibble == 15 || length_nibble == 15) return CodecError::invalid_option;
        std::uint32_t delta = 0;
        std::uint32_t length = 0;
        if (!read_option_field(delta_nibble, body, pos, delta)) return CodecError::invalid_option;
        if (!read_option_field(length_nibble, body, pos, length)) return CodecError::invalid_option;
        number += delta;
        if (number > std::numeric_limits<std::uint16_t>::max()) {
            return CodecError::option_number_overflow;
        }
        if (body.size() - pos < length) return CodecError::invalid_option;
        message.add_option(static_cast<std::uint16_t>(number), body.subspan(pos, length));
        pos += length;
    }
    return message;
}

std::size_t encoded_size(const Message& message) {
    const std::uint64_t len = layout_of(message).len();
    const std::uint8_t nibble = len < ext1_offset   ? 0
                                : len < ext2_offset ? 13
                                : len < ext4_offset ? 14
                                                    : 15;
    return static_cast<std::size_t>(1 + ext_len_bytes(nibble) + 1 + message.token().size() + len);
}

void encode_into(const Message& message, Bytes& out) {
    const BodyLayout layout = layout_of(message);
    const std::uint64_t len = layout.len();
    std::uint8_t nibble = 0;
    std::uint64_t ext = 0;
    if (len < ext1_offset) {
        nibble = static_cast<std::uint8_t>(len);
    } else if (len < ext2_offset) {
        nibble = 13;
        ext = len - ext1_offset;
    } else if (len < ext4_offset) {
        nibble = 14;
        ext = len - ext2_offset;
    } else {
        nibble = 15;
        ext = len - ext4_offset;
    }
    const std::size_t ext_bytes = ext_len_bytes(nibble);
    const Token& token = message.token();
    const auto total = static_cast<std::size_t>(1 + ext_bytes + 1 + token.size() + len);

    // Grow geometrically so that encoding many messages into one buffer stays linear.
    if (out.capacity() - out.size() < total) {
        out.reserve(std::max(out.size() + total, 2 * out.capacity()));
    }
    out.push_back(static_cast<std::uint8_t>((nibble << 4) | token.size()));
    put_be(out, ext, ext_bytes);
    out.push_back(message.code());
    out.insert(out.end(), token.bytes().begin(), token.bytes().end());

    std::uint16_t previous = 0;
    for (const Option& option : message.options()) {
        const std::uint64_t delta = option.number - previous;
        const std::size_t size = option_value_size(option);
        const auto [delta_nibble, delta_bytes] = option_nibble(delta);
        const auto [length_nibble, length_bytes] = option_nibble(size);
        out.push_back(static_cast<std::uint8_t>((delta_nibble << 4) | length_nibble));
        put_be(out, option_ext_value(delta, delta_bytes), delta_bytes);
        put_be(out, option_ext_value(size, length_bytes), length_bytes);
        out.insert(out.end(), option.value.begin(),
                   option.value.begin() + static_cast<std::ptrdiff_t>(size));
        previous = option.number;
    }
    if (layout.payload_len != 0) {
        out.push_back(payload_marker);
        const auto& payload = message.payload();
        out.insert(out.end(), payload.begin(),
                   payload.begin() + static_cast<std::ptrdiff_t>(layout.payload_len));
    }
}

Bytes encode(const Message& message) {
    Bytes out;
    encode_into(message, out);
    return out;
}

std::optional<Message> decode_frame(ByteView bytes) {
    TcpDecoder decoder(bytes.size() + 16, bytes.size() + 16);
    std::size_t offset = 0;
    while (offset < bytes.size()) {
        auto step = decoder.feed(bytes.subspan(offset));
        offset += step.consumed;
        if (step.result) {
            auto* message = std::get_if<Message>(&*step.result);
            if (!message || offset != bytes.size()) return std::nullopt;
            return std::move(*message);
        }
        if (step.consumed == 0) break;
    }
    return std::nullopt;
}

TcpDecoder::TcpDecoder(std::size_t max_message_size, std::uint64_t skip_limit)
    : max_message_size_(max_message_size), skip_limit_(skip_limit) {}

bool TcpDecoder::idle() const {
    return state_ == State::header;
}

DecodeFailure TcpDecoder::failure(CodecError error, bool fatal) const {
    DecodeFailure f;
    f.error = error;
    f.fatal = fatal;
    // Fatal errors are detected before the code byte is read; all others after the token.
    f.has_header = !fatal;
    if (!fatal) {
        f.code = code_;
        f.token = Token(ByteView(token_buf_, tkl_));
    }
    if (error != CodecError::invalid_token_length) {
        f.frame_size = 1 + ext_bytes_needed_ + 1 + tkl_ + body_len_;
    }
    return f;
}

DecodeResult TcpDecoder::finish_frame(ByteView body) const {
    auto parsed = parse_body(code_, Token(ByteView(token_buf_, tkl_)), body);
    if (auto* error = std::get_if<CodecError>(&parsed)) return failure(*error, false);
    return std::get<Message>(std::move(parsed));
}

// Both checks run the moment the relevant byte is consumed, even if it is the last one of the
// chunk: a Len == 0 frame is complete after its token, and an oversize frame is reported before
// any of its body arrives.
inline std::optional<DecodeResult> TcpDecoder::on_length_known() {
    if (body_len_ > skip_limit_) {
        state_ = State::failed;
        return failure(CodecError::frame_too_large, true);
    }
    state_ = State::code;
    return std::nullopt;
}

inline std::optional<DecodeResult> TcpDecoder::on_header_complete() {
    const std::uint64_t frame_size = 1 + ext_bytes_needed_ + 1 + tkl_ + body_len_;
    if (frame_size > max_message_size_) {
        skip_left_ = body_len_;
        state_ = skip_left_ != 0 ? State::skip : State::header;
        return failure(CodecError::message_too_large, false);
    }
    if (body_len_ == 0) {
        state_ = State::header;
        return finish_frame({});
    }
    state_ = State::body;
    return std::nullopt;
}

inline std::size_t TcpDecoder::feed_header(ByteView in, std::optional<DecodeResult>& result) {
    first_ = in[0];
    tkl_ = first_ & 0x0f;
    ext_bytes_needed_ = static_cast<std::uint8_t>(ext_len_bytes(first_ >> 4));
    ext_have_ = 0;
    token_have_ = 0;
    if (tkl_ > max_token_length) {
        state_ = State::failed;
        result = failure(CodecError::invalid_token_length, true);
    } else if (ext_bytes_needed_ != 0) {
        state_ = State::ext_len;
    } else {
        body_len_ = first_ >> 4;
        result = on_length_known();
    }
    return 1;
}

inline std::size_t TcpDecoder::feed_ext_len(ByteView in, std::optional<DecodeResult>& result) {
    const std::size_t n = std::min<std::size_t>(ext_bytes_needed_ - ext_have_, in.size());
    std::memcpy(ext_buf_ + ext_have_, in.data(), n);
    ext_have_ = static_cast<std::uint8_t>(ext_have_ + n);
    if (ext_have_ < ext_bytes_needed_) return n;
    std::uint64_t ext = 0;
    for (std::size_t i = 0; i < ext_bytes_needed_; ++i)
        ext = (ext << 8) | ext_buf_[i];
    body_len_ = ext + (ext_bytes_needed_ == 1   ? ext1_offset
                       : ext_bytes_needed_ == 2 ? ext2_offset
                                                : ext4_offset);
    result = on_length_known();
    return n;
}

inline std::size_t TcpDecoder::feed_code(ByteView in, std::optional<DecodeResult>& result) {
    code_ = in[0];
    if (tkl_ == 0) {
        result = on_header_complete();
    } else {
        state_ = State::token;
    }
    return 1;
}

inline std::size_t TcpDecoder::feed_token(ByteView in, std::optional<DecodeResult>& result) {
    const std::size_t n = std::min<std::size_t>(tkl_ - token_have_, in.size());
    std::memcpy(token_buf_ + token_have_, in.data(), n);
    token_have_ = static_cast<std::uint8_t>(token_have_ + n);
    if (token_have_ == tkl_) result = on_header_complete();
    return n;
}

// Too big for the inliner's taste on its own, but called from one place only.
[[gnu::always_inline]] inline std::size_t TcpDecoder::feed_body(
    ByteView in, std::optional<DecodeResult>& result) {
    // body_len_ <= max_message_size_ here, so it fits in size_t.
    const std::size_t need = static_cast<std::size_t>(body_len_) - body_.size();
    if (body_.empty() && in.size() >= need) {
        // The whole body is in this chunk: parse in place, nothing to buffer.
        state_ = State::header;
        result = finish_frame(in.subspan(0, need));
        return need;
    }
    if (body_.empty()) body_.reserve(static_cast<std::size_t>(body_len_));
    const std::size_t n = std::min(need, in.size());
    body_.insert(body_.end(), in.begin(), in.begin() + static_cast<std::ptrdiff_t>(n));
    if (body_.size() < body_len_) return n;
    state_ = State::header;
    result = finish_frame(body_);
    body_.clear();
    if (body_.capacity() > retained_body_capacity) Bytes().swap(body_);
    return n;
}

inline std::size_t TcpDecoder::feed_skip(ByteView in) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(skip_left_, in.size()));
    skip_left_ -= n;
    if (skip_left_ == 0) state_ = State::header;
    return n;
}

DecodeStep TcpDecoder::feed(ByteView in) {
    std::size_t pos = 0;
    std::optional<DecodeResult> result;
    while (pos < in.size() && state_ != State::failed && !result) {
        const ByteView rest = in.subspan(pos);
        switch (state_) {
            case State::header:
                pos += feed_header(rest, result);
                break;
            case State::ext_len:
                pos += feed_ext_len(rest, result);
                break;
            case State::code:
                pos += feed_code(rest, result);
                break;
            case State::token:
                pos += feed_token(rest, result);
                break;
            case State::body:
                pos += feed_body(rest, result);
                break;
            case State::skip:
                pos += feed_skip(rest);
                break;
            case State::failed:
                break;
        }
    }
    return {pos, std::move(result)};
}

}  // namespace lwgate::coap
