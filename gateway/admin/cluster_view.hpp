// GET /v1/cluster and the cluster's part of health and metrics: this instance's lease, the
// shards' ownership counters and Redis connections, summed. Pure:
// tests/unit/admin/cluster_view_test.cpp.
#pragma once

#include <cstdint>
#include <optional>

#include <nlohmann/json.hpp>

#include "admin/model.hpp"

namespace lwgate::admin {

// The shards' cluster samples, summed. `redis_connected`: every clustered shard's connection is up.
struct ClusterTotals {
    ClusterShardSample sum;
    bool redis_connected = true;
    unsigned shards = 0;               // shards that reported a cluster sample
    unsigned shards_disconnected = 0;  // ... whose Redis connection is down
};

ClusterTotals cluster_totals(const Snapshot& snapshot);

// Why the cluster makes the gateway degraded (the lease not valid, the shards' Redis down), or
// nothing: not clustered, or all well.
std::optional<std::string> cluster_degraded_reason(const Snapshot& snapshot);

// {"enabled": false} when not clustered; `instances` null: not listed (then "instances" is null
// without "instances_error").
nlohmann::json cluster_json(const Snapshot& snapshot, const ClusterInstances* instances);

}  // namespace lwgate::admin
