// Joining the cluster at start-up, before the shards run (blocking, like loading the store):
// take this instance's lease, then claim the endpoints whose records an earlier run of this
// instance held (its incarnation died with it: named as dead, so the claim does not wait for its
// lease to run out) and those nobody ever owned (records written before the cluster existed).
// Endpoints another instance owns are left to it: their devices reconnect there, or move here
// when they connect here.
#pragma once

#include <vector>

#include "cluster/lease_rules.hpp"
#include "lwgate/util/result.hpp"
#include "redis/redis_uri.hpp"
#include "store/store.hpp"
#include "util/clock.hpp"

namespace lwgate::cluster_link {

struct JoinResult {
    std::vector<store::DeviceRecord> owned;  // with owner_epoch set: restore these
    std::size_t left_to_others = 0;
};

Result<JoinResult, Error> join_cluster(const redis::RedisAddress& address,
                                       const cluster::InstanceId& me, Duration lease,
                                       std::vector<store::DeviceRecord> records);

// At a graceful stop, once everything is written: this instance's lease is removed (if it is
// still this incarnation's), so that the others take its devices over at once instead of after
// the lease, and a successor under the same name starts without waiting.
Result<void, Error> leave_cluster(const redis::RedisAddress& address,
                                  const cluster::InstanceId& me);

}  // namespace lwgate::cluster_link
