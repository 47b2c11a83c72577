// The benchmark scenarios (hold, relay, uplink, storm, tls, cluster) and what they report.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace lwgate::bench {

struct BenchOptions {
    std::string lwgate = "lwgate";                    // the gateway binary
    std::string lwgatectl = "lwgatectl";              // its CLI (credentials)
    std::string coap_server = "coap-server-openssl";  // libcoap's forwarding proxy (uplink)
    std::size_t devices = 1000;
    double duration = 10;  // seconds per measured phase
    double warmup = 1;     // seconds before each measured phase
    // Requests in flight (closed loop); 0: min(devices, 256). lwgate's peak falls with more in
    // flight (libcoap 4.3.1 searches one list of pending requests per shard).
    std::size_t window = 0;
    double rate = 0;             // open-loop phase rate; 0: half of the measured peak
    std::size_t payload = 16;    // bytes per Read answer / uplink
    double connect_rate = 5000;  // device connections per second while registering
    std::string accept_rate = "20000/s";
    std::string ping_interval = "60s";  // keepalive.idle of lwgate
    double refresh_interval = 120;      // wirecost: seconds between a UDP device's Updates
    std::string piggyback_window;       // upstream.piggyback_window of lwgate (empty: default)
    unsigned gateway_threads = 2;
    unsigned device_threads = 1;
    std::string log_level = "warn";
    std::size_t half_open = 0;  // hold: devices that go half-open after the idle phase
    double settle_timeout = 0;  // seconds to wait for registrations; 0: derived from N
    bool skip_floor = false;    // relay, uplink: no phases through the floor forwarder
    bool smoke = false;         // fail (exit 1) when a scenario does not work at all
    // Non-empty: lwgate runs under callgrind (dumps in this directory) and the relay and uplink
    // phases through lwgate report its user-space instructions per operation.
    std::string callgrind;
    // cluster: lwgate instances (0: enough for at most 9,000 devices each, at least 2), devices
    // per fleet worker process, and the devices of its relay phase (1, 2, K instances).
    std::size_t instances = 0;
    std::size_t devices_per_worker = 12'500;
    std::size_t relay_devices = 1000;
    bool own_ports = false;  // cluster: a port per instance, devices spread by the bench
};

// Each returns true when the scenario worked (every device registered, traffic flowed).
bool run_hold(const BenchOptions& o, bool tls);
bool run_relay(const BenchOptions& o, bool tls, bool with_baseline);
bool run_uplink(const BenchOptions& o);
bool run_storm(const BenchOptions& o);
// cluster_scenario.cpp
bool run_cluster(const BenchOptions& o);
// credentials_scenario.cpp
bool run_credentials(const BenchOptions& o);
// wirecost_scenario.cpp
bool run_wirecost(const BenchOptions& o);

// Raises RLIMIT_NOFILE as far as the kernel allows (children inherit it); returns the limit.
std::size_t raise_fd_limit();

}  // namespace lwgate::bench
