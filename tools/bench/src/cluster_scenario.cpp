// The cluster scenario (docs/performance.md, "Cluster"): K lwgate instances on one Redis and one
// reuse_port listener, N devices in fleet worker processes (fleet_worker.hpp), memory per device,
// a kill -9 of one instance and the takeover of its devices, and the relay's throughput with 1,
// 2 and K instances.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>

#include "cluster_instances.hpp"
#include "cluster_relay.hpp"
#include "fleet.hpp"
#include "fleet_worker.hpp"
#include "kernel_memory.hpp"
#include "proc_stats.hpp"
#include "redis_process.hpp"
#include "scenarios.hpp"
#include "udp_core.hpp"

namespace lwgate::bench {

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

void sleep_for(double s) {
    std::this_thread::sleep_for(std::chrono::duration<double>(s));
}

bool wait_until(const std::function<bool()>& done, double timeout) {
    const auto start = Clock::now();
    while (!done()) {
        if (seconds_since(start) > timeout) return false;
        sleep_for(0.05);
    }
    return true;
}

// Default: at most 9,000 devices per instance, and few enough per instance that the survivors
// of the kill can take the dead one's share (N/(K-1) <= 9,500: two descriptors per device, a
// few per 128 sessions, under the 20,000 here); at least 2 so that one can die.
std::size_t instance_count(const BenchOptions& o) {
    if (o.instances > 0) return o.instances;
    const std::size_t spread = (o.devices + 8999) / 9000;
    const std::size_t survive = (o.devices + 9499) / 9500 + 1;
    return std::max<std::size_t>(2, std::max(spread, survive));
}

// What memory the instances, Redis and the kernel hold at one moment.
struct Snapshot {
    std::uint64_t rss_kib = 0;  // summed over the instances
    std::uint64_t redis_bytes = 0;
    KernelSocketMemory kernel;
};

Snapshot snapshot(const ClusterInstances& gws, const RedisProcess& redis) {
    return {gws.rss_kib(), used_memory(redis).value_or(0), kernel_socket_memory()};
}

double per_device(std::uint64_t after, std::uint64_t before, std::size_t n) {
    return (static_cast<double>(after) - static_cast<double>(before)) /
           static_cast<double>(std::max<std::size_t>(1, n));
}

void report_memory(const Snapshot& a, const Snapshot& b, std::size_t n) {
    const double rss = per_device(b.rss_kib, a.rss_kib, n);
    const double redis = per_device(b.redis_bytes, a.redis_bytes, n);
    const double tcp = per_device(b.kernel.tcp_mem_bytes, a.kernel.tcp_mem_bytes, n);
    const double udp = per_device(b.kernel.udp_mem_bytes, a.kernel.udp_mem_bytes, n);
    const double slab = per_device(b.kernel.slab_bytes, a.kernel.slab_bytes, n);
    std::printf(
        "  lwgate RSS %.2f KiB per device (%llu KiB over the instances); Redis used_memory "
        "%.0f B per device (%llu B)\n",
        rss, static_cast<unsigned long long>(b.rss_kib), redis,
        static_cast<unsigned long long>(b.redis_bytes));
    std::printf(
        "  kernel, per device (both ends of its loopback TCP connection + lwgate's UDP socket): "
        "TCP buffers %.0f B, UDP buffers %.0f B, socket slabs (TCP, UDP, sock_inode_cache) "
        "%.0f B; sockets in use TCP %llu UDP %llu\n",
        tcp, udp, slab, static_cast<unsigned long long>(b.kernel.tcp_inuse),
        static_cast<unsigned long long>(b.kernel.udp_inuse));
    std::printf(
        "RESULT cluster_memory devices=%zu lwgate_rss_kib_per_device=%.2f redis_bytes_per_device="
        "%.0f kernel_tcp_bytes_per_device=%.0f kernel_udp_bytes_per_device=%.0f "
        "kernel_slab_bytes_per_device=%.0f\n",
        n, rss, redis, tcp, udp, slab);
    std::fflush(stdout);
}

// Waits until the workers' devices and the core count every device registered.
bool register_fleet(const BenchOptions& o, const FleetWorkers& fleet, const UdpCore& core) {
    const auto start = Clock::now();
    const double timeout = o.settle_timeout > 0
                               ? o.settle_timeout
                               : 60 + static_cast<double>(o.devices) / o.connect_rate * 3;
    const bool ok = wait_until(
        [&] {
            return !fleet.all_alive() ||
                   (fleet.counters().registered >= o.devices && core.registered() >= o.devices);
        },
        timeout);
    const double t = seconds_since(start);
    const auto c = fleet.counters();
    const bool all = ok && fleet.all_alive() && c.registered >= o.devices;
    std::printf("  %llu/%zu devices registered in %.1f s (%.0f/s), %zu fleet worker processes%s\n",
                static_cast<unsigned long long>(c.registered), o.devices, t,
                static_cast<double>(c.registered) / t, fleet.size(),
                all ? "" : (fleet.all_alive() ? "  TIMEOUT" : "  A FLEET WORKER DIED"));
    std::printf("RESULT cluster_register devices=%zu seconds=%.2f\n", o.devices, t);
    std::fflush(stdout);
    return all;
}

// Kills instance 0 and waits until every device it dropped reconnected and had its Update
// answered 2.04 by another instance. `held`: its devices, from its descriptors.
bool kill_one(const BenchOptions& o, ClusterInstances& gws, const FleetWorkers& fleet,
              UdpCore& core, std::size_t held) {
    core.take_stats();
    const auto c0 = fleet.counters();
    const auto start = Clock::now();
    gws.at(0).signal(SIGKILL);
    gws.at(0).wait_exit(harness::Millis(5000));
    std::uint64_t dropped = 0, updated = 0, reobserved = 0;
    double t_updated = -1;
    const bool done = wait_until(
        [&] {
            const auto c = fleet.counters();
            dropped = c.closed_by_peer - c0.closed_by_peer;
            updated = c.updated - c0.updated;
            reobserved = c.storm_reobserved - c0.storm_reobserved;
            if (t_updated < 0 && updated >= held) t_updated = seconds_since(start);
            // Every device of the dead instance Updated and observed again through another,
            // and every device connected again (one of another instance dropped meanwhile too).
            return dropped > 0 && updated >= held && reobserved >= held && c.connected >= o.devices;
        },
        60 + static_cast<double>(held) / 500);
    const double t = seconds_since(start);
    const CoreStats s = core.take_stats();
    std::printf(
        "  kill -9 of bench-gw-0 (held %zu devices): %llu connections dropped, %llu Updates "
        "answered 2.04 by the other instances, the last %.2f s after the kill%s%s\n",
        held, static_cast<unsigned long long>(dropped), static_cast<unsigned long long>(updated), t,
        dropped > held ? " (more connections dropped than the instance held)" : "",
        done ? "" : "  TIMEOUT");
    // Two Updates per moved device: the adopting instance's own (the new address), then the
    // device's, which waited for the move and is relayed.
    std::printf(
        "  all Updated %.2f s after the kill; %llu observations re-established on the devices\n",
        t_updated, static_cast<unsigned long long>(reobserved));
    std::printf("  the core meanwhile: %llu Registers, %llu Updates\n",
                static_cast<unsigned long long>(s.registers),
                static_cast<unsigned long long>(s.updates));
    print_fleet_errors(fleet.counters());
    std::printf(
        "RESULT cluster_kill devices=%zu held=%zu dropped=%llu updated=%llu reobserved=%llu "
        "seconds=%.2f core_registers=%llu core_updates=%llu\n",
        o.devices, held, static_cast<unsigned long long>(dropped),
        static_cast<unsigned long long>(updated), static_cast<unsigned long long>(reobserved), t,
        static_cast<unsigned long long>(s.registers), static_cast<unsigned long long>(s.updates));
    std::fflush(stdout);
    return done && s.registers == 0;
}

// The instances' logs outlive their temporary directories, to see why a takeover failed.
void keep_logs(const ClusterInstances& gws) {
    for (std::size_t i = 0; i < gws.size(); ++i) {
        const std::string to = "/tmp/lwgate-bench-cluster-gw-" + std::to_string(i) + ".log";
        std::error_code ec;
        std::filesystem::copy_file(gws.at(i).log_path(), to,
                                   std::filesystem::copy_options::overwrite_existing, ec);
    }
    std::printf("  the instances' logs: /tmp/lwgate-bench-cluster-gw-*.log\n");
}

// Registers, measures memory, holds, kills one instance. The fleet lives in worker processes.
bool fleet_phases(const BenchOptions& o, std::size_t k, UdpCore& core, RedisProcess& redis) {
    ClusterInstances gws(o, {k, core.port(), redis.uri(), o.devices, o.own_ports});
    sleep_for(0.5);
    const Snapshot empty = snapshot(gws, redis);
    const std::uint64_t fds0 = gws.descriptors(0);
    FleetWorkerPlan plan;
    plan.ports = gws.ports();
    plan.devices = o.devices;
    plan.per_worker = o.devices_per_worker;
    plan.connect_rate = o.connect_rate;
    // ~16k connections per source address keeps clear of the 28k ephemeral ports per address.
    plan.source_addresses = static_cast<unsigned>(o.devices / 16'000 + 1);
    FleetWorkers fleet(plan);
    bool ok = register_fleet(o, fleet, core);
    print_fleet_errors(fleet.counters());
    // The core observes every device, so that the takeover is seen to re-observe them too.
    core.observe_all();
    const bool observed = wait_until([&] { return core.observed() >= o.devices; },
                                     30 + static_cast<double>(o.devices) / 2000);
    std::printf("  core observes /3/0/13 on %zu devices%s\n", core.observed(),
                observed ? "" : "  TIMEOUT");
    ok = ok && observed;
    sleep_for(3);  // held a few seconds with keepalive running
    const Snapshot loaded = snapshot(gws, redis);
    report_memory(empty, loaded, static_cast<std::size_t>(fleet.counters().registered));
    for (std::size_t i = 0; i < gws.size(); ++i) {
        const auto f = gws.facts(i);
        std::printf(
            "  bench-gw-%zu: %ld endpoints owned, %llu descriptors; messages that waited for a "
            "claim %llu, answered 5.03 %llu; Redis %.2f ms per command; lease lapses %llu\n",
            i, f.owned, static_cast<unsigned long long>(gws.descriptors(i)),
            static_cast<unsigned long long>(f.waited), static_cast<unsigned long long>(f.refused),
            f.redis_mean_latency_ms, static_cast<unsigned long long>(f.lease_lapses));
    }
    const long owned = gws.owned(0);
    // Without an admin answer: two descriptors per device (and a few per 128 sessions).
    const std::size_t held = owned >= 0 ? static_cast<std::size_t>(owned)
                                        : static_cast<std::size_t>((gws.descriptors(0) - fds0) / 2);
    const bool moved = kill_one(o, gws, fleet, core, held);
    if (!moved) keep_logs(gws);
    return moved && ok;
}

}  // namespace

bool run_cluster(const BenchOptions& o) {
    const std::size_t k = instance_count(o);
    std::printf(
        "\n== cluster: %zu TCP devices on %zu lwgate instances (threads: 1, lease 3s, %s, Redis "
        "on a unix socket)  (load average %.2f)\n",
        o.devices, k, o.own_ports ? "a port each" : "one reuse_port listener", load_average());
    std::fflush(stdout);
    RedisProcess redis;
    if (!redis.start()) {
        std::printf("  redis-server did not start: scenario skipped\n");
        return false;
    }
    UdpCore core(std::max(o.devices, o.relay_devices), "bench-", "/3/0/0", "/3/0/13", 10s);
    bool ok = fleet_phases(o, k, core, redis);
    ok = run_relay_instances(o, k, core, redis) && ok;
    return ok;
}

}  // namespace lwgate::bench
