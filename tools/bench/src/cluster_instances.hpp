// The cluster scenario's lwgate instances: K processes sharing one Redis and one TCP port
// (`reuse_port: true`: the kernel spreads the connections, and a device that reconnects after
// its instance died lands on a live one). Each instance has `threads: 1`, its own
// `cluster.instance` name and its own upstream bind address (127.0.3.<k+1>, ports 10000-65000):
// the instances take their upstream ports in the same order, so with one shared address they
// would collide on almost every port.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lwgate/harness/gateway_process.hpp"
#include "scenarios.hpp"

namespace lwgate::bench {

struct ClusterPlan {
    std::size_t instances = 2;
    std::uint16_t core_port = 0;
    std::string store_uri;        // redis+unix://...
    std::size_t max_devices = 0;  // connections.max of each instance (with room to spare)
    // One port per instance (port 0, no reuse_port) instead of one shared reuse_port port: the
    // load generator then chooses the instance (FleetOptions::ports).
    bool own_ports = false;
};

class ClusterInstances {
  public:
    // Picks a free port, starts every instance on it and waits until each is ready. Throws
    // harness::HarnessError when one does not start.
    ClusterInstances(const BenchOptions& o, const ClusterPlan& plan);

    // The shared port, or each instance's own (ClusterPlan::own_ports).
    std::vector<std::uint16_t> ports() const;
    std::size_t size() const { return gateways_.size(); }
    harness::GatewayProcess& at(std::size_t i) { return *gateways_.at(i); }
    const harness::GatewayProcess& at(std::size_t i) const { return *gateways_.at(i); }
    // Summed over the instances still running.
    double cpu_seconds() const;
    std::uint64_t rss_kib() const;
    // Descriptors of instance i (0 once it is gone).
    std::uint64_t descriptors(std::size_t i) const;
    // What instance i's GET /v1/cluster says; owned is -1 when its admin API does not answer.
    struct Facts {
        long owned = -1;
        std::uint64_t waited = 0;   // device messages that waited for a move here
        std::uint64_t refused = 0;  // answered 5.03 "endpoint moving"
        double redis_mean_latency_ms = 0;
        std::uint64_t lease_lapses = 0;
    };
    Facts facts(std::size_t i) const;
    long owned(std::size_t i) const { return facts(i).owned; }

  private:
    std::string yaml(const BenchOptions& o, const ClusterPlan& plan, std::size_t k) const;

    std::uint16_t port_ = 0;  // 0 with own_ports
    std::vector<std::unique_ptr<harness::GatewayProcess>> gateways_;
};

}  // namespace lwgate::bench
