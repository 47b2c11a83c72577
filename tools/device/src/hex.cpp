#include "lwgate/device/hex.hpp"

#include <charconv>

namespace lwgate::device {

std::optional<std::vector<std::uint8_t>> parse_hex(std::string_view hex) {
    if (hex.size() % 2 != 0) return std::nullopt;
    std::vector<std::uint8_t> out(hex.size() / 2);
    for (std::size_t i = 0; i < out.size(); ++i) {
        const char* pair = hex.data() + 2 * i;
        const auto [end, ec] = std::from_chars(pair, pair + 2, out[i], 16);
        if (ec != std::errc{} || end != pair + 2) return std::nullopt;
    }
    return out;
}

std::string to_hex(std::span<const std::uint8_t> bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (auto b : bytes) {
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out;
}

}  // namespace lwgate::device
