#include "admin/health.hpp"

#include <algorithm>

#include "admin/cluster_view.hpp"
#include "admin/json_views.hpp"

namespace lwgate::admin {

using nlohmann::json;

namespace {

// What the shards report about the core and the keepalive, merged.
struct ShardTotals {
    std::optional<TimePoint> last_response;
    std::optional<TimePoint> last_failure;
    std::uint64_t half_open = 0;
};

void keep_latest(std::optional<TimePoint>& latest, const std::optional<TimePoint>& t) {
    if (t && (!latest || *t > *latest)) latest = t;
}

ShardTotals add_shards(const Snapshot& s, Health& h) {
    ShardTotals t;
    for (const auto& shard : s.shards) {
        const auto& c = shard.counters;
        h.connections += std::max(shard.connection_count, shard.connections.size());
        h.registered += c.registered_devices;
        h.core_failures += c.upstream_failures;
        t.half_open += c.half_open_last_minute;
        keep_latest(t.last_response, c.last_core_response);
        keep_latest(t.last_failure, c.last_core_failure);
    }
    return t;
}

void check_core(const Snapshot& s, const ShardTotals& t, Health& h,
                std::vector<std::string>& failing) {
    if (t.last_response) h.last_response_seconds_ago = seconds_between(*t.last_response, s.now);
    h.core_reachable = t.last_response.has_value();
    if (!t.last_failure || (t.last_response && *t.last_failure <= *t.last_response)) return;
    h.core_reachable = false;
    std::string why = "core unreachable: uplink failed " +
                      nlohmann::json(seconds_between(*t.last_failure, s.now)).dump() + " s ago, ";
    why += t.last_response ? "last response " + json(*h.last_response_seconds_ago).dump() + " s ago"
                           : std::string("no response since start");
    failing.push_back(why + " (" + s.gateway.core_uri + ")");
}

void check_listeners(const Snapshot& s, std::vector<std::string>& failing,
                     std::vector<std::string>& degraded) {
    const auto& listeners = s.gateway.listeners;
    const auto up = std::count_if(listeners.begin(), listeners.end(),
                                  [](const ListenerState& l) { return l.up; });
    if (s.gateway.draining) {
        degraded.push_back("draining");
    } else if (up == 0) {
        failing.push_back("no listener up");
    } else {
        for (const auto& l : listeners)
            if (!l.up) degraded.push_back("listener down: " + l.uri);
    }
}

void check_load(const Snapshot& s, const Health& h, std::uint64_t half_open,
                std::vector<std::string>& degraded) {
    if (half_open > 0 &&
        half_open * 100 >= half_open_degraded_percent * (h.connections + half_open)) {
        degraded.push_back("half-open rate: " + std::to_string(half_open) +
                           " half-open connection(s) in the last minute");
    }
    if (!s.complete) degraded.push_back("a shard did not answer in time");
    const auto& g = s.gateway;
    if (g.descriptor_limit != 0 && g.open_descriptors * 10 >= g.descriptor_limit * 9) {
        degraded.push_back("descriptors: " + std::to_string(g.open_descriptors) + " of " +
                           std::to_string(g.descriptor_limit) + " open");
    }
    if (g.max_registrations != 0 && g.upstream_sessions >= g.max_registrations) {
        degraded.push_back("registration limit reached: " + std::to_string(g.upstream_sessions) +
                           " (connections.max_registrations)");
    }
}

}  // namespace

Health evaluate_health(const Snapshot& s) {
    Health h;
    std::vector<std::string> failing;
    std::vector<std::string> degraded;
    const ShardTotals totals = add_shards(s, h);
    check_core(s, totals, h, failing);
    check_listeners(s, failing, degraded);
    check_load(s, h, totals.half_open, degraded);
    if (auto why = cluster_degraded_reason(s)) degraded.push_back(std::move(*why));
    h.status = !failing.empty() ? "failing" : !degraded.empty() ? "degraded" : "ok";
    h.reasons = std::move(failing);
    h.reasons.insert(h.reasons.end(), degraded.begin(), degraded.end());
    return h;
}

json health_json(const Snapshot& s, const Health& h) {
    json listeners = json::array();
    for (const auto& l : s.gateway.listeners)
        listeners.push_back({{"uri", l.uri}, {"up", l.up}});
    return {
        {"status", h.status},
        {"reasons", h.reasons},
        {"version", s.gateway.version},
        {"uptime_seconds", static_cast<std::int64_t>(seconds_between(s.gateway.started, s.now))},
        {"draining", s.gateway.draining},
        {"connections", h.connections},
        {"registered", h.registered},
        {"listeners", std::move(listeners)},
        {"core",
         {{"uri", s.gateway.core_uri},
          {"reachable", h.core_reachable},
          {"last_response_seconds_ago",
           h.last_response_seconds_ago ? json(*h.last_response_seconds_ago) : json(nullptr)},
          {"failures_total", h.core_failures}}},
    };
}

}  // namespace lwgate::admin
