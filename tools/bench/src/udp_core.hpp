// The benchmark's LwM2M core: one thread, one UDP socket, recvmmsg/sendmmsg batches, the
// allocation-free codec of coap_lite.hpp. It accepts Register/Update/De-register (POST /rd...),
// answers uplinks (any other POST) with 2.04, acknowledges separate responses and confirmable
// notifications, and generates the downlink load: Reads of one path to registered devices,
// closed-loop (a fixed number in flight) or open-loop (a fixed rate), at most one in flight per
// device (NSTART = 1), with the round-trip time of each recorded. It also observes a path on
// every registered device on request (storm).
//
// Devices are known by index: endpoint `<prefix><index>`, Location-Path rd/<index>, and the
// index in the upper half of every token the core sends.
#pragma once

#include <netinet/in.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "coap_lite.hpp"
#include "histogram.hpp"

namespace lwgate::bench {

struct CoreStats {
    double seconds = 0;
    Histogram latency;            // Read round trips (request sent -> answer received)
    std::uint64_t sent = 0;       // Reads sent
    std::uint64_t answered = 0;   // 2.05 answers
    std::uint64_t failed = 0;     // other answers (5.04, 4.04, RST, ...)
    std::uint64_t timeouts = 0;   // no answer within the request timeout
    std::uint64_t saturated = 0;  // rate mode: a send was due but every device was busy
    std::uint64_t registers = 0, updates = 0, deregisters = 0, uplinks = 0, notifications = 0;
    std::uint64_t datagrams_in = 0, datagrams_out = 0, malformed = 0;
};

class UdpCore {
  public:
    enum class Load { off, closed, rate };

    // `max_devices`: the index space; `read_path` e.g. "/3/0/0".
    UdpCore(std::size_t max_devices, std::string endpoint_prefix, std::string read_path,
            std::string observe_path, std::chrono::milliseconds request_timeout);
    ~UdpCore();
    UdpCore(const UdpCore&) = delete;
    UdpCore& operator=(const UdpCore&) = delete;

    std::uint16_t port() const { return port_; }

    // Any thread.
    void set_load(Load load, unsigned window, double rate_per_s);
    void observe_all();      // Observe observe_path on every registered device
    CoreStats take_stats();  // the counters since the last call, then reset
    std::size_t registered() const { return registered_.load(std::memory_order_relaxed); }
    std::size_t observed() const { return observed_.load(std::memory_order_relaxed); }
    std::size_t in_flight() const { return in_flight_pub_.load(std::memory_order_relaxed); }
    // Forget every registration (between phases that reuse device indexes).
    void reset_registrations();

  private:
    struct Slot {
        sockaddr_in addr{};
        bool registered = false;
        bool observed = false;
        bool busy = false;     // a request in flight
        bool observe = false;  // ... and it is an Observe
        std::uint32_t seq = 0;
        std::uint64_t sent_ns = 0;
    };
    struct Out {
        sockaddr_in to;
        std::uint16_t len;
        std::uint8_t data[1400];
    };

    void run();
    void handle(const std::uint8_t* data, std::size_t len, const sockaddr_in& from);
    void handle_request(const lite::MessageView& m, const sockaddr_in& from);
    void complete(std::uint32_t device, std::uint64_t token, std::uint8_t code, bool has_observe,
                  std::uint64_t now);
    void issue(std::uint64_t now);
    bool send_request(std::uint32_t device, bool observe, std::uint64_t now);
    void check_timeouts(std::uint64_t now);
    Out& out_slot();
    void flush();
    void apply_control();

    std::size_t max_devices_;
    std::string prefix_;
    std::vector<std::string> read_path_, observe_path_;
    std::uint64_t timeout_ns_;
    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::thread thread_;
    std::atomic<bool> stop_{false};

    // Control, guarded by control_mutex_; control_seq_ tells the core thread to look.
    std::mutex control_mutex_;
    std::atomic<std::uint64_t> control_seq_{0};
    Load want_load_ = Load::off;
    unsigned want_window_ = 0;
    double want_rate_ = 0;
    bool want_observe_ = false;
    bool want_reset_ = false;

    // Core-thread state.
    std::vector<Slot> slots_;
    std::deque<std::uint32_t> ready_;  // registered devices with nothing in flight
    std::deque<std::uint32_t> observe_queue_;
    Load load_ = Load::off;
    unsigned window_ = 0;
    double rate_ = 0;
    double budget_ = 0;
    std::uint64_t last_issue_ns_ = 0;
    std::uint64_t last_timeout_scan_ns_ = 0;
    unsigned in_flight_ = 0;
    std::uint16_t next_mid_ = 1;
    std::vector<Out> out_;
    std::size_t out_used_ = 0;

    std::mutex stats_mutex_;  // the core thread holds it while it processes a batch
    CoreStats stats_;
    std::uint64_t stats_since_ns_ = 0;
    std::atomic<std::size_t> registered_{0}, observed_{0}, in_flight_pub_{0};
};

std::uint64_t now_ns();

}  // namespace lwgate::bench
