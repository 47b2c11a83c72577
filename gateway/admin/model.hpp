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

#include "admin/process_stats.hpp"
#include "lwgate/coap/message.hpp"
#include "lwm2m/admission.hpp"
#include "lwm2m/device_relay.hpp"
#include "lwm2m/registration.hpp"
#include "lwm2m/relay_stats.hpp"
#include "session/close_reason.hpp"
#include "session/session_snapshot.hpp"
#include "session/tls_refusal.hpp"
#include "util/clock.hpp"

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

// The bridge's own counts (lwgate/lwm2m/relay_stats.hpp), as the admin API names them.
using lwm2m::BridgeAdminStats;
using lwm2m::DeviceSample;
using lwm2m::downlink_operation;
using lwm2m::RelayCounts;
using lwm2m::RelayKey;
using lwm2m::uplink_operation;

// The active check of the core (upstream.probe_interval), copied from the first shard's
// CoreProber on its thread.
enum class ProbeState { unknown, ok, failing };

struct CoreProbeSample {
    Duration interval{0};
    Duration timeout{0};
    unsigned max_missed = 0;
    ProbeState state = ProbeState::unknown;
    unsigned missed_in_a_row = 0;
    std::uint64_t sent = 0;
    std::uint64_t answered = 0;
    std::uint64_t missed = 0;
    std::optional<TimePoint> last_answer;
    std::optional<double> last_rtt_seconds;
    std::string last_error;  // why the last Ping was missed; empty once one is answered
    std::vector<std::pair<double, std::uint64_t>> rtt_buckets;  // (upper bound s, cumulative)
    std::uint64_t rtt_count = 0;
    double rtt_sum_seconds = 0;
};

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
    std::uint64_t keepalive_bytes_in = 0;    // Ping/Pong frames, as encoded
    std::uint64_t keepalive_bytes_out = 0;
    std::uint64_t keepalive_wire_bytes = 0;  // estimated with TCP/IP and TLS overhead
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
    // Failed handshakes, by session::TlsRefusal.
    std::array<std::uint64_t, session::tls_refusal_count> tls_refused{};
    std::optional<CoreProbeSample> core_probe;  // the shard that probes the core, when on
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

// Cluster mode (store.uri redis://...): one shard's part, from Bridge::cluster_counters() (its
// ownership and its Redis connection).
struct ClusterShardSample {
    std::uint64_t owned = 0;
    std::uint64_t moving = 0;
    std::uint64_t moves_in = 0;
    std::uint64_t moves_out = 0;
    std::uint64_t lost = 0;
    std::uint64_t waited = 0;
    std::uint64_t refused = 0;
    std::uint64_t redis_commands = 0;
    std::uint64_t redis_errors = 0;
    std::uint64_t redis_latency_us_total = 0;
    bool redis_connected = false;
};

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
    std::optional<ClusterShardSample> cluster;  // set when the shard's bridge is clustered
    // The fencing epoch of CollectScope::endpoint when this shard owns it (clustered only).
    std::optional<std::uint64_t> owner_epoch;
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
    std::optional<ProcessSample> process;  // CPU, memory, start time; nullopt: /proc unreadable
    std::uint64_t upstream_sessions = 0;   // process-wide, against max_registrations
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

// Cluster mode, process-wide: this instance and its lease (cluster_link::InstanceLink, read on
// the control thread).
struct ClusterFacts {
    bool enabled = false;
    std::string instance;
    std::uint64_t incarnation = 0;
    Duration lease{0};  // cluster.lease
    // The control thread answered the collection in time (when false, the lease fields below
    // are not known).
    bool link_sampled = false;
    bool lease_valid = false;
    bool link_connected = false;
    std::uint64_t renewals = 0;
    std::uint64_t renewal_failures = 0;
    std::uint64_t lapses = 0;
    std::uint64_t notices = 0;
};

// One instance lease found in Redis (lwgate:instance:NAME), for GET /v1/cluster.
struct ClusterInstance {
    std::string name;
    std::string incarnation;   // the key's value, as stored
    std::int64_t ttl_ms = -1;  // PTTL: time left (-1: no expiry, -2: gone meanwhile)
};

// The instance leases in Redis, or why they could not be listed.
struct ClusterInstances {
    std::optional<std::vector<ClusterInstance>> instances;
    std::string error;       // when instances is nullopt
    bool truncated = false;  // more than the bound
};

struct Snapshot {
    TimePoint now{};
    ClusterFacts cluster;
    StoreSample store;
    WallClock::time_point wall_now{};
    GatewayFacts gateway;
    std::vector<ShardSample> shards;
    bool complete = true;  // false: a shard did not answer before the deadline
};

}  // namespace lwgate::admin
