#include "session/admin_pings.hpp"

#include <algorithm>
#include <utility>

namespace lwgate::session {

std::uint64_t AdminPings::start(TimePoint now, Duration timeout, std::uint64_t pongs,
                                std::uint64_t rtt_samples) {
    if (waiting_.size() >= max_waiting) settle(0, {AdminPingResult::Outcome::timeout, {}});
    const auto id = next_id_++;
    waiting_.push_back({id, now, now + timeout, pongs, rtt_samples});
    return id;
}

void AdminPings::on_pongs(TimePoint now, std::uint64_t pongs, std::uint64_t rtt_samples,
                          std::optional<Rtt> last_rtt) {
    for (std::size_t i = 0; i < waiting_.size();) {
        const auto& w = waiting_[i];
        if (pongs <= w.pongs_before) {
            ++i;
            continue;
        }
        Rtt rtt = std::chrono::duration_cast<Rtt>(now - w.sent_at);
        if (rtt_samples > w.rtt_samples_before && last_rtt) rtt = *last_rtt;
        settle(i, {AdminPingResult::Outcome::pong, rtt});
    }
}

void AdminPings::on_tick(TimePoint now) {
    for (std::size_t i = 0; i < waiting_.size();) {
        if (now >= waiting_[i].deadline) {
            settle(i, {AdminPingResult::Outcome::timeout, {}});
        } else {
            ++i;
        }
    }
}

void AdminPings::close() {
    while (!waiting_.empty())
        settle(0, {AdminPingResult::Outcome::closed, {}});
}

TimePoint AdminPings::next_deadline() const {
    TimePoint next = never;
    for (const auto& w : waiting_)
        next = std::min(next, w.deadline);
    return next;
}

std::vector<AdminPingOutcome> AdminPings::take_outcomes() {
    return std::exchange(outcomes_, {});
}

void AdminPings::settle(std::size_t index, AdminPingResult result) {
    outcomes_.push_back({waiting_[index].id, result});
    waiting_.erase(waiting_.begin() + static_cast<std::ptrdiff_t>(index));
}

}  // namespace lwgate::session
