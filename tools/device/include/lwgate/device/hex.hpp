// Hex strings for PSK keys and logs.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lwgate::device {

// "00a1FF" -> {0x00, 0xa1, 0xff}; nullopt on odd length or a non-hex character.
std::optional<std::vector<std::uint8_t>> parse_hex(std::string_view hex);
// Lower case: {0x0f, 0xa0} -> "0fa0".
std::string to_hex(std::span<const std::uint8_t> bytes);

}  // namespace lwgate::device
