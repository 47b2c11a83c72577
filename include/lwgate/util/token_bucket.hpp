// Token bucket for accept-rate limiting; pure, time passed in.
#pragma once

#include <algorithm>
#include <chrono>

#include "lwgate/util/clock.hpp"

namespace lwgate {

class TokenBucket {
  public:
    // rate: tokens per second (<= 0 disables the limit); burst: bucket size (>= 1).
    TokenBucket(double rate, double burst, TimePoint now)
        : rate_(rate), burst_(std::max(burst, 1.0)), tokens_(burst_), last_(now) {}

    bool try_take(TimePoint now) {
        if (rate_ <= 0) return true;
        refill(now);
        if (tokens_ < 1.0) return false;
        tokens_ -= 1.0;
        return true;
    }

  private:
    void refill(TimePoint now) {
        if (now <= last_) return;
        const double elapsed = std::chrono::duration<double>(now - last_).count();
        tokens_ = std::min(burst_, tokens_ + elapsed * rate_);
        last_ = now;
    }

    double rate_;
    double burst_;
    double tokens_;
    TimePoint last_;
};

}  // namespace lwgate
