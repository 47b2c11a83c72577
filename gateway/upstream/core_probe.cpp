#include "upstream/core_probe.hpp"

#include <algorithm>

namespace lwgate::upstream {

namespace {

std::string duration_text(Duration d) {
    const auto ms = d.count();
    return ms % 1000 == 0 ? std::to_string(ms / 1000) + "s" : std::to_string(ms) + "ms";
}

}  // namespace

std::string_view to_string(CoreProbeState state) {
    switch (state) {
        case CoreProbeState::unknown:
            return "unknown";
        case CoreProbeState::ok:
            return "ok";
        case CoreProbeState::failing:
            return "failing";
    }
    return "unknown";
}

CoreProbe::CoreProbe(CoreProbeParams params, TimePoint start) : params_(params), next_send_(start) {
    params_.max_missed = std::max(1u, params_.max_missed);
}

TimePoint CoreProbe::next_deadline() const {
    if (!in_flight_) return next_send_;
    return std::min(next_send_, began_at_ + params_.timeout);
}

CoreProbeDue CoreProbe::on_timer(TimePoint now) {
    CoreProbeDue due;
    if (in_flight_ && now >= began_at_ + params_.timeout) {
        miss("no answer within " + duration_text(params_.timeout));
        due.missed = true;
    }
    // A Ping still in flight when the next is due (timeout not below interval) is missed too:
    // one Ping at a time.
    if (now >= next_send_) {
        if (in_flight_) {
            miss("no answer within " + duration_text(params_.interval));
            due.missed = true;
        }
        due.send = true;
    }
    return due;
}

void CoreProbe::begin(TimePoint now) {
    in_flight_ = true;
    began_at_ = now;
    ping_at_ = now;
    ++sent_;
    // The schedule does not drift with late timers: the next Ping is due one interval after
    // this one was, or after now when the loop fell more than an interval behind.
    next_send_ += params_.interval;
    if (next_send_ <= now) next_send_ = now + params_.interval;
}

void CoreProbe::ping_sent(TimePoint now) {
    if (in_flight_) ping_at_ = now;
}

std::optional<ProbeRtt> CoreProbe::on_answer(TimePoint now) {
    if (!in_flight_) return std::nullopt;
    in_flight_ = false;
    const auto rtt =
        std::max(ProbeRtt::zero(), std::chrono::duration_cast<ProbeRtt>(now - ping_at_));
    ++answered_;
    missed_in_a_row_ = 0;
    state_ = CoreProbeState::ok;
    last_answer_ = now;
    last_rtt_ = rtt;
    last_error_.clear();
    return rtt;
}

void CoreProbe::on_failure(TimePoint /*now*/, std::string why) {
    if (!in_flight_) return;
    miss(std::move(why));
}

void CoreProbe::miss(std::string why) {
    in_flight_ = false;
    ++missed_;
    ++missed_in_a_row_;
    last_error_ = std::move(why);
    if (missed_in_a_row_ >= params_.max_missed) state_ = CoreProbeState::failing;
}

}  // namespace lwgate::upstream
