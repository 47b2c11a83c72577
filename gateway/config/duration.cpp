// Value forms used in the config: durations, rates and sizes. Pure functions, no YAML here.
#include "lwgate/config/duration.hpp"

#include <cstdint>
#include <limits>

namespace lwgate::config {

namespace {

// Splits "123unit" into the leading decimal digits and the rest. Returns false when there are no
// digits or the number does not fit in 64 bits.
bool split_number(std::string_view text, std::uint64_t& value, std::string_view& unit) {
    std::size_t i = 0;
    value = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
        const auto digit = static_cast<std::uint64_t>(text[i] - '0');
        if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return false;
        value = value * 10 + digit;
        ++i;
    }
    if (i == 0) return false;
    unit = text.substr(i);
    return true;
}

bool checked_mul(std::uint64_t a, std::uint64_t b, std::uint64_t& out) {
    if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a) return false;
    out = a * b;
    return true;
}

}  // namespace

std::optional<Duration> parse_duration(std::string_view text) {
    std::uint64_t value = 0;
    std::string_view unit;
    if (!split_number(text, value, unit)) return std::nullopt;
    std::uint64_t factor = 0;
    if (unit == "ms") {
        factor = 1;
    } else if (unit == "s") {
        factor = 1000;
    } else if (unit == "m") {
        factor = 60 * 1000;
    } else if (unit == "h") {
        factor = 60 * 60 * 1000;
    } else if (unit.empty() && value == 0) {
        return Duration::zero();  // a bare 0 needs no unit
    } else {
        return std::nullopt;
    }
    std::uint64_t ms = 0;
    if (!checked_mul(value, factor, ms)) return std::nullopt;
    if (ms > static_cast<std::uint64_t>(std::numeric_limits<Duration::rep>::max())) {
        return std::nullopt;
    }
    return Duration{static_cast<Duration::rep>(ms)};
}

std::string format_duration(Duration d) {
    auto ms = d.count();
    if (ms == 0) return "0s";
    std::string sign;
    std::uint64_t magnitude = 0;
    if (ms < 0) {
        sign = "-";
        // Negate in unsigned arithmetic so that the minimum value does not overflow.
        magnitude = ~static_cast<std::uint64_t>(ms) + 1;
    } else {
        magnitude = static_cast<std::uint64_t>(ms);
    }
    constexpr std::uint64_t kHour = 60 * 60 * 1000;
    constexpr std::uint64_t kMinute = 60 * 1000;
    constexpr std::uint64_t kSecond = 1000;
    if (magnitude % kHour == 0) return sign + std::to_string(magnitude / kHour) + "h";
    if (magnitude % kMinute == 0) return sign + std::to_string(magnitude / kMinute) + "m";
    if (magnitude % kSecond == 0) return sign + std::to_string(magnitude / kSecond) + "s";
    return sign + std::to_string(magnitude) + "ms";
}

std::optional<double> parse_rate(std::string_view text) {
    double divisor = 1.0;
    if (auto slash = text.find('/'); slash != std::string_view::npos) {
        const auto unit = text.substr(slash + 1);
        if (unit == "s") {
            divisor = 1.0;
        } else if (unit == "m") {
            divisor = 60.0;
        } else {
            return std::nullopt;
        }
        text = text.substr(0, slash);
    }
    // digits[.digits]; parsed by hand so that the locale and exponents play no part.
    double value = 0;
    std::size_t i = 0;
    std::size_t digits = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
        value = value * 10 + (text[i] - '0');
        ++i;
        ++digits;
    }
    if (digits == 0 || digits > 15) return std::nullopt;
    if (i < text.size() && text[i] == '.') {
        ++i;
        double scale = 0.1;
        std::size_t fraction_digits = 0;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
            value += (text[i] - '0') * scale;
            scale /= 10;
            ++i;
            ++fraction_digits;
        }
        if (fraction_digits == 0) return std::nullopt;
    }
    if (i != text.size()) return std::nullopt;
    return value / divisor;
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
    std::uint64_t value = 0;
    std::string_view unit;
    if (!split_number(text, value, unit)) return std::nullopt;
    std::uint64_t factor = 0;
    if (unit.empty() || unit == "B") {
        factor = 1;
    } else if (unit == "KiB") {
        factor = 1024;
    } else if (unit == "MiB") {
        factor = 1024 * 1024;
    } else {
        return std::nullopt;
    }
    std::uint64_t bytes = 0;
    if (!checked_mul(value, factor, bytes)) return std::nullopt;
    return bytes;
}

}  // namespace lwgate::config
