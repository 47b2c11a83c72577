// GET /v1/health: ok / degraded / failing and why. Pure.
//
//  failing:  no listener up (outside a drain); the core not answering the active check
//            (upstream.probe_max_missed CoAP Pings in a row missed); or the core unreachable: an
//            uplink failed (retransmissions exhausted, DTLS failure, Reset) and neither an answer
//            to an uplink nor to a Ping came after it.
//  degraded: draining; a listener down while others are up; half-open detections in the last
//            minute reaching half_open_degraded_percent of the connections (and at least one);
//            a shard that did not answer the collection in time; an uplink failed with no
//            answer to an uplink since, while the core answers Pings; in a cluster, the
//            instance lease not valid or a shard's Redis connection down.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "admin/model.hpp"

namespace lwgate::admin {

inline constexpr unsigned half_open_degraded_percent = 10;

struct Health {
    std::string status = "ok";  // ok | degraded | failing
    std::vector<std::string> reasons;
    // With the active check: its last Ping was answered (and no uplink failed since). Without
    // it: an answer of the core was seen and no uplink failed after it. A core that was never
    // heard from (nothing relayed or probed yet, or a core that does not exist) is not
    // "reachable".
    bool core_reachable = false;
    std::optional<double> last_response_seconds_ago;
    std::uint64_t core_failures = 0;
    std::size_t connections = 0;
    std::int64_t registered = 0;
};

Health evaluate_health(const Snapshot& snapshot);
// The core probe's sample in the snapshot (from the shard that runs it), or null when off.
const CoreProbeSample* core_probe_of(const Snapshot& snapshot);
std::string_view to_string(ProbeState state);
nlohmann::json health_json(const Snapshot& snapshot, const Health& health);

}  // namespace lwgate::admin
