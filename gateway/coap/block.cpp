#include "lwgate/coap/block.hpp"

namespace lwgate::coap {

std::optional<BlockOption> BlockOption::decode(ByteView value) {
    if (value.size() > 3) return std::nullopt;
    std::uint32_t v = 0;
    for (auto b : value)
        v = (v << 8) | b;
    BlockOption block;
    block.num = v >> 4;
    block.more = (v & 8u) != 0;
    block.szx = static_cast<std::uint8_t>(v & 7u);
    return block;
}

std::optional<BlockOption> block_option(const Message& message, std::uint16_t number) {
    const auto* opt = message.find_option(number);
    if (!opt) return std::nullopt;
    return BlockOption::decode(opt->value);
}

void set_block_option(Message& message, std::uint16_t number, const BlockOption& block) {
    message.remove_options(number);
    message.add_uint_option(number, block.value());
}

std::uint8_t szx_at_most(std::size_t bytes) {
    std::uint8_t szx = 0;
    while (szx < 6 && (std::size_t{16} << (szx + 1)) <= bytes)
        ++szx;
    return szx;
}

}  // namespace lwgate::coap
