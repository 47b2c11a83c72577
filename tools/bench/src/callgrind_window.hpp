// Counts lwgate's user-space instructions during one measured phase, with lwgate running under
// `valgrind --tool=callgrind --instr-atstart=no` (lwgate-bench --callgrind DIR).
//
// Why: this machine's speed drifts by ±20% from minute to minute and it has no hardware
// counters, so CPU time per operation cannot show a 5% change. Instructions executed per
// relayed message are the same on every run (to ~1%), which makes before/after comparisons of
// user-space changes exact. They do not cover the kernel (about 60% of lwgate's CPU per message
// on loopback), so throughput still needs the normal runs.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lwgate::bench {

class CallgrindWindow {
  public:
    // dir: where callgrind writes lwgate.<pid>.<n>; empty = disabled (every call a no-op).
    explicit CallgrindWindow(std::string dir) : dir_(std::move(dir)) {}
    bool enabled() const { return !dir_.empty(); }

    // The command prefix that runs lwgate under callgrind, instrumentation off.
    std::vector<std::string> wrapper() const;
    // Instrumentation on (returns once callgrind has applied it).
    void begin(pid_t pid) const;
    // Dumps the counts since begin() and turns instrumentation off: the instructions executed,
    // or nullopt when callgrind did not answer or the dump could not be read.
    std::optional<std::uint64_t> end(pid_t pid) const;

  private:
    std::string dir_;
};

}  // namespace lwgate::bench
