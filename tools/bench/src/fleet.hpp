// Simulated LwM2M devices for the benchmark: thousands per thread on epoll, built on the
// allocation-free framing of coap_lite.hpp and the shared device side (tools/device: sockets,
// TLS, Register) (tools/devsim is the full-featured simulator; it
// records every message for assertions and runs one state machine per device with futures,
// which costs more CPU than the gateway under test at these rates).
//
// Over TCP or TLS-PSK (to lwgate or to a forwarding proxy) a device connects from one of
// several 127.1.x.y source addresses (so 100k+ connections fit the port space), sends its CSM
// and registers (POST /rd?ep=<prefix><i>&lt=..&lwm2m=1.1&b=T); it answers Pings, Reads
// (2.05 with `payload` bytes), Observes (2.05 + Observe) and anything else with 2.04. On
// request it sends uplinks (POST /dp, closed loop, one in flight per device) and measures their
// round trips. Over UDP (the no-gateway baseline) it registers with the core directly and
// answers the same requests piggybacked.
//
// storm(): every device resets its connection (RST) at once and reconnects at once; a device
// that was registered sends an Update on the new connection, and the fleet counts the Updates
// answered and the Observes lwgate re-sends by itself. A 7.04 Release (lwgate's connection
// limits) is counted as a refusal and honoured: the device reconnects after its Hold-Off.
//
// Any connection the peer closes is reopened after 200 ms; a registered device then sends an
// Update (as in a storm). An Update answered 5.03 (lwgate's cluster: the endpoint is still
// moving) is sent again after its Max-Age, not replaced by a Register.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "histogram.hpp"

namespace lwgate::bench {

enum class DeviceTransport { tcp, tls, udp };

struct FleetOptions {
    DeviceTransport transport = DeviceTransport::tcp;
    std::size_t count = 0;
    std::string prefix = "bench-";
    std::uint16_t port = 0;  // lwgate's listener (tcp, tls), the core (udp), or the proxy
    unsigned threads = 1;
    double connect_rate = 5000;  // new connections per second, whole fleet
    std::size_t payload = 16;    // bytes of each Read answer and uplink
    std::uint32_t lifetime = 86400;
    bool register_devices = true;
    std::string proxy_uri;  // set: uplinks carry this Proxy-Uri (a forwarding proxy), no Register
    unsigned source_addresses = 1;
    // Devices are first_index .. first_index + count - 1 (endpoint, location, token): fleets in
    // several processes (cluster) share one core's index space.
    std::size_t first_index = 0;
    // Non-empty: one port per gateway instance instead of `port`. Device i connects to
    // ports[(i + hop) % n]; a connection the peer closed moves it by 1 + (i / n) % (n - 1), so
    // the devices of a dead instance spread evenly over the others (a failed connect: by 1).
    std::vector<std::uint16_t> ports;
};

struct FleetCounters {
    std::uint64_t connected = 0;       // connections up now (after TLS)
    std::uint64_t connections = 0;     // established in total
    std::uint64_t registered = 0;      // devices with a registration (first Register 2.01)
    std::uint64_t observed = 0;        // devices that received an Observe
    std::uint64_t pings = 0;           // Pings answered
    std::uint64_t reads = 0;           // Reads answered
    std::uint64_t refusals = 0;        // Releases received (limits)
    std::uint64_t aborts = 0;          // Aborts received
    std::uint64_t closed_by_peer = 0;  // FIN/RST not asked for
    std::uint64_t connect_errors = 0;  // connect or TLS handshake failed
    std::uint64_t register_errors = 0;
    std::uint64_t updated = 0;           // Updates answered 2.04 (any reconnect)
    std::uint64_t update_retries = 0;    // Updates answered 5.03 (a move in progress), retried
    std::uint64_t storm_updated = 0;     // after storm(): Updates answered 2.04 (or re-Register)
    std::uint64_t storm_reobserved = 0;  // after storm(): Observes received on the new connection
    std::uint64_t half_open_closed = 0;  // silent devices whose connection lwgate closed
    std::uint64_t half_open_max_ns = 0;  // the longest time from going silent to that close
};

// The device-side errors of a run on one line (the scenarios print it after each phase).
void print_fleet_errors(const FleetCounters& c);

struct UplinkStats {
    double seconds = 0;
    Histogram latency;
    std::uint64_t ok = 0;      // 2.xx
    std::uint64_t failed = 0;  // anything else
};

class Fleet {
  public:
    explicit Fleet(FleetOptions options);
    ~Fleet();  // closes every connection (FIN) and joins the threads
    Fleet(const Fleet&) = delete;
    Fleet& operator=(const Fleet&) = delete;

    const FleetOptions& options() const { return options_; }
    FleetCounters counters() const;
    // The first `window` devices send uplinks back to back (0 stops them).
    void set_uplink_window(std::size_t window);
    UplinkStats take_uplink_stats();
    void storm();
    // The first `count` devices go half-open: the socket stays open, nothing is read or sent.
    // The fleet records when the gateway closes (RST/FIN) each of those connections.
    void go_silent(std::size_t count);

    struct Worker;
    struct Shared;

  private:
    FleetOptions options_;
    std::shared_ptr<Shared> shared_;
    std::vector<std::unique_ptr<Worker>> workers_;
};

// PSK of bench device `index`: identity = endpoint, key = "lwgbench" + index (big-endian).
std::string psk_key_hex(std::size_t index);

}  // namespace lwgate::bench
