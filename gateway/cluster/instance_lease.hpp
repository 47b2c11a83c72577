// This instance's own lease in the shared store (lwgate:instance:<name> = incarnation, expiring
// after cluster.lease). Its endpoints count as held while it is alive. Pure timing: the glue
// sends a renewal when next_renewal() comes, reports the answer, and asks valid(now).
//
// The lease is taken to run from when a renewal was SENT, not when its answer came: the store
// may have set it at any moment in between, so counting from the answer could overrate it.
// Renewals go out every third of the lease, so two may fail before it runs out.
#pragma once

#include "util/clock.hpp"

namespace lwgate::cluster {

class InstanceLease {
  public:
    explicit InstanceLease(Duration lease) : lease_(lease) {}

    Duration lease() const { return lease_; }
    // When to send the next renewal (never while one is in flight).
    TimePoint next_renewal() const;
    void renewal_sent(TimePoint now);
    // The renewal sent last was answered; `still_there`: the store still had this incarnation's
    // lease when it arrived (SET ... GET returns the old value). True when the lease had run out
    // before: another instance may have taken endpoints meanwhile, so every one held must be
    // checked again.
    bool renewed(TimePoint now, bool still_there);
    // No answer, or an error: the next renewal goes out after a short pause.
    void renewal_failed(TimePoint now);
    // Whether the store still keeps this instance's lease (as far as this instance can tell).
    bool valid(TimePoint now) const { return now < held_until_; }
    TimePoint held_until() const { return held_until_; }
    // A renewal in flight for longer than this counts as failed.
    Duration answer_timeout() const { return lease_ / 3; }
    TimePoint answer_deadline() const;

  private:
    Duration lease_;
    TimePoint held_until_{};  // epoch: never held yet
    TimePoint sent_at_{};     // of the renewal in flight
    bool in_flight_ = false;
    TimePoint next_{};  // the next renewal (epoch: at once)
};

}  // namespace lwgate::cluster
