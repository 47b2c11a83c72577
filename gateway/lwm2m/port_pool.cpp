#include "lwm2m/port_pool.hpp"

#include <algorithm>

namespace lwgate::lwm2m {

PortPool::PortPool(std::size_t addresses, std::uint16_t first, std::uint16_t last, unsigned shard,
                   unsigned shard_count)
    : ranged_(first != 0), addresses_(std::max<std::size_t>(1, addresses)) {
    if (!ranged_) {
        next_ = shard % addresses_;  // shards start on different addresses
        return;
    }
    shard_count = std::max(1u, shard_count);
    for (std::uint32_t p = first; p <= last; ++p) {
        if (p % shard_count == shard % shard_count) ports_.push_back(static_cast<std::uint16_t>(p));
    }
    used_.assign(ports_.size() * addresses_, false);
}

std::optional<LocalPort> PortPool::acquire() {
    if (!ranged_) {
        const auto address = static_cast<std::uint16_t>(next_);
        next_ = (next_ + 1) % addresses_;
        return LocalPort{address, 0};
    }
    for (std::size_t i = 0; i < used_.size(); ++i) {
        const std::size_t k = (next_ + i) % used_.size();
        if (!used_[k]) {
            used_[k] = true;
            next_ = (k + 1) % used_.size();
            return LocalPort{static_cast<std::uint16_t>(k % addresses_), ports_[k / addresses_]};
        }
    }
    return std::nullopt;
}

std::optional<std::size_t> PortPool::slot(LocalPort local) const {
    if (local.address >= addresses_) return std::nullopt;
    auto it = std::lower_bound(ports_.begin(), ports_.end(), local.port);
    if (it == ports_.end() || *it != local.port) return std::nullopt;
    return static_cast<std::size_t>(it - ports_.begin()) * addresses_ + local.address;
}

void PortPool::release(LocalPort local) {
    if (!ranged_) return;
    if (auto k = slot(local)) used_[*k] = false;
}

bool PortPool::take(LocalPort local) {
    if (!ranged_) return true;
    auto k = slot(local);
    if (!k || used_[*k]) return false;
    used_[*k] = true;
    return true;
}

std::size_t PortPool::free_count() const {
    return static_cast<std::size_t>(std::count(used_.begin(), used_.end(), false));
}

}  // namespace lwgate::lwm2m
