// Fleets in child processes. One process may hold only RLIMIT_NOFILE descriptors (20,000 on the
// benchmark machine), one per TCP device, so the cluster scenario spreads its devices over
// several children: this binary again, as `lwgate-bench --fleet-worker PORTS FIRST COUNT
// CONNECT_RATE SOURCE_ADDRESSES` (PORTS: one port, or several separated by commas, see
// FleetOptions::ports). A child runs a Fleet (fleet.hpp) of devices FIRST ..
// FIRST+COUNT-1, prints its counters as one line every 100 ms on stdout, and exits when its stdin
// closes (so no child outlives the bench, even when the bench is killed).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fleet.hpp"

namespace lwgate::bench {

// The child's side: argv after "--fleet-worker". Returns the exit code.
int run_fleet_worker(int argc, char** argv);

struct FleetWorkerPlan {
    std::vector<std::uint16_t> ports;  // where the devices connect (one: the shared port)
    std::size_t devices = 0;
    std::size_t per_worker = 12'500;  // devices per child (each holds one descriptor per device)
    double connect_rate = 5000;       // all children together
    unsigned source_addresses = 1;    // 127.1.x.y addresses, over all devices
};

// The parent's side: starts the children and sums the counters they report.
class FleetWorkers {
  public:
    explicit FleetWorkers(const FleetWorkerPlan& plan);
    ~FleetWorkers();  // closes the children's stdin, reaps them (SIGKILL after 5 s)
    FleetWorkers(const FleetWorkers&) = delete;
    FleetWorkers& operator=(const FleetWorkers&) = delete;

    std::size_t size() const { return children_.size(); }
    // The latest counters of every child, summed. False in `all_alive` once a child exited.
    FleetCounters counters() const;
    bool all_alive() const;
    std::vector<pid_t> pids() const;

  private:
    struct Child {
        pid_t pid = -1;
        int to_child = -1;    // its stdin
        int from_child = -1;  // its stdout
        std::string partial;  // a line not yet complete
        FleetCounters latest;
        bool exited = false;
    };
    void read_loop();
    void read_child(Child& c);

    std::vector<Child> children_;
    mutable std::mutex mutex_;
    int wake_[2] = {-1, -1};  // closes the reader's poll
    std::thread reader_;
};

}  // namespace lwgate::bench
