#include "lwm2m/directory.hpp"

namespace lwgate::lwm2m {

void Directory::set_registration(RegistrationFacts facts) {
    std::lock_guard lock(mutex_);
    if (auto old = location_of_.find(facts.endpoint);
        old != location_of_.end() && old->second != facts.location) {
        by_location_.erase(old->second);
    }
    // A location the core hands out again belongs to the new registration only.
    if (auto taken = by_location_.find(facts.location);
        taken != by_location_.end() && taken->second.endpoint != facts.endpoint) {
        location_of_.erase(taken->second.endpoint);
    }
    location_of_[facts.endpoint] = facts.location;
    auto location = facts.location;
    by_location_.insert_or_assign(std::move(location), std::move(facts));
}

void Directory::erase_registration(const std::string& location) {
    std::lock_guard lock(mutex_);
    auto it = by_location_.find(location);
    if (it == by_location_.end()) return;
    if (auto of = location_of_.find(it->second.endpoint);
        of != location_of_.end() && of->second == location) {
        location_of_.erase(of);
    }
    by_location_.erase(it);
}

std::optional<RegistrationFacts> Directory::registration_at(const std::string& location) const {
    std::lock_guard lock(mutex_);
    auto it = by_location_.find(location);
    if (it == by_location_.end()) return std::nullopt;
    return it->second;
}

std::optional<RegistrationFacts> Directory::registration_of(const std::string& endpoint) const {
    std::lock_guard lock(mutex_);
    auto of = location_of_.find(endpoint);
    if (of == location_of_.end()) return std::nullopt;
    auto it = by_location_.find(of->second);
    if (it == by_location_.end() || it->second.endpoint != endpoint) return std::nullopt;
    return it->second;
}

std::size_t Directory::registrations() const {
    std::lock_guard lock(mutex_);
    return by_location_.size();
}

Directory::SessionOpen Directory::try_open_session(bool force) {
    auto n = sessions_.load();
    do {
        if (force) continue;
        if (n >= session_limit_.load()) return SessionOpen::over_registrations;
        // Not atomic with the count: shards racing here may overshoot by one each, which the
        // budget's reserve absorbs.
        if (descriptor_room_ && !descriptor_room_(n + 1)) return SessionOpen::over_descriptors;
    } while (!sessions_.compare_exchange_weak(n, n + 1));
    return SessionOpen::opened;
}

}  // namespace lwgate::lwm2m
