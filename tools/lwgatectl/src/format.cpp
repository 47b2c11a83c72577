#include "format.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "lwgate/config/duration.hpp"

namespace lwgate::ctl {

int exit_code_for_health(std::string_view status) {
    if (status == "ok") return exit_ok;
    if (status == "degraded") return exit_degraded;
    return exit_failing;
}

std::string Table::render() const {
    std::vector<std::size_t> widths(headers_.size(), 0);
    auto widen = [&widths](const std::vector<std::string>& cells) {
        if (widths.size() < cells.size()) widths.resize(cells.size(), 0);
        for (std::size_t i = 0; i < cells.size(); ++i)
            widths[i] = std::max(widths[i], cells[i].size());
    };
    widen(headers_);
    for (const auto& row : rows_)
        widen(row);
    std::string out;
    auto line = [&](const std::vector<std::string>& cells) {
        std::string text;
        for (std::size_t i = 0; i < cells.size(); ++i) {
            text += cells[i];
            if (i + 1 < cells.size()) text.append(widths[i] - cells[i].size() + 2, ' ');
        }
        while (!text.empty() && text.back() == ' ')
            text.pop_back();
        out += text;
        out += '\n';
    };
    if (!headers_.empty()) line(headers_);
    for (const auto& row : rows_)
        line(row);
    return out;
}

namespace {

std::string printf_string(const char* format, double value) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, format, value);
    return buffer;
}

std::string two_units(std::uint64_t big, const char* big_unit, std::uint64_t small,
                      const char* small_unit) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%llu%s%02llu%s", static_cast<unsigned long long>(big),
                  big_unit, static_cast<unsigned long long>(small), small_unit);
    return buffer;
}

}  // namespace

std::string format_seconds(double seconds) {
    if (!(seconds >= 0) || !std::isfinite(seconds)) return "-";
    if (seconds < 10) return printf_string("%.1fs", seconds);
    const auto whole = static_cast<std::uint64_t>(seconds);
    if (whole < 60) return std::to_string(whole) + "s";
    if (whole < 3600) return two_units(whole / 60, "m", whole % 60, "s");
    if (whole < 86400) return two_units(whole / 3600, "h", whole % 3600 / 60, "m");
    return two_units(whole / 86400, "d", whole % 86400 / 3600, "h");
}

std::string format_ms(double ms) {
    if (!(ms >= 0) || !std::isfinite(ms)) return "-";
    if (ms < 10) return printf_string("%.2fms", ms);
    if (ms < 100) return printf_string("%.1fms", ms);
    return printf_string("%.0fms", ms);
}

std::string format_bytes(std::uint64_t bytes) {
    if (bytes < 1024) return std::to_string(bytes) + " B";
    const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
    double value = static_cast<double>(bytes) / 1024;
    std::size_t unit = 0;
    while (value >= 1024 && unit + 1 < std::size(units)) {
        value /= 1024;
        ++unit;
    }
    return printf_string("%.1f ", value) + units[unit];
}

std::optional<std::chrono::milliseconds> parse_cli_duration(std::string_view text) {
    return config::parse_duration(text);
}

std::optional<AdminAddress> parse_admin_address(std::string_view text) {
    AdminAddress out;
    out.text = std::string(text);
    std::string_view rest = text;
    if (rest.starts_with("https://")) {
        out.https = true;
        rest.remove_prefix(8);
    } else if (rest.starts_with("http://")) {
        rest.remove_prefix(7);
    }
    if (rest.ends_with('/')) rest.remove_suffix(1);
    std::string_view host;
    std::string_view port;
    if (rest.starts_with('[')) {
        const auto close = rest.find(']');
        if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':')
            return std::nullopt;
        host = rest.substr(1, close - 1);
        port = rest.substr(close + 2);
    } else {
        const auto colon = rest.rfind(':');
        if (colon == std::string_view::npos) return std::nullopt;
        host = rest.substr(0, colon);
        port = rest.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) return std::nullopt;  // v6 needs brackets
    }
    if (host.empty() || port.empty()) return std::nullopt;
    if (host.find_first_of("/?# ") != std::string_view::npos) return std::nullopt;
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535)
        return std::nullopt;
    out.host = std::string(host);
    out.port = static_cast<std::uint16_t>(value);
    return out;
}

const std::vector<std::string>& known_states() {
    static const std::vector<std::string> states{"active",  "idle",         "pinging",  "half_open",
                                                 "closing", "unregistered", "sleeping", "away"};
    return states;
}

std::optional<std::string> normalize_state(std::string_view text) {
    std::string state(text);
    std::replace(state.begin(), state.end(), '-', '_');
    std::transform(state.begin(), state.end(), state.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const auto& states = known_states();
    if (std::find(states.begin(), states.end(), state) == states.end()) return std::nullopt;
    return state;
}

std::string percent_encode(std::string_view text) {
    static const char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : text) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == ':' ||
            c == '@') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

std::string lower_first(std::string text) {
    if (!text.empty())
        text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
    return text;
}

}  // namespace lwgate::ctl
