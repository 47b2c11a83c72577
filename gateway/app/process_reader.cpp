#include "app/process_reader.hpp"

#include <unistd.h>

#include <atomic>
#include <fstream>
#include <iterator>
#include <string>

#include <spdlog/spdlog.h>

namespace lwgate::app {

namespace {

// /proc/self/stat is one line of a few hundred bytes; /proc/stat grows with the CPUs and
// interrupts (its "intr" line), and btime comes after those.
constexpr std::size_t stat_cap = 4096;
constexpr std::size_t system_stat_cap = 1 << 20;

Result<std::string, Error> read_capped(const char* path, std::size_t cap) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return fail(Error{admin::ProcessErrc::unreadable, path});
    std::string text(cap, '\0');
    in.read(text.data(), static_cast<std::streamsize>(cap));
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (in.bad()) return fail(Error{admin::ProcessErrc::unreadable, path});
    return text;
}

// The boot time does not change while the process runs: read once.
Result<std::uint64_t, Error> boot_time() {
    static const Result<std::uint64_t, Error> once = []() -> Result<std::uint64_t, Error> {
        auto text = read_capped("/proc/stat", system_stat_cap);
        if (!text) return fail(std::move(text).error());
        return admin::parse_boot_time(*text);
    }();
    return once;
}

Result<admin::ProcessSample, Error> read_sample() {
    const auto text = read_capped("/proc/self/stat", stat_cap);
    if (!text) return fail(text.error());
    const auto stat = admin::parse_proc_stat(*text);
    if (!stat) return fail(stat.error());
    const auto boot = boot_time();
    if (!boot) return fail(boot.error());
    const long ticks = ::sysconf(_SC_CLK_TCK);
    const long page = ::sysconf(_SC_PAGESIZE);
    return admin::process_sample(*stat, *boot, ticks > 0 ? static_cast<std::uint64_t>(ticks) : 100,
                                 page > 0 ? static_cast<std::uint64_t>(page) : 4096);
}

}  // namespace

std::optional<admin::ProcessSample> read_process_sample() {
    auto sample = read_sample();
    if (sample) return *sample;
    static std::atomic<bool> logged{false};
    if (!logged.exchange(true))
        spdlog::warn("process_* metrics left out: {}", sample.error().message());
    return std::nullopt;
}

}  // namespace lwgate::app
