// CPU time and memory of a process, from /proc/<pid>/stat and /proc/<pid>/status.
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace lwgate::bench {

struct ProcSample {
    double cpu_seconds = 0;     // utime + stime
    std::uint64_t rss_kib = 0;  // VmRSS
    std::uint64_t hwm_kib = 0;  // VmHWM (peak RSS)
    unsigned threads = 0;
    std::uint64_t fds = 0;  // entries of /proc/<pid>/fd (only when count_fds)
    // Summed over the threads (/proc/<pid>/task/*/schedstat): time on a CPU, and time runnable
    // but waiting for one (what a loaded machine takes away).
    double run_seconds = 0;
    double wait_seconds = 0;
    bool ok = false;
};

ProcSample sample_process(pid_t pid, bool count_fds = false);

// Machine load (1-minute average), for the report next to every run.
double load_average();

}  // namespace lwgate::bench
