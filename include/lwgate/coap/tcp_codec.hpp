// RFC 8323 §3.2 framing for CoAP over TCP/TLS, sans-I/O.
//
//   0 1 2 3 4 5 6 7
//  +-------+-------+---------------+----------+----------+---------+------+---------+
//  |  Len  |  TKL  | Extended Len  |   Code   |  Token   | Options | 0xFF | Payload |
//  +-------+-------+---------------+----------+----------+---------+------+---------+
//  Len 0..12 literal; 13: +1 byte (+13); 14: +2 bytes (+269); 15: +4 bytes (+65805).
//  Len counts the bytes of Options, the payload marker and Payload (not the token).
//
// TcpDecoder is incremental in the style of Boost.Beast's basic_parser: feed() takes any prefix
// of the stream, consumes what it can and returns at most one outcome per call, so a caller loops
// until all input is consumed. It is correct for any split of the stream, including byte by byte.
// The frame length is checked against the configured maximum before anything is allocated.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <variant>

#include "lwgate/coap/error.hpp"
#include "lwgate/coap/message.hpp"

namespace lwgate::coap {

// A frame that could not be turned into a Message. `code`/`token` are filled in when the header
// was read far enough to know them (has_header), so the session can answer a request with an error
// response carrying the right token.
struct DecodeFailure {
    CodecError error{};
    bool fatal = false;  // framing lost or not worth continuing: Abort and close
    bool has_header = false;
    std::uint8_t code = 0;
    Token token;
    std::uint64_t frame_size = 0;  // header + token + Len, when known

    friend bool operator==(const DecodeFailure&, const DecodeFailure&) = default;
};

using DecodeResult = std::variant<Message, DecodeFailure>;

struct DecodeStep {
    std::size_t consumed = 0;
    std::optional<DecodeResult> result;  // set when a frame completed (or failed)
};

class TcpDecoder {
  public:
    // max_message_size: the Max-Message-Size we advertise in our CSM; frames above it are
    // reported (message_too_large) and skipped without buffering. Frames whose Len exceeds
    // skip_limit are fatal (frame_too_large): skipping them would only waste bandwidth.
    explicit TcpDecoder(std::size_t max_message_size = 1152,
                        std::uint64_t skip_limit = 16u * 1024 * 1024);

    DecodeStep feed(ByteView in);

    // True while no partial frame is buffered: the stream is at a frame boundary.
    bool idle() const;
    // After a fatal failure the decoder consumes nothing more.
    bool failed() const { return state_ == State::failed; }
    std::size_t max_message_size() const { return max_message_size_; }

  private:
    enum class State { header, ext_len, code, token, body, skip, failed };

    DecodeResult finish_frame(ByteView body) const;
    DecodeFailure failure(CodecError error, bool fatal) const;
    // The steps of feed(), defined (and used) only in tcp_codec.cpp. Inline so that feed() still
    // compiles to one loop: a call per state costs up to 9% more instructions per byte when a
    // stream arrives in small pieces.
    inline std::optional<DecodeResult> on_length_known();
    inline std::optional<DecodeResult> on_header_complete();
    // One per state: `in` is the unconsumed input (never empty); each returns how much of it
    // was consumed and sets `result` when a frame completes or fails.
    inline std::size_t feed_header(ByteView in, std::optional<DecodeResult>& result);
    inline std::size_t feed_ext_len(ByteView in, std::optional<DecodeResult>& result);
    inline std::size_t feed_code(ByteView in, std::optional<DecodeResult>& result);
    inline std::size_t feed_token(ByteView in, std::optional<DecodeResult>& result);
    inline std::size_t feed_body(ByteView in, std::optional<DecodeResult>& result);
    inline std::size_t feed_skip(ByteView in);

    std::size_t max_message_size_;
    std::uint64_t skip_limit_;
    State state_ = State::header;
    std::uint8_t first_ = 0;
    std::uint8_t ext_bytes_needed_ = 0;
    std::uint8_t ext_have_ = 0;
    std::uint8_t ext_buf_[4] = {};
    std::uint64_t body_len_ = 0;
    std::uint8_t code_ = 0;
    std::uint8_t tkl_ = 0;
    std::uint8_t token_buf_[max_token_length] = {};
    std::uint8_t token_have_ = 0;
    Bytes body_;
    std::uint64_t skip_left_ = 0;
};

// Parses the options/payload part of a frame (after the token). Exposed for tests and fuzzing.
std::variant<Message, CodecError> parse_body(std::uint8_t code, Token token, ByteView body);

// Size of the encoded frame, and the encoder. encode_into appends to `out`. The encoding is always
// the shortest one. Option values longer than 65804 bytes (the most RFC 7252 can express) are
// truncated to that length; so is a payload that would push Len beyond 2^32 - 1 + 65805.
std::size_t encoded_size(const Message& message);
void encode_into(const Message& message, Bytes& out);
Bytes encode(const Message& message);
// Exactly one whole frame (as encode() writes it) back into a message; nullopt for anything
// else (truncated, trailing bytes, a signaling message that is not a Message, bad input).
std::optional<Message> decode_frame(ByteView bytes);

}  // namespace lwgate::coap
