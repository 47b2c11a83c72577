#include "session/keepalive_fsm.hpp"

#include <algorithm>

namespace lwgate::session {

KeepaliveFsm::KeepaliveFsm(const KeepaliveParams& params, TimePoint now)
    : params_(params), start_(now), last_rx_(now), unregistered_since_(now) {}

void KeepaliveFsm::on_rx(TimePoint now) {
    last_rx_ = now;
    ping_outstanding_ = false;
    missed_ = 0;
}

void KeepaliveFsm::on_csm_received() {
    csm_pending_ = false;
}

std::optional<Rtt> KeepaliveFsm::on_pong(TimePoint now) {
    if (!rtt_pending_) return std::nullopt;
    rtt_pending_ = false;
    return std::chrono::duration_cast<Rtt>(now - rtt_ping_sent_at_);
}

void KeepaliveFsm::set_registered(bool registered, TimePoint now) {
    if (registered_ && !registered) unregistered_since_ = now;
    registered_ = registered;
}

void KeepaliveFsm::on_ping_sent(TimePoint now) {
    rtt_pending_ = true;
    rtt_ping_sent_at_ = now;
}

KeepaliveAction KeepaliveFsm::on_tick(TimePoint now) {
    if (csm_pending_ && now >= start_ + params_.csm_timeout) {
        csm_pending_ = false;
        return params_.csm_strict ? KeepaliveAction::close_csm_timeout
                                  : KeepaliveAction::csm_defaulted;
    }
    if (!registered_ && params_.unregistered_idle.count() > 0 &&
        now >= unregistered_since_ + params_.unregistered_idle) {
        return KeepaliveAction::close_unregistered_idle;
    }
    if (ping_outstanding_) {
        if (now < ping_sent_at_ + params_.pong_timeout) return KeepaliveAction::none;
        ++missed_;
        if (missed_ >= params_.max_missed) return KeepaliveAction::close_half_open;
    } else if (now < last_rx_ + params_.idle) {
        return KeepaliveAction::none;
    }
    ping_outstanding_ = true;
    ping_sent_at_ = now;
    on_ping_sent(now);
    return KeepaliveAction::send_ping;
}

TimePoint KeepaliveFsm::next_deadline() const {
    TimePoint next =
        ping_outstanding_ ? ping_sent_at_ + params_.pong_timeout : last_rx_ + params_.idle;
    if (csm_pending_) next = std::min(next, start_ + params_.csm_timeout);
    if (!registered_ && params_.unregistered_idle.count() > 0) {
        next = std::min(next, unregistered_since_ + params_.unregistered_idle);
    }
    return next;
}

}  // namespace lwgate::session
