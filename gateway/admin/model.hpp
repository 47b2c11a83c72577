// The admin API's view of the gateway: plain data copied out of the shards (each shard fills its
// part on its own thread) and merged on the HTTP thread. No Asio, no libcoap, no locks: the pure
// functions in this directory (state, JSON views, health, metrics text) take a Snapshot and are
// unit-tested in tests/unit/admin.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "lwgate/coap/message.hpp"
#include "lwgate/lwm2m/admission.hpp"
#include "lwgate/lwm2m/device_relay.hpp"
#include "lwgate/lwm2m/registration.hpp"
#include "lwgate/session/close_reason.hpp"
#include "lwgate/util/clock.hpp"
#include "session/session_snapshot.hpp"

namespace lwgate::admin {

using WallClock = std::chrono::system_clock;

struct CloseRecord {
    WallClock::time_point at;  // for "at" in the JSON
    TimePoint steady;          // for "in the last 10 minutes"
    session::CloseReason reason = session::CloseReason::peer_closed;
    std::string detail;
    // Part of the device's normal cycle (a queue-mode device going to sleep) or our own doing
    // (drain, operator): not counted toward "flapping".
    bool expected = false;
};

struct ConnectionSample {
    session::SessionSnapshot session;
    unsigned shard = 0;
    std::optional<std::string> endpoint;  // bound by the bridge (first LwM2M request, TLS identity)
};

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
    std::vector<lwm2m::ObservationInfo> observations;
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
    void uplink_sent(const coap::Token& upstream_token, lwm2m::Uplink kind);
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
std::string_view uplink_operation(lwm2m::Uplink kind);

// Counters of one shard (copied from its atomics or plain per-shard state, on its thread).
struct ShardCounters {
    std::uint64_t sessions_started = 0;
    std::array<std::uint64_t, session::close_reason_count> closes{};
    std::uint64_t tls_handshakes = 0;
    std::uint64_t tls_failures = 0;
    std::uint64_t pings_sent = 0;
    std::uint64_t pongs_received = 0;
    std::uint64_t missed_pongs = 0;
    std::uint64_t bytes_in = 0;
    std::uint64_t bytes_out = 0;
    std::uint64_t messages_in = 0;
    std::uint64_t messages_out = 0;
    std::uint64_t too_large_for_device = 0;  // not sent: over the device's Max-Message-Size
    std::vector<std::pair<double, std::uint64_t>> rtt_buckets;  // (upper bound s, cumulative)
    std::uint64_t rtt_count = 0;
    double rtt_sum_seconds = 0;
    RelayCounts relayed;
    std::uint64_t queue_overflow = 0;
    std::uint64_t queue_expired = 0;
    std::uint64_t upstream_sessions = 0;
    std::uint64_t upstream_failures = 0;
    std::uint64_t upstream_responses = 0;
    std::uint64_t duplicates_held = 0;      // core retransmissions of a request being answered
    std::uint64_t duplicates_answered = 0;  // ... of one already answered (from memory)
    std::uint64_t answers_piggybacked = 0;  // answers to the core's CON requests on their ACK
    std::uint64_t answers_separate = 0;     // ... as separate responses after an empty ACK
    std::optional<TimePoint> last_core_response;
    std::optional<TimePoint> last_core_failure;
    std::int64_t registered_devices = 0;
    std::uint64_t half_open_last_minute = 0;
    std::array<std::uint64_t, lwm2m::refusal_count> refused{};  // by lwm2m::Refusal
    lwm2m::RelayCounters device_limits;                         // device_limits.* in action
};

// "flapping": at least flapping_closes unexpected closes of one endpoint within flapping_window.
inline constexpr Duration flapping_window{10 * 60 * 1000};
inline constexpr unsigned flapping_closes = 3;

// Whether a close is expected: what lwgate or its operator did (drain, admin), or an orderly
// close by a device that sleeps between exchanges (LwM2M queue mode) - a queue-mode device
// closes its connection on every wake cycle by design.
inline bool close_expected(session::CloseReason reason, bool queue_mode_device) {
    using session::CloseReason;
    if (reason == CloseReason::shutdown || reason == CloseReason::admin) return true;
    return queue_mode_device &&
           (reason == CloseReason::peer_closed || reason == CloseReason::release_received);
}

struct ShardSample {
    unsigned index = 0;
    std::size_t connection_count = 0;  // always filled, even when `connections` is not copied
    std::vector<ConnectionSample> connections;
    std::vector<DeviceSample> devices;
    // Closes per endpoint recorded on this shard (all, or only the endpoint asked about).
    std::unordered_map<std::string, std::vector<CloseRecord>> closes;
    // Closes per endpoint within flapping_window (only endpoints with at least one).
    std::unordered_map<std::string, unsigned> recent_closes;
    ShardCounters counters;
};

// What a collection should copy: a detail view needs one endpoint's history, a list view
// needs every row but only close counts.
struct CollectScope {
    bool connections = true;
    bool devices = true;
    bool closes = false;                  // close records (details view)
    std::optional<std::string> endpoint;  // limit close records to this endpoint
};

struct ListenerState {
    std::string uri;
    bool up = false;
};

// Process-wide facts, read on the HTTP thread from atomics.
struct GatewayFacts {
    std::string version;
    TimePoint started{};
    bool draining = false;
    std::vector<ListenerState> listeners;
    std::string core_uri;
    std::uint64_t accepted = 0;
    std::uint64_t refused_limit = 0;
    std::uint64_t refused_rate = 0;
    std::uint64_t refused_handshakes_per_address = 0;
    std::uint64_t refused_descriptors = 0;
    Duration idle{60'000};  // keepalive.idle, for the idle state
    // Open descriptors and their limit (RLIMIT_NOFILE; 0 = none), read at collection.
    std::uint64_t open_descriptors = 0;
    std::uint64_t descriptor_limit = 0;
    std::uint64_t upstream_sessions = 0;  // process-wide, against max_registrations
    std::uint64_t max_registrations = 0;
};

// The state store's counters (store::StoreStats), zero with `store.uri: memory:` writes.
struct StoreSample {
    std::uint64_t puts = 0;
    std::uint64_t erases = 0;
    std::uint64_t coalesced = 0;
    std::uint64_t batches = 0;
    std::uint64_t rows_written = 0;
    std::uint64_t errors = 0;
};

struct Snapshot {
    TimePoint now{};
    StoreSample store;
    WallClock::time_point wall_now{};
    GatewayFacts gateway;
    std::vector<ShardSample> shards;
    bool complete = true;  // false: a shard did not answer before the deadline
};

}  // namespace lwgate::admin
