#include "cluster_relay.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "cluster_instances.hpp"
#include "fleet.hpp"

namespace lwgate::bench {

namespace {

struct RelayResult {
    double rate = 0;       // Reads answered per second
    double us_per_rt = 0;  // lwgate CPU (all instances) per round trip
    std::uint64_t failed = 0, timeouts = 0;
};

void sleep_for(double s) {
    std::this_thread::sleep_for(std::chrono::duration<double>(s));
}

bool wait_registered(const Fleet& fleet, const UdpCore& core, std::size_t n) {
    for (int i = 0; i < 1200; ++i) {  // 60 s
        if (fleet.counters().registered >= n && core.registered() >= n) return true;
        sleep_for(0.05);
    }
    return false;
}

// The relay scenario's closed-loop peak: warm-up, then `duration` seconds measured.
RelayResult measure(const BenchOptions& o, UdpCore& core, const ClusterInstances& gws,
                    std::size_t n) {
    const auto window = static_cast<unsigned>(o.window ? o.window : std::min<std::size_t>(n, 256));
    core.set_load(UdpCore::Load::closed, window, 0);
    sleep_for(o.warmup);
    core.take_stats();
    const double cpu0 = gws.cpu_seconds();
    sleep_for(o.duration);
    const CoreStats s = core.take_stats();
    const double cpu = gws.cpu_seconds() - cpu0;
    core.set_load(UdpCore::Load::off, 0, 0);
    for (int i = 0; i < 240 && core.in_flight() > 0; ++i)
        sleep_for(0.05);
    RelayResult r;
    r.rate = s.seconds > 0 ? static_cast<double>(s.answered) / s.seconds : 0;
    r.us_per_rt = s.answered ? cpu * 1e6 / static_cast<double>(s.answered) : 0;
    r.failed = s.failed;
    r.timeouts = s.timeouts;
    return r;
}

// One run on `count` fresh instances: an empty Redis and core, a fresh fleet.
RelayResult relay_on(const BenchOptions& o, std::size_t count, UdpCore& core, RedisProcess& redis) {
    redis.cli("FLUSHALL");
    core.reset_registrations();
    const std::size_t n = o.relay_devices;
    ClusterInstances gws(o, {count, core.port(), redis.uri(), n, o.own_ports});
    FleetOptions f;
    f.count = n;
    f.ports = gws.ports();
    f.port = f.ports.at(0);
    if (f.ports.size() == 1) f.ports.clear();
    f.threads = o.device_threads;
    f.connect_rate = o.connect_rate;
    f.payload = o.payload;
    Fleet fleet(f);
    if (!wait_registered(fleet, core, n)) {
        std::printf("  %zu instances: only %llu/%zu devices registered\n", count,
                    static_cast<unsigned long long>(fleet.counters().registered), n);
        return {};
    }
    return measure(o, core, gws, n);
}

}  // namespace

bool run_relay_instances(const BenchOptions& o, std::size_t k, UdpCore& core, RedisProcess& redis) {
    std::vector<std::size_t> counts = {1, 2, k};
    std::sort(counts.begin(), counts.end());
    counts.erase(std::unique(counts.begin(), counts.end()), counts.end());
    std::printf("  relay (core -> device Reads, closed loop), %zu devices, same 2 cores:\n",
                o.relay_devices);
    double one = 0;
    bool ok = true;
    for (const std::size_t count : counts) {
        const RelayResult r = relay_on(o, count, core, redis);
        if (count == 1) one = r.rate;
        const double ratio = one > 0 ? r.rate / one : 0;
        std::printf(
            "  %2zu instance(s): %9.0f rt/s  %.1f us of lwgate CPU per rt  failed %llu "
            "timeouts %llu  ratio to one instance %.2f\n",
            count, r.rate, r.us_per_rt, static_cast<unsigned long long>(r.failed),
            static_cast<unsigned long long>(r.timeouts), ratio);
        std::printf("RESULT cluster_relay instances=%zu devices=%zu rate=%.0f ratio=%.2f\n", count,
                    o.relay_devices, r.rate, ratio);
        std::fflush(stdout);
        ok = ok && r.rate > 0;
    }
    return ok;
}

}  // namespace lwgate::bench
