#include "session/address_counts.hpp"

#include <cstring>
#include <utility>

namespace lwgate::session {

namespace {

// splitmix64's finalizer: every input bit moves every output bit, so the seed cannot be
// cancelled out by choosing addresses.
std::uint64_t mix(std::uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

}  // namespace

std::size_t AddressCounts::Hash::operator()(const Address& address) const noexcept {
    std::uint64_t high = 0;
    std::uint64_t low = 0;
    std::memcpy(&high, address.data(), sizeof high);
    std::memcpy(&low, address.data() + sizeof high, sizeof low);
    return static_cast<std::size_t>(mix(mix(high ^ seed) ^ low) + seed);
}

bool AddressCounts::try_add(const Address& address, unsigned limit) {
    auto [it, inserted] = counts_.try_emplace(address, 0u);
    if (limit != 0 && it->second >= limit) return false;
    ++it->second;
    return true;
}

void AddressCounts::remove(const Address& address) {
    const auto it = counts_.find(address);
    if (it == counts_.end()) return;
    if (--it->second == 0) counts_.erase(it);
}

unsigned AddressCounts::count(const Address& address) const {
    const auto it = counts_.find(address);
    return it == counts_.end() ? 0 : it->second;
}

PendingHandshakes::Ticket::Ticket(Ticket&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)), address_(other.address_) {}

PendingHandshakes::Ticket& PendingHandshakes::Ticket::operator=(Ticket&& other) noexcept {
    if (this != &other) {
        release();
        owner_ = std::exchange(other.owner_, nullptr);
        address_ = other.address_;
    }
    return *this;
}

void PendingHandshakes::Ticket::release() {
    if (auto* owner = std::exchange(owner_, nullptr)) owner->remove(address_);
}

std::optional<PendingHandshakes::Ticket> PendingHandshakes::admit(const Address& address,
                                                                  unsigned limit) {
    if (limit == 0) return Ticket{};
    std::lock_guard lock(mutex_);
    if (!counts_.try_add(address, limit)) return std::nullopt;
    return Ticket{this, address};
}

unsigned PendingHandshakes::count(const Address& address) const {
    std::lock_guard lock(mutex_);
    return counts_.count(address);
}

std::size_t PendingHandshakes::addresses() const {
    std::lock_guard lock(mutex_);
    return counts_.addresses();
}

void PendingHandshakes::remove(const Address& address) {
    std::lock_guard lock(mutex_);
    counts_.remove(address);
}

}  // namespace lwgate::session
