// Typed scalar values: each reader reports its own errors with the key's path and line, and
// leaves its destination unchanged on error.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <system_error>

#include "config/reader.hpp"
#include "config/system_credentials.hpp"
#include "config/uri.hpp"

namespace lwgate::config {

namespace fs = std::filesystem;

namespace {

constexpr const char* kDurationForm = "a duration like 250ms, 30s, 5m, 2h";
constexpr const char* kSizeForm = "a size like 65536, 512B, 256KiB, 1MiB";
constexpr const char* kRateForm = "a rate like 2000/s or 100/m";

}  // namespace

std::optional<std::string> Reader::scalar(const Item& it, std::string_view expected) {
    if (it.node.IsScalar()) return it.node.Scalar();
    error(it.path, it.line, "expected " + std::string(expected) + ", got " + describe(it.node));
    return std::nullopt;
}

bool Reader::optional_string(const Item& it, std::string& dst) {
    if (it.node.IsNull()) {
        dst.clear();
        return true;
    }
    auto s = scalar(it, "a string");
    if (!s) return false;
    dst = *s;
    return true;
}

bool Reader::boolean(const Item& it, bool& dst) {
    auto s = scalar(it, "true or false");
    if (!s) return false;
    for (const char* yes : {"true", "yes", "on"}) {
        if (iequals(*s, yes)) {
            dst = true;
            return true;
        }
    }
    for (const char* no : {"false", "no", "off"}) {
        if (iequals(*s, no)) {
            dst = false;
            return true;
        }
    }
    error(it.path, it.line, "expected true or false, got '" + *s + "'");
    return false;
}

template <typename T>
bool Reader::whole(const Item& it, T& dst, std::uint64_t min, std::uint64_t max) {
    auto s = scalar(it, "a whole number");
    if (!s) return false;
    const std::string range =
        "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got ";
    if (s->size() > 1 && s->front() == '-' && std::all_of(s->begin() + 1, s->end(), is_digit)) {
        error(it.path, it.line, range + *s);
        return false;
    }
    if (s->empty() || !std::all_of(s->begin(), s->end(), is_digit)) {
        error(it.path, it.line, "expected a whole number, got '" + *s + "'");
        return false;
    }
    std::uint64_t value = 0;
    for (char c : *s) {
        const auto digit = static_cast<std::uint64_t>(c - '0');
        if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
            error(it.path, it.line, range + *s);
            return false;
        }
        value = value * 10 + digit;
    }
    if (value < min || value > max) {
        error(it.path, it.line, range + *s);
        return false;
    }
    dst = static_cast<T>(value);
    return true;
}

template bool Reader::whole(const Item&, unsigned&, std::uint64_t, std::uint64_t);
template bool Reader::whole(const Item&, std::uint64_t&, std::uint64_t, std::uint64_t);

bool Reader::duration(const Item& it, Duration& dst, bool positive, Duration max) {
    auto s = scalar(it, kDurationForm);
    if (!s) return false;
    auto d = parse_duration(*s);
    if (!d) {
        error(it.path, it.line, std::string("expected ") + kDurationForm + ", got '" + *s + "'");
        return false;
    }
    if (positive && *d <= Duration::zero()) {
        error(it.path, it.line, "must be greater than 0, got '" + *s + "'");
        return false;
    }
    if (*d > max) {
        error(it.path, it.line, "must be at most " + format_duration(max) + ", got '" + *s + "'");
        return false;
    }
    dst = *d;
    return true;
}

// Kernel TCP keepalive settings and LwM2M lifetimes count whole seconds.
bool Reader::whole_seconds(const Item& it, Duration& dst, Duration min, Duration max) {
    Duration d{};
    if (!duration(it, d, false, kMaxDuration)) return false;
    if (d.count() % 1000 != 0) {
        error(it.path, it.line, "must be whole seconds, got '" + it.node.Scalar() + "'");
        return false;
    }
    if (d < min || d > max) {
        error(it.path, it.line,
              "must be between " + format_duration(min) + " and " + format_duration(max) +
                  ", got '" + it.node.Scalar() + "'");
        return false;
    }
    dst = d;
    return true;
}

