#include "lwgate/lwm2m/port_pool.hpp"

#include <algorithm>

namespace lwgate::lwm2m {

PortPool::PortPool(std::uint16_t first, std::uint16_t last, unsigned shard, unsigned shard_count)
    : ranged_(first != 0) {
    if (!ranged_) return;
    shard_count = std::max(1u, shard_count);
    for (std::uint32_t p = first; p <= last; ++p) {
        if (p % shard_count == shard % shard_count) ports_.push_back(static_cast<std::uint16_t>(p));
    }
    used_.assign(ports_.size(), false);
}

std::optional<std::uint16_t> PortPool::acquire() {
    if (!ranged_) return 0;
    for (std::size_t i = 0; i < ports_.size(); ++i) {
        const std::size_t k = (next_ + i) % ports_.size();
        if (!used_[k]) {
            used_[k] = true;
            next_ = (k + 1) % ports_.size();
            return ports_[k];
        }
    }
    return std::nullopt;
}

void PortPool::release(std::uint16_t port) {
    if (!ranged_) return;
    auto it = std::lower_bound(ports_.begin(), ports_.end(), port);
    if (it != ports_.end() && *it == port)
        used_[static_cast<std::size_t>(it - ports_.begin())] = false;
}

bool PortPool::take(std::uint16_t port) {
    if (!ranged_) return true;
    auto it = std::lower_bound(ports_.begin(), ports_.end(), port);
    if (it == ports_.end() || *it != port) return false;
    const auto k = static_cast<std::size_t>(it - ports_.begin());
    if (used_[k]) return false;
    used_[k] = true;
    return true;
}

std::size_t PortPool::free_count() const {
    return static_cast<std::size_t>(std::count(used_.begin(), used_.end(), false));
}

}  // namespace lwgate::lwm2m
