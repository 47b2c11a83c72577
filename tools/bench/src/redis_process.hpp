// The bench's redis-server is the harness's (lwgate/harness/redis_server.hpp); this adds what
// the cluster scenario reads from it.
#pragma once

#include <cstdint>
#include <optional>

#include "lwgate/harness/redis_server.hpp"

namespace lwgate::bench {

using RedisProcess = harness::RedisServer;

// INFO memory's used_memory, in bytes.
std::optional<std::uint64_t> used_memory(const RedisProcess& redis);

}  // namespace lwgate::bench
