// A CoAP message as carried over a reliable transport (RFC 8323 §3.2): no Type, no Message ID.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lwgate/coap/code.hpp"
#include "lwgate/coap/option.hpp"
#include "lwgate/coap/option_value.hpp"

namespace lwgate::coap {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

inline constexpr std::size_t max_token_length = 8;

class Token {
  public:
    Token() = default;
    // Truncates to 8 bytes; callers validate the length first where it matters.
    explicit Token(ByteView bytes);
    static Token from_u64(std::uint64_t value);  // big-endian, shortest form (0 -> empty)

    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    ByteView bytes() const { return {data_, size_}; }
    std::string to_hex() const;

    friend bool operator==(const Token& a, const Token& b) {
        return a.bytes().size() == b.bytes().size() &&
               std::equal(a.bytes().begin(), a.bytes().end(), b.bytes().begin());
    }

  private:
    std::uint8_t data_[max_token_length] = {};
    std::uint8_t size_ = 0;
};

struct Option {
    std::uint16_t number = 0;
    OptionValue value;

    friend bool operator==(const Option&, const Option&) = default;
};

// Options are kept sorted by number (stable for repeated options), as the wire format requires.
class Message {
  public:
    Message() = default;
    explicit Message(std::uint8_t code, Token token = {}) : code_(code), token_(token) {}

    std::uint8_t code() const { return code_; }
    void set_code(std::uint8_t code) { code_ = code; }
    const Token& token() const { return token_; }
    void set_token(Token token) { token_ = token; }

    const std::vector<Option>& options() const { return options_; }
    // Inserts after any existing options with the same number.
    void add_option(std::uint16_t number, OptionValue value);
    void add_option(std::uint16_t number, std::string_view value);
    void add_uint_option(std::uint16_t number, std::uint32_t value);  // minimal-length encoding
    void remove_options(std::uint16_t number);
    const Option* find_option(std::uint16_t number) const;
    std::vector<const Option*> find_options(std::uint16_t number) const;
    // The options with this number, in order, without allocating (they are adjacent).
    std::span<const Option> options_of(std::uint16_t number) const;
    // Capacity for n options, for decoders that know the count up front.
    void reserve_options(std::size_t n) { options_.reserve(n); }
    std::optional<std::uint32_t> uint_option(std::uint16_t number) const;

    const Bytes& payload() const { return payload_; }
    Bytes& payload() { return payload_; }
    void set_payload(Bytes payload) { payload_ = std::move(payload); }
    void set_payload(std::string_view payload);

    friend bool operator==(const Message&, const Message&) = default;

  private:
    std::uint8_t code_ = code::empty;
    Token token_;
    std::vector<Option> options_;
    Bytes payload_;
};

// Decodes an unsigned option value (RFC 7252 §3.2 uint: big-endian, 0-4 bytes). Values longer
// than 4 bytes yield nullopt.
std::optional<std::uint32_t> decode_uint(ByteView value);
Bytes encode_uint(std::uint32_t value);

// Human-readable one-line summary for logs: "7.02 token=0a1b opts=[2:'']".
std::string describe(const Message& message);

}  // namespace lwgate::coap
