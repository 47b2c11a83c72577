// Token bucket (accept rate, per-device notification pacing, logging budgets); pure, time passed
// in.
#pragma once

#include <algorithm>
#include <chrono>

#include "util/clock.hpp"

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

    // When try_take() succeeds next (now or earlier when a token is there already).
    TimePoint next_token_at() const {
        if (rate_ <= 0 || tokens_ >= 1.0) return last_;
        const auto wait = std::chrono::duration<double>((1.0 - tokens_) / rate_);
        return last_ + std::chrono::ceil<Clock::duration>(wait);
    }

    TimePoint last_refill() const { return last_; }

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
