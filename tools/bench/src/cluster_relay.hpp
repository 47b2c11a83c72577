// The cluster scenario's relay phase: the same core -> device Reads as the relay scenario
// (closed loop, min(devices, 256) in flight), through 1, 2 and K lwgate instances sharing one
// reuse_port listener and one Redis, with the same small in-process fleet, on the same 2 cores.
// It reports each throughput as a ratio to one instance.
#pragma once

#include <cstddef>

#include "redis_process.hpp"
#include "scenarios.hpp"
#include "udp_core.hpp"

namespace lwgate::bench {

bool run_relay_instances(const BenchOptions& o, std::size_t k, UdpCore& core, RedisProcess& redis);

}  // namespace lwgate::bench