template <typename T>
bool Reader::size(const Item& it, T& dst, std::uint64_t min, std::uint64_t max) {
    auto s = scalar(it, kSizeForm);
    if (!s) return false;
    auto bytes = parse_size(*s);
    if (!bytes) {
        error(it.path, it.line, std::string("expected ") + kSizeForm + ", got '" + *s + "'");
        return false;
    }
    if (*bytes < min || *bytes > max) {
        error(it.path, it.line,
              "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                  " bytes, got '" + *s + "'");
        return false;
    }
    dst = static_cast<T>(*bytes);
    return true;
}

template bool Reader::size(const Item&, unsigned&, std::uint64_t, std::uint64_t);
template bool Reader::size(const Item&, std::uint64_t&, std::uint64_t, std::uint64_t);

bool Reader::rate(const Item& it, double& per_second) {
    auto s = scalar(it, kRateForm);
    if (!s) return false;
    auto parsed = parse_rate(*s);
    if (!parsed) {
        error(it.path, it.line, std::string("expected ") + kRateForm + ", got '" + *s + "'");
        return false;
    }
    if (*parsed <= 0) {
        error(it.path, it.line, "must be greater than 0, got '" + *s + "'");
        return false;
    }
    per_second = *parsed;
    return true;
}

std::optional<std::size_t> Reader::choice(const Item& it,
                                          std::span<const std::string_view> choices) {
    std::string list;
    for (auto name : choices)
        list += (list.empty() ? "" : ", ") + std::string(name);
    auto s = scalar(it, "one of " + list);
    if (!s) return std::nullopt;
    for (std::size_t i = 0; i < choices.size(); ++i) {
        if (*s == choices[i]) return i;
    }
    error(it.path, it.line, "expected one of " + list + ", got '" + *s + "'");
    return std::nullopt;
}

bool Reader::existing_file(const Item& it, std::string& dst) {
    std::string name;
    if (!optional_string(it, name)) return false;
    if (name.empty()) {
        dst.clear();
        return true;
    }
    const auto expanded = expand_credentials_directory(name, credentials_directory());
    if (!expanded) {
        error(it.path, it.line, expanded.error().detail);
        return false;
    }
    const std::string path = resolve(base_dir_, *expanded);
    std::error_code ec;
    const auto status = fs::status(path, ec);
    if (ec || !fs::exists(status)) {
        error(it.path, it.line, "file not found: " + path);
        return false;
    }
    if (!fs::is_regular_file(status)) {
        error(it.path, it.line, "not a regular file: " + path);
        return false;
    }
    std::ifstream probe(path, std::ios::binary);
    if (!probe) {
        error(it.path, it.line, "file not readable: " + path);
        return false;
    }
    dst = path;
    return true;
}

namespace {

int nibble(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

// The key is a secret: errors describe it, never quote it.
bool Reader::hex_key(const Item& it, std::vector<std::uint8_t>& out) {
    if (!it.node.IsScalar()) {
        error(it.path, it.line,
              "expected hex digits, got " + std::string(it.node.IsNull()  ? "nothing"
                                                        : it.node.IsMap() ? "a map"
                                                                          : "a list"));
        return false;
    }
    const std::string& hex = it.node.Scalar();
    if (!std::all_of(hex.begin(), hex.end(), [](char c) { return nibble(c) >= 0; })) {
        error(it.path, it.line, "expected hex digits only (0-9, a-f)");
        return false;
    }
    if (hex.size() % 2 != 0) {
        error(it.path, it.line,
              "expected an even number of hex digits, got " + std::to_string(hex.size()));
        return false;
    }
    if (hex.empty() || hex.size() > 128) {
        error(it.path, it.line, "key must be 1 to 64 bytes, got " + std::to_string(hex.size() / 2));
        return false;
    }
    out.clear();
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        out.push_back(static_cast<std::uint8_t>(nibble(hex[i]) * 16 + nibble(hex[i + 1])));
    }
    return true;
}

}  // namespace lwgate::config
