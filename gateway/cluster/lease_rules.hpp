// The rules of endpoint ownership between lwgate instances, as pure functions over what the
// shared store keeps per endpoint (an OwnerRecord). The store applies them atomically (in Redis:
// one Lua script per rule, on keys that share the endpoint's hash tag, so they also run on Redis
// Cluster); tests apply them to an in-memory table. Keeping them here, apart from any store, is
// what lets the move protocol be tested with a fake store and a fake clock.
//
// Why an instance lease plus a per-endpoint epoch, and not one lease per endpoint: a lease per
// endpoint must be renewed per endpoint (100,000 devices on an instance would mean 100,000
// renewals per lease period). Here an instance renews one key; an endpoint's record names its
// owner's instance and incarnation, and it counts as held while that instance's lease is alive.
// The epoch grows by one at every change of owner and fences writes: a write (a device's
// record, a release) names the epoch it was made under and is refused once another instance has
// taken the endpoint, so an instance that was cut off and comes back cannot overwrite anything.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace lwgate::cluster {

// One run of one instance: `name` is cluster.instance; `incarnation` is drawn at start, so a
// restarted instance is not mistaken for its previous run (which may have died mid-move).
struct InstanceId {
    std::string name;
    std::uint64_t incarnation = 0;
    bool operator==(const InstanceId&) const = default;
};

// What the shared store keeps per endpoint. The epoch survives a release: the next owner
// continues from it.
struct OwnerRecord {
    std::optional<InstanceId> owner;
    std::uint64_t epoch = 0;
};

enum class ClaimOutcome {
    granted,  // the caller owns the endpoint under `epoch`
    held,     // `holder` owns it and its lease is alive: ask it to hand over
};

struct ClaimResult {
    ClaimOutcome outcome = ClaimOutcome::held;
    std::uint64_t epoch = 0;
    std::optional<InstanceId> holder;  // with `held`
};

// Claims `record` for `me`. `holder_alive`: the current owner's instance lease exists with the
// record's incarnation (read just before; if that owner renews in between, it had still let its
// lease run out, and the epoch fences whatever it does next). Granted to its owner again with
// the same epoch; to anyone else with the next epoch when nobody owns it or the owner is dead.
ClaimResult claim(OwnerRecord& record, const InstanceId& me, bool holder_alive);

// Gives the endpoint up (after its newest state was written): only its owner, under the epoch
// it holds. False when the endpoint was taken meanwhile (nothing changes).
bool release(OwnerRecord& record, const InstanceId& me, std::uint64_t epoch);

// Whether `me` may still write the endpoint's state under `epoch` (the fence of every write).
bool may_write(const OwnerRecord& record, const InstanceId& me, std::uint64_t epoch);

}  // namespace lwgate::cluster
