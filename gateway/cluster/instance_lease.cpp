#include "cluster/instance_lease.hpp"

namespace lwgate::cluster {

TimePoint InstanceLease::next_renewal() const {
    return in_flight_ ? never : next_;
}

TimePoint InstanceLease::answer_deadline() const {
    return in_flight_ ? sent_at_ + answer_timeout() : never;
}

void InstanceLease::renewal_sent(TimePoint now) {
    in_flight_ = true;
    sent_at_ = now;
}

bool InstanceLease::renewed(TimePoint now, bool still_there) {
    if (!in_flight_) return false;
    in_flight_ = false;
    const bool had_lapsed = held_until_ != TimePoint{} && !still_there;
    held_until_ = sent_at_ + lease_;
    next_ = now + lease_ / 3;
    return had_lapsed;
}

void InstanceLease::renewal_failed(TimePoint now) {
    in_flight_ = false;
    // A tenth of the lease: soon enough that two more attempts fit before it runs out.
    next_ = now + lease_ / 10;
}

}  // namespace lwgate::cluster
