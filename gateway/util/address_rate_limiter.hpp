// A token bucket per source address, bounded in memory: an attacker spraying addresses can make
// it forget buckets, never grow without bound. Pure, time passed in.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>

#include "util/token_bucket.hpp"

namespace lwgate {

class AddressRateLimiter {
  public:
    // rate <= 0: no limit. burst 0: one second's worth.
    AddressRateLimiter(double rate, double burst, std::size_t max_addresses = 65536)
        : rate_(rate), burst_(burst > 0 ? burst : rate), max_addresses_(max_addresses) {}

    bool allow(std::string_view address, TimePoint now) {
        if (rate_ <= 0) return true;
        auto it = buckets_.find(std::string(address));
        if (it == buckets_.end()) {
            if (buckets_.size() >= max_addresses_) forget_idle(now);
            // Still full (every address is busy): start over rather than grow.
            if (buckets_.size() >= max_addresses_) buckets_.clear();
            it = buckets_.emplace(std::string(address), TokenBucket(rate_, burst_, now)).first;
        }
        return it->second.try_take(now);
    }

    std::size_t addresses() const { return buckets_.size(); }

  private:
    // Buckets that refilled completely would behave like new ones: drop them.
    void forget_idle(TimePoint now) {
        const auto full = std::chrono::duration<double>(burst_ / rate_);
        for (auto it = buckets_.begin(); it != buckets_.end();) {
            if (now - it->second.last_refill() >= full) {
                it = buckets_.erase(it);
            } else {
                ++it;
            }
        }
    }

    double rate_;
    double burst_;
    std::size_t max_addresses_;
    std::unordered_map<std::string, TokenBucket> buckets_;
};

// "1.2.3.4:5683" -> "1.2.3.4"; "[::1]:5683" -> "::1" (a remote as ConnectionInfo spells it).
inline std::string_view address_of(std::string_view remote) {
    if (!remote.empty() && remote.front() == '[') {
        const auto close = remote.find(']');
        return close == std::string_view::npos ? remote : remote.substr(1, close - 1);
    }
    const auto colon = remote.rfind(':');
    return colon == std::string_view::npos ? remote : remote.substr(0, colon);
}

}  // namespace lwgate
