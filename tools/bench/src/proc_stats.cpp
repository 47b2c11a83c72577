#include "proc_stats.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace lwgate::bench {

ProcSample sample_process(pid_t pid, bool count_fds) {
    ProcSample s;
    const std::string base = "/proc/" + std::to_string(pid);
    {
        std::ifstream in(base + "/stat");
        std::string line;
        if (!std::getline(in, line)) return s;
        // Field 2 (comm) may contain spaces: parse after the last ')'.
        const auto close = line.rfind(')');
        if (close == std::string::npos) return s;
        std::istringstream rest(line.substr(close + 2));
        std::string field;
        unsigned long utime = 0, stime = 0;
        // Fields from 3 (state) on; utime is field 14, stime 15.
        for (int i = 3; i <= 15 && rest >> field; ++i) {
            if (i == 14) utime = std::strtoul(field.c_str(), nullptr, 10);
            if (i == 15) stime = std::strtoul(field.c_str(), nullptr, 10);
        }
        s.cpu_seconds =
            static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
    }
    {
        std::ifstream in(base + "/status");
        std::string line;
        while (std::getline(in, line)) {
            if (line.rfind("VmRSS:", 0) == 0)
                s.rss_kib = std::strtoull(line.c_str() + 6, nullptr, 10);
            if (line.rfind("VmHWM:", 0) == 0)
                s.hwm_kib = std::strtoull(line.c_str() + 6, nullptr, 10);
            if (line.rfind("Threads:", 0) == 0)
                s.threads = static_cast<unsigned>(std::strtoul(line.c_str() + 8, nullptr, 10));
        }
    }
    {
        std::error_code ec;
        for (auto it = std::filesystem::directory_iterator(base + "/task", ec);
             !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
            std::ifstream in(it->path() / "schedstat");
            unsigned long long run = 0, wait = 0;
            if (in >> run >> wait) {
                s.run_seconds += static_cast<double>(run) / 1e9;
                s.wait_seconds += static_cast<double>(wait) / 1e9;
            }
        }
    }
    if (count_fds) {
        std::error_code ec;
        for (auto it = std::filesystem::directory_iterator(base + "/fd", ec);
             !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
            ++s.fds;
    }
    s.ok = true;
    return s;
}

double load_average() {
    double l[1] = {0};
    return getloadavg(l, 1) == 1 ? l[0] : -1;
}

}  // namespace lwgate::bench
