// The process_* metrics Prometheus client libraries export (CPU, memory, start time), computed
// from the text of Linux's /proc files. Pure: app/admin_backend.cpp reads the files at each
// scrape and hands their text here; a file that does not parse is a typed error, and its
// metrics are left out of that scrape rather than reported as zero.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

#include "lwgate/util/result.hpp"

namespace lwgate::admin {

enum class ProcessErrc {
    unreadable = 1,  // the /proc file could not be read
    malformed,       // it does not have the fields it should
};

class ProcessCategory final : public std::error_category {
  public:
    const char* name() const noexcept override { return "lwgate.process"; }
    std::string message(int value) const override {
        switch (static_cast<ProcessErrc>(value)) {
            case ProcessErrc::unreadable:
                return "cannot read the /proc file";
            case ProcessErrc::malformed:
                return "malformed /proc text";
        }
        return "unknown lwgate.process error " + std::to_string(value);
    }
};

inline const std::error_category& process_category() noexcept {
    static const ProcessCategory category;
    return category;
}

inline std::error_code make_error_code(ProcessErrc e) noexcept {
    return {static_cast<int>(e), process_category()};
}

// The fields of /proc/self/stat (proc(5)) that the metrics need, in the kernel's units.
struct ProcStat {
    std::uint64_t utime_ticks = 0;     // field 14: user CPU, in clock ticks
    std::uint64_t stime_ticks = 0;     // field 15: system CPU, in clock ticks
    std::uint64_t start_ticks = 0;     // field 22: start, in clock ticks after boot
    std::uint64_t virtual_bytes = 0;   // field 23: vsize
    std::uint64_t resident_pages = 0;  // field 24: rss
};

// /proc/self/stat. The command name (field 2) is in parentheses and may itself hold spaces and
// parentheses: the fields are counted from the last ')'.
Result<ProcStat, Error> parse_proc_stat(std::string_view text);

// /proc/stat's "btime" line: the boot time, in seconds since the epoch.
Result<std::uint64_t, Error> parse_boot_time(std::string_view text);

// What /metrics reports as process_*.
struct ProcessSample {
    double cpu_seconds = 0;            // process_cpu_seconds_total
    double start_time_seconds = 0;     // process_start_time_seconds (since the epoch)
    std::uint64_t resident_bytes = 0;  // process_resident_memory_bytes
    std::uint64_t virtual_bytes = 0;   // process_virtual_memory_bytes
};

// ticks_per_second: sysconf(_SC_CLK_TCK); page_size: sysconf(_SC_PAGESIZE).
ProcessSample process_sample(const ProcStat& stat, std::uint64_t boot_time,
                             std::uint64_t ticks_per_second, std::uint64_t page_size);

}  // namespace lwgate::admin

template <>
struct std::is_error_code_enum<lwgate::admin::ProcessErrc> : std::true_type {};
