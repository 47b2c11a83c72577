// RFC 7959 block-wise transfer options (Block1/Block2), shared by the gateway and the simulators.
// Pure functions, no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "lwgate/coap/message.hpp"

namespace lwgate::coap {

// RFC 7959 §2.2 Block1/Block2 option value: NUM (20 bits), M, SZX (block size 2^(SZX+4);
// SZX 7 is BERT, RFC 8323 §6, whose unit size is 1024 like SZX 6).
struct BlockOption {
    std::uint32_t num = 0;
    bool more = false;
    std::uint8_t szx = 6;

    std::size_t size() const { return std::size_t{16} << (szx > 6 ? 6 : szx); }
    std::size_t offset() const { return static_cast<std::size_t>(num) * size(); }
    std::uint32_t value() const { return (num << 4) | (more ? 8u : 0u) | (szx & 7u); }

    // nullopt for values longer than 3 bytes (NUM would not fit in 20 bits).
    static std::optional<BlockOption> decode(ByteView value);
    friend bool operator==(const BlockOption&, const BlockOption&) = default;
};

// The Block1/Block2 option of a message, if present and well-formed.
std::optional<BlockOption> block_option(const Message& message, std::uint16_t number);
// Replaces any existing option `number` with `block`.
void set_block_option(Message& message, std::uint16_t number, const BlockOption& block);
// The largest SZX (0..6) whose block size is <= `bytes`; 0 if `bytes` < 32.
std::uint8_t szx_at_most(std::size_t bytes);

}  // namespace lwgate::coap
