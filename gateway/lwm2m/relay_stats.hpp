// What the bridge counts for the admin API about the devices and requests it relays, kept on
// the shard that owns each endpoint and copied out when the admin API collects a snapshot. It
// lives with the bridge (the admin layer reads it; the bridge includes nothing of the admin API).
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lwgate/coap/message.hpp"
#include "lwm2m/device_relay.hpp"
#include "lwm2m/registration.hpp"
#include "util/clock.hpp"

namespace lwgate::lwm2m {

struct DeviceSample {
    std::string endpoint;
    unsigned shard = 0;
    bool registered = false;
    std::string location;  // "/rd/5"
    std::optional<std::uint32_t> lifetime;
    TimePoint registration_deadline = never;
    std::string binding;
    std::string version;
    bool queue_mode = false;
    std::size_t queued = 0;
    std::size_t in_flight = 0;
    std::optional<std::uint64_t> connection;
    std::uint16_t upstream_local_port = 0;
    std::vector<ObservationInfo> observations;
};

// lwgate_relayed_requests_total{direction, operation, code}
struct RelayKey {
    bool uplink = true;
    std::string_view operation;  // a literal of downlink_operation() / uplink_operation()
    std::uint8_t code = 0;
    friend auto operator<=>(const RelayKey&, const RelayKey&) = default;
};
using RelayCounts = std::map<RelayKey, std::uint64_t>;

// Counts what the bridge relays, by operation and result code, and when the core last answered
// or failed. Lives in the Bridge of the owner shard and is written only there (from single-line
// hooks in bridge.cpp); read when the shard builds its sample.
class BridgeAdminStats {
  public:
    void uplink_sent(const coap::Token& upstream_token, Uplink kind);
    void uplink_answered(const coap::Token& upstream_token, std::uint8_t code);
    void downlink_received(std::uint64_t core_request_id, const coap::Message& request);
    void downlink_answered(std::uint64_t core_request_id, const coap::Message& response);
    // Any answer of the core (also to an uplink) shows it is reachable.
    void core_response(const coap::Message& response, TimePoint now);
    // An uplink got no answer (retransmissions exhausted, DTLS failed, Reset).
    void core_failure(const coap::Token& upstream_token, std::uint8_t code_for_device,
                      TimePoint now);
    void upstream_opened() { ++upstream_sessions_; }

    const RelayCounts& relayed() const { return relayed_; }
    std::optional<TimePoint> last_core_response() const { return last_core_response_; }
    std::optional<TimePoint> last_core_failure() const { return last_core_failure_; }
    std::uint64_t queue_overflow() const { return queue_overflow_; }
    std::uint64_t queue_expired() const { return queue_expired_; }
    std::uint64_t upstream_sessions() const { return upstream_sessions_; }

    // Bounds the maps of requests waiting for their answer: a request that never gets one must
    // not grow memory (when full, the map starts over and those answers go uncounted).
    static constexpr std::size_t max_pending = 4096;

  private:
    RelayCounts relayed_;
    // Operations are static literals: no string built or copied per relayed request.
    std::unordered_map<std::string, std::string_view> uplinks_;      // token bytes -> operation
    std::unordered_map<std::uint64_t, std::string_view> downlinks_;  // core request -> operation
    std::optional<TimePoint> last_core_response_;
    std::optional<TimePoint> last_core_failure_;
    std::uint64_t queue_overflow_ = 0;
    std::uint64_t queue_expired_ = 0;
    std::uint64_t upstream_sessions_ = 0;
};

// The LwM2M operation of a request from the core (Core §6.3/6.4, by method, path depth and
// options): read, write, execute, create, delete, discover, observe or other.
std::string_view downlink_operation(const coap::Message& request);
std::string_view uplink_operation(Uplink kind);

}  // namespace lwgate::lwm2m
