#include "cluster/ownership.hpp"

#include <algorithm>

namespace lwgate::cluster {

std::optional<std::uint64_t> Ownership::epoch_of(const std::string& endpoint) const {
    auto it = owned_.find(endpoint);
    if (it == owned_.end()) return std::nullopt;
    return it->second;
}

bool Ownership::refusing(const std::string& endpoint) const {
    auto it = moving_.find(endpoint);
    return it != moving_.end() && it->second.refused;
}

void Ownership::claim(const std::string& endpoint, Move& move) {
    move.phase = Phase::claiming;
    move.deadline = never;
    actions_.push_back(Claim{endpoint});
}

void Ownership::on_device_bound(const std::string& endpoint, TimePoint now) {
    if (owned_.count(endpoint)) return;
    auto [it, fresh] = moving_.try_emplace(endpoint);
    Move& move = it->second;
    move.device_here = true;
    // A device back while its endpoint is handed over waits from now on too.
    if (move.started == never) move.started = now;
    if (!fresh) return;  // already moving here, or away (on_handed_over brings it back)
    claim(endpoint, move);
}

void Ownership::on_device_gone(const std::string& endpoint) {
    auto it = moving_.find(endpoint);
    if (it == moving_.end()) return;
    it->second.device_here = false;
    // Waiting for a holder serves nobody now. A claim in flight is left to finish: if it is
    // granted the endpoint is ours like any other (its device may come back here).
    if (it->second.phase == Phase::awaiting) moving_.erase(it);
}

void Ownership::on_claim_result(const std::string& endpoint, const ClaimResult& result,
                                TimePoint now) {
    auto it = moving_.find(endpoint);
    if (it == moving_.end() || it->second.phase != Phase::claiming) return;  // not asked now
    Move& move = it->second;
    if (result.outcome == ClaimOutcome::granted) {
        moving_.erase(it);
        owned_[endpoint] = result.epoch;
        actions_.push_back(Adopt{endpoint, result.epoch});
        return;
    }
    if (!move.device_here || !result.holder) {
        moving_.erase(it);
        return;
    }
    move.phase = Phase::awaiting;
    move.peer = result.holder;
    move.deadline = now + params_.handover_timeout;
    actions_.push_back(RequestHandover{endpoint, *result.holder});
}

void Ownership::on_handover_requested(const std::string& endpoint, const InstanceId& from) {
    auto owned = owned_.find(endpoint);
    if (owned == owned_.end()) {
        auto it = moving_.find(endpoint);
        const bool handing_over = it != moving_.end() && it->second.phase == Phase::handing_over;
        if (!handing_over) {
            actions_.push_back(NotifyReleased{endpoint, from});  // not ours
        } else if (!it->second.peer) {
            it->second.peer = from;  // being released: told once it is
        }
        return;
    }
    // The device connected there later than here: a connection here is the older one.
    Move move;
    move.phase = Phase::handing_over;
    move.epoch = owned->second;
    move.peer = from;
    owned_.erase(owned);
    actions_.push_back(HandOver{endpoint, move.epoch, from});
    moving_[endpoint] = std::move(move);
}

std::optional<std::uint64_t> Ownership::on_registration_ended(const std::string& endpoint) {
    auto owned = owned_.find(endpoint);
    if (owned == owned_.end()) return std::nullopt;
    const std::uint64_t epoch = owned->second;
    owned_.erase(owned);
    Move& move = moving_[endpoint];
    move.phase = Phase::handing_over;
    move.epoch = epoch;
    return epoch;
}

void Ownership::on_handed_over(const std::string& endpoint) {
    auto it = moving_.find(endpoint);
    if (it == moving_.end() || it->second.phase != Phase::handing_over) return;
    if (it->second.peer) actions_.push_back(NotifyReleased{endpoint, *it->second.peer});
    if (it->second.device_here) {
        // The device came back here while it was handed over: it moves back.
        it->second.peer.reset();
        claim(endpoint, it->second);
        return;
    }
    moving_.erase(it);
}

void Ownership::on_released_notice(const std::string& endpoint, TimePoint) {
    auto it = moving_.find(endpoint);
    if (it == moving_.end() || it->second.phase != Phase::awaiting) return;
    claim(endpoint, it->second);
}

void Ownership::lose(const std::string& endpoint) {
    owned_.erase(endpoint);
    moving_.erase(endpoint);
    actions_.push_back(Drop{endpoint});
}

void Ownership::on_write_refused(const std::string& endpoint) {
    auto it = moving_.find(endpoint);
    const bool handing_over = it != moving_.end() && it->second.phase == Phase::handing_over;
    if (owned_.count(endpoint) || handing_over) lose(endpoint);
}

void Ownership::on_lease_lapsed() {
    for (const auto& [endpoint, epoch] : owned_)
        actions_.push_back(Revalidate{endpoint, epoch});
}

void Ownership::on_revalidated(const std::string& endpoint, bool still_ours) {
    if (!still_ours && owned_.count(endpoint)) lose(endpoint);
}

void Ownership::on_reclaimed(const std::string& endpoint, std::uint64_t epoch) {
    if (auto it = owned_.find(endpoint); it != owned_.end()) it->second = epoch;
}

void Ownership::check_wait(const std::string& endpoint, Move& move, TimePoint now) {
    if (move.phase == Phase::handing_over || move.refused || !move.device_here) return;
    if (move.started == never || now < move.started + params_.wait_limit) return;
    move.refused = true;
    actions_.push_back(Refuse{endpoint});
}

void Ownership::on_tick(TimePoint now) {
    for (auto& [endpoint, move] : moving_) {
        if (move.phase == Phase::awaiting && now >= move.deadline) claim(endpoint, move);
        check_wait(endpoint, move, now);
    }
}

TimePoint Ownership::next_deadline() const {
    TimePoint next = never;
    for (const auto& [endpoint, move] : moving_) {
        if (move.phase == Phase::awaiting) next = std::min(next, move.deadline);
        const bool waiting = move.phase != Phase::handing_over && !move.refused &&
                             move.device_here && move.started != never;
        if (waiting) next = std::min(next, move.started + params_.wait_limit);
    }
    return next;
}

}  // namespace lwgate::cluster
