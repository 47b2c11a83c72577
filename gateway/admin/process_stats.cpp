#include "admin/process_stats.hpp"

#include <array>
#include <charconv>
#include <optional>

namespace lwgate::admin {

namespace {

Error malformed(std::string what) {
    return Error{ProcessErrc::malformed, std::move(what)};
}

// The next blank-separated field of `rest`, consumed; empty at the end.
std::string_view next_field(std::string_view& rest) {
    const auto start = rest.find_first_not_of(" \t\n");
    if (start == std::string_view::npos) {
        rest = {};
        return {};
    }
    rest.remove_prefix(start);
    const auto end = rest.find_first_of(" \t\n");
    const auto field = rest.substr(0, end);
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
    return field;
}

std::optional<std::uint64_t> number(std::string_view text) {
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

}  // namespace

Result<ProcStat, Error> parse_proc_stat(std::string_view text) {
    const auto close = text.rfind(')');
    if (close == std::string_view::npos)
        return fail(malformed("/proc/self/stat: no ')' after the command"));
    std::string_view rest = text.substr(close + 1);
    // Fields 3 (state) to 24 (rss): 22 of them, counted from the one after the command.
    std::array<std::uint64_t, 25> field{};
    for (std::size_t n = 3; n <= 24; ++n) {
        const auto f = next_field(rest);
        if (f.empty())
            return fail(malformed("/proc/self/stat: only " + std::to_string(n - 1) + " fields"));
        if (n == 3) continue;  // the state letter
        const auto value = number(f);
        // Fields 4 to 24 are numbers; a few may be negative (priority, nice), none of those used.
        if (!value && (n == 14 || n == 15 || n >= 22)) {
            return fail(malformed("/proc/self/stat: field " + std::to_string(n) + " is '" +
                                  std::string(f.substr(0, 32)) + "', not a number"));
        }
        field[n] = value.value_or(0);
    }
    return ProcStat{field[14], field[15], field[22], field[23], field[24]};
}

Result<std::uint64_t, Error> parse_boot_time(std::string_view text) {
    std::size_t at = 0;
    while (at < text.size()) {
        const auto end = text.find('\n', at);
        std::string_view line =
            text.substr(at, end == std::string_view::npos ? text.size() - at : end - at);
        at = end == std::string_view::npos ? text.size() : end + 1;
        if (next_field(line) != "btime") continue;
        if (const auto value = number(next_field(line))) return *value;
        return fail(malformed("/proc/stat: the btime line has no number"));
    }
    return fail(malformed("/proc/stat: no btime line"));
}

ProcessSample process_sample(const ProcStat& stat, std::uint64_t boot_time,
                             std::uint64_t ticks_per_second, std::uint64_t page_size) {
    const double ticks = ticks_per_second == 0 ? 100.0 : static_cast<double>(ticks_per_second);
    ProcessSample out;
    out.cpu_seconds = static_cast<double>(stat.utime_ticks + stat.stime_ticks) / ticks;
    out.start_time_seconds =
        static_cast<double>(boot_time) + static_cast<double>(stat.start_ticks) / ticks;
    out.resident_bytes = stat.resident_pages * page_size;
    out.virtual_bytes = stat.virtual_bytes;
    return out;
}

}  // namespace lwgate::admin
