// When to give free heap pages back to the kernel (HeapTrimmer runs malloc_trim(0) on it).
//
// A burst of connections (a reconnect storm, a fleet coming online) allocates transient memory
// per connection (OpenSSL's 17 KiB record buffers and handshake state, frames) interleaved with
// each connection's long-lived state. After the burst the transient part is free again, but
// glibc only returns the top of a heap by itself: the holes stay resident (lwgate-bench tls:
// 2,000 devices connecting at 5,000/s left ~11 KiB of free heap per device). Trimming walks every
// arena under its lock, so it is done once a burst is over, not while connections keep coming:
// when at least min_churn connection events (accepts, handshakes, closes) happened since the
// last trim and none during the last tick; under steady churn at most once per max_interval.
// Sans-I/O: the caller ticks it with the running total of events.
#pragma once

#include <cstdint>

#include "util/clock.hpp"

namespace lwgate::app {

class HeapTrimPolicy {
  public:
    struct Params {
        std::uint64_t min_churn = 256;
        Duration max_interval{60'000};
    };

    HeapTrimPolicy(Params params, TimePoint now) : params_(params), last_trim_(now) {}

    // True when the heap should be trimmed now.
    bool on_tick(TimePoint now, std::uint64_t churn_total) {
        const bool quiet = churn_total == last_churn_;
        last_churn_ = churn_total;
        if (churn_total - trimmed_at_churn_ < params_.min_churn) return false;
        if (!quiet && now - last_trim_ < params_.max_interval) return false;
        trimmed_at_churn_ = churn_total;
        last_trim_ = now;
        return true;
    }

  private:
    Params params_;
    TimePoint last_trim_;
    std::uint64_t last_churn_ = 0;
    std::uint64_t trimmed_at_churn_ = 0;
};

}  // namespace lwgate::app
