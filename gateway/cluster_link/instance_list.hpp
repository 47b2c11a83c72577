// The instances with a live lease, as Redis holds them (`lwgate:instance:NAME`): for the
// operator's view of the cluster. Read with a short-lived blocking connection of the caller's
// own (the admin thread), never the shards' or the control thread's: nothing they do waits on
// it. Bounded in keys and in time, since a keyspace of many devices takes many SCAN rounds.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "lwgate/util/result.hpp"
#include "redis/redis_uri.hpp"

namespace lwgate::cluster_link {

struct LiveInstance {
    std::string name;
    std::string incarnation;   // the lease's value, as stored
    std::int64_t ttl_ms = -1;  // PTTL: time left (-1: no expiry)
};

struct InstanceList {
    std::vector<LiveInstance> instances;  // by name
    bool truncated = false;               // more than the bound
};

struct InstanceListBounds {
    std::size_t max_instances = 1000;
    std::chrono::milliseconds round_trip{1000};  // per command; the SCAN takes two of these
};

Result<InstanceList, Error> list_live_instances(const redis::RedisAddress& address,
                                                InstanceListBounds bounds = {});

}  // namespace lwgate::cluster_link
