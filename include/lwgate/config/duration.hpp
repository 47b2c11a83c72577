// Durations in the config are written 250ms, 30s, 5m, 2h: a whole number and one unit (ms, s, m,
// h); combinations ("1m30s"), fractions, signs and spaces are not allowed. A bare "0" (no unit) is
// accepted as zero; any other number needs a unit. Rates and sizes are parsed here too.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lwgate::config {

using Duration = std::chrono::milliseconds;

// nullopt on a bad form or when the value does not fit in Duration.
std::optional<Duration> parse_duration(std::string_view text);
// Largest exact unit: "250ms", "30s", "5m", "2h"; zero is "0s"; negative values get a "-".
std::string format_duration(Duration d);

// Rates: "2000/s", "100/m" or a plain number (per second); a decimal point is allowed ("0.5/s").
// Returns events per second (>= 0); nullopt on a bad form.
std::optional<double> parse_rate(std::string_view text);

// Sizes in bytes: "65536", "512B", "256KiB", "1MiB" (binary units only; no "KB", no fractions).
// nullopt on a bad form or overflow.
std::optional<std::uint64_t> parse_size(std::string_view text);

}  // namespace lwgate::config
