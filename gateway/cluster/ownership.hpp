// Which endpoints this instance owns, and the move protocol that brings an endpoint here when
// its device connects to this instance while another one owns it. Pure: events and `now` in,
// actions out (take_actions()); the glue talks to the shared store and the other instances
// (Redis scripts and pub/sub) and reports the answers back as events.
//
// A device connects here and its endpoint is not ours: Claim. The store answers
//   granted → Adopt (continue the registration as after a restart: no Register at the core, an
//             Update from this instance's address, re-observations on the core's tokens);
//   held by a live instance → RequestHandover to it, and wait. The holder writes its newest
//             state, closes its connection to the device and its upstream session, releases
//             the endpoint (HandOver) and tells us (on_released_notice) → Claim again, granted.
// A holder that does not answer within handover_timeout is asked again by claiming again: if it
// died, its lease has run out by then and the claim is granted with the next epoch.
// The device's uplinks wait while the endpoint moves; once the move takes longer than
// wait_limit they are answered 5.03 (Refuse), never left in silence.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "cluster/lease_rules.hpp"
#include "util/clock.hpp"

namespace lwgate::cluster {

struct Claim {  // run the claim rule in the store
    std::string endpoint;
};
struct RequestHandover {  // ask `holder` (its channel) to hand the endpoint over
    std::string endpoint;
    InstanceId holder;
};
struct Adopt {  // ours now, under `epoch`: load its record and continue its registration
    std::string endpoint;
    std::uint64_t epoch;
};
struct HandOver {  // write the newest state, close device and upstream, release, then notify
    std::string endpoint;
    std::uint64_t epoch;
    InstanceId to;
};
struct NotifyReleased {  // tell `to` the endpoint is free (on its channel)
    std::string endpoint;
    InstanceId to;
};
struct Refuse {  // answer the device's waiting uplinks 5.03: the move takes too long
    std::string endpoint;
};
struct Drop {  // no longer ours: close device and upstream, write nothing
    std::string endpoint;
};
struct Revalidate {  // check with the store that the endpoint is still ours under `epoch`
    std::string endpoint;
    std::uint64_t epoch;
};
using OwnershipAction =
    std::variant<Claim, RequestHandover, Adopt, HandOver, NotifyReleased, Refuse, Drop, Revalidate>;

struct OwnershipParams {
    Duration handover_timeout{std::chrono::seconds(5)};
    Duration wait_limit{std::chrono::seconds(10)};  // uplinks wait this long, then 5.03
};

class Ownership {
  public:
    Ownership(InstanceId me, OwnershipParams params) : me_(std::move(me)), params_(params) {}

    const InstanceId& me() const { return me_; }
    // The epoch this instance holds `endpoint` under (its writes carry it), if it owns it.
    std::optional<std::uint64_t> epoch_of(const std::string& endpoint) const;
    bool owns(const std::string& endpoint) const { return epoch_of(endpoint).has_value(); }
    // A device's uplinks for `endpoint` must be answered 5.03 now (it is moving for too long).
    bool refusing(const std::string& endpoint) const;
    std::size_t owned() const { return owned_.size(); }
    std::size_t moving() const { return moving_.size(); }

    // Restored at start: this instance (an earlier incarnation of it) held `endpoint`, and the
    // store granted it to this one under `epoch`.
    void on_restored(const std::string& endpoint, std::uint64_t epoch) { owned_[endpoint] = epoch; }
    // A device connection on this instance speaks for `endpoint` (its first message).
    void on_device_bound(const std::string& endpoint, TimePoint now);
    // The device's last connection here closed; an endpoint still moving here stops moving.
    void on_device_gone(const std::string& endpoint);
    void on_claim_result(const std::string& endpoint, const ClaimResult& result, TimePoint now);
    // Another instance asks for `endpoint`: its device connected there, later than here.
    void on_handover_requested(const std::string& endpoint, const InstanceId& from);
    // The endpoint's registration ended here (deregistered, expired, refused by the core):
    // nothing on this instance needs it any more. Returned: the epoch to release it under once
    // its record's erasure is in the store (then on_handed_over), when it was ours. Released,
    // the next instance its device connects to claims it at once instead of asking this one,
    // and this instance does not keep every endpoint it ever served.
    std::optional<std::uint64_t> on_registration_ended(const std::string& endpoint);
    // Our HandOver (or the release of an ended registration) is done: state written, device and
    // upstream closed, endpoint released.
    void on_handed_over(const std::string& endpoint);
    // The holder says it released `endpoint`.
    void on_released_notice(const std::string& endpoint, TimePoint now);
    // The store refused a write of ours under our epoch: another instance owns it now.
    void on_write_refused(const std::string& endpoint);
    // This instance's lease ran out and is back: every endpoint held is checked again.
    void on_lease_lapsed();
    void on_revalidated(const std::string& endpoint, bool still_ours);
    // The store had lost the endpoint's owner record (Redis restarted without its data) and
    // granted it to us again, under `epoch`: our writes carry that one from now on.
    void on_reclaimed(const std::string& endpoint, std::uint64_t epoch);
    // Granted, but this instance cannot host it (its registration budget is spent): the glue
    // releases it in the store; nothing else is done here.
    void on_given_back(const std::string& endpoint) {
        owned_.erase(endpoint);
        moving_.erase(endpoint);
    }
    void on_tick(TimePoint now);
    TimePoint next_deadline() const;

    std::vector<OwnershipAction> take_actions() { return std::exchange(actions_, {}); }

  private:
    enum class Phase {
        claiming,      // a Claim is in flight
        awaiting,      // asked `peer` to hand over; claim again at `deadline`
        handing_over,  // giving it to `peer`, or releasing it (no peer yet)
    };
    // An endpoint on its way here or away. Kept apart from the owned ones so that ticks and
    // deadlines cost what is moving, not what is held (100,000 endpoints on an instance).
    struct Move {
        Phase phase = Phase::claiming;
        std::uint64_t epoch = 0;         // handing_over: the epoch it was held under
        std::optional<InstanceId> peer;  // awaiting: whom we asked; handing_over: to whom
        TimePoint started = never;       // when the device's uplinks began to wait
        TimePoint deadline = never;      // awaiting: claim again then
        bool refused = false;            // Refuse was given for this move
        bool device_here = false;        // a device connection here speaks for it
    };
    void claim(const std::string& endpoint, Move& move);
    void check_wait(const std::string& endpoint, Move& move, TimePoint now);
    void lose(const std::string& endpoint);

    InstanceId me_;
    OwnershipParams params_;
    std::unordered_map<std::string, std::uint64_t> owned_;  // endpoint → epoch
    std::unordered_map<std::string, Move> moving_;
    std::vector<OwnershipAction> actions_;
};

}  // namespace lwgate::cluster
