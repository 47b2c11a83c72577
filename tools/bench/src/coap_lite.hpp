// Beside lwgate's codec (include/lwgate/coap) because the load generator must not allocate.
//
// Allocation-free CoAP framing for the benchmark's hot paths: CoAP over UDP (RFC 7252 §3) for
// the fast core and the no-gateway baseline, CoAP over TCP (RFC 8323 §3.2) for the simulated
// devices. Parsed messages are views into the receive buffer; messages are built into a
// caller-owned byte buffer. lwgate's own codec allocates a Message per frame (and has no UDP),
// which is right for the gateway but would make the load generator, which shares the same two
// cores, the bottleneck of the measurement. Messages sent once per connection (CSM, Register,
// Update) are built with lwgate's codec (Builder::body).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "lwgate/coap/code.hpp"
#include "lwgate/coap/option.hpp"

namespace lwgate::coap {
class Message;
}

namespace lwgate::bench::lite {

using Span = std::span<const std::uint8_t>;

enum class Type : std::uint8_t { con = 0, non = 1, ack = 2, rst = 3 };

struct OptionView {
    std::uint16_t number = 0;
    Span value;
};

// A message without its framing header: code, token, options, payload.
struct MessageView {
    Type type = Type::con;  // UDP only
    std::uint16_t mid = 0;  // UDP only
    std::uint8_t code = 0;
    Span token;
    Span options;  // the raw option bytes (validated)
    Span payload;
    Span body;  // options, payload marker and payload as received

    // Calls f(OptionView) for each option in order.
    template <class F>
    void for_each_option(F&& f) const;
    std::optional<OptionView> find(std::uint16_t number) const;
    std::optional<std::uint32_t> uint_option(std::uint16_t number) const;
    std::uint64_t token_u64() const;  // big-endian, 0 for an empty token
};

// Parses options+payload after the token; false when the options are malformed.
bool parse_body(Span body, MessageView& out);

// UDP: the whole datagram.
std::optional<MessageView> parse_udp(Span datagram);

// TCP: a frame at the front of `in`. Returns the frame's total length once it is complete (0 if
// more bytes are needed, -1 if the framing is broken or the frame exceeds max_size).
long tcp_frame_length(Span in, std::size_t max_size);
std::optional<MessageView> parse_tcp(Span frame);

// Builds one message. Options must be added in ascending number order.
class Builder {
  public:
    Builder(std::uint8_t* buffer, std::size_t capacity) : buf_(buffer), cap_(capacity) {}

    // Starts a UDP datagram / a TCP frame. For TCP the header is written by finish().
    void udp(Type type, std::uint8_t code, std::uint16_t mid, std::uint64_t token);
    void tcp(std::uint8_t code, std::uint64_t token);
    // With a token echoed byte for byte (up to 8 bytes).
    void udp(Type type, std::uint8_t code, std::uint16_t mid, Span token);
    void tcp(std::uint8_t code, Span token);
    void option(std::uint16_t number, Span value);
    void option(std::uint16_t number, std::string_view value);
    void uint_option(std::uint16_t number, std::uint32_t value);
    void payload(Span bytes);
    // The options and payload of a message built with the project's codec (Register, Update).
    void body(const coap::Message& message);
    // Options, marker and payload already encoded (a MessageView's body): copied as they are.
    // Nothing may be added after it.
    void encoded_body(Span body);
    // Returns the message's length (0 if it did not fit the buffer).
    std::size_t finish();

  private:
    void put(const void* data, std::size_t size);
    std::uint8_t* buf_;
    std::size_t cap_;
    std::size_t len_ = 0;
    std::size_t body_start_ = 0;  // TCP: where options begin (header space reserved before)
    std::uint16_t last_option_ = 0;
    bool tcp_ = false;
    bool overflow_ = false;
    std::uint8_t token_len_ = 0;
    std::uint8_t token_[8] = {};
    std::uint8_t code_ = 0;
};

// 8-byte tokens carry (device index << 32 | sequence).
inline std::uint64_t make_token(std::uint32_t device, std::uint32_t seq) {
    return (static_cast<std::uint64_t>(device) << 32) | seq | (1ull << 63);
}
inline std::uint32_t token_device(std::uint64_t token) {
    return static_cast<std::uint32_t>(token >> 32) & 0x7fffffffu;
}

// ---- inline ---------------------------------------------------------------------------------

namespace detail {
// Reads one option header at `p`; returns false on malformed input. Advances p.
bool next_option(const std::uint8_t*& p, const std::uint8_t* end, std::uint16_t& number,
                 Span& value);
}  // namespace detail

template <class F>
void MessageView::for_each_option(F&& f) const {
    const std::uint8_t* p = options.data();
    const std::uint8_t* end = p + options.size();
    std::uint16_t number = 0;
    Span value;
    while (p < end && detail::next_option(p, end, number, value))
        f(OptionView{number, value});
}

}  // namespace lwgate::bench::lite
