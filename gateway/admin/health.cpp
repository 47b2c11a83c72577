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
    const CoreProbeSample* probe = nullptr;  // the active check, when on
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
        if (c.core_probe) t.probe = &*c.core_probe;
    }
    return t;
}

std::string ago(const Snapshot& s, const std::optional<TimePoint>& at) {
    return at ? json(seconds_between(*at, s.now)).dump() + " s ago" : std::string("never");
}

// The passive rule: an uplink failed (retransmissions exhausted, DTLS failure, Reset) and the
// core has not answered an uplink since. Empty when there is no such failure.
std::string uplink_failure(const Snapshot& s, const ShardTotals& t) {
    if (!t.last_failure || (t.last_response && *t.last_failure <= *t.last_response)) return {};
    return "uplink failed " + json(seconds_between(*t.last_failure, s.now)).dump() + " s ago, " +
           (t.last_response ? "last response " + ago(s, t.last_response)
                            : std::string("no response since start"));
}

// The active rule: probe_max_missed Pings in a row unanswered. A Ping answered after a failed
// uplink shows that the core is there: that uplink's failure is then the core's own business
// (degraded), not a core that is gone (failing).
void check_probe(const Snapshot& s, const ShardTotals& t, const std::string& uplink, Health& h,
                 std::vector<std::string>& failing, std::vector<std::string>& degraded) {
    const CoreProbeSample& p = *t.probe;
    const std::string uri = " (" + s.gateway.core_uri + ")";
    if (p.state == ProbeState::failing) {
        h.core_reachable = false;
        failing.push_back("core not answering: " + std::to_string(p.missed_in_a_row) +
                          " CoAP Ping(s) in a row missed (" + p.last_error + "), last answer " +
                          ago(s, p.last_answer) + uri);
        return;
    }
    // Before the first Ping's verdict, an answered uplink says as much as an answered Ping.
    h.core_reachable = p.state == ProbeState::ok ||
                       (p.state == ProbeState::unknown && t.last_response.has_value());
    if (uplink.empty()) return;
    const bool answered_since = p.last_answer && *p.last_answer > *t.last_failure;
    if (answered_since) {
        degraded.push_back("core answers CoAP Pings, but an " + uplink + uri);
    } else {
        h.core_reachable = false;
        failing.push_back("core unreachable: " + uplink + uri);
    }
}

void check_core(const Snapshot& s, const ShardTotals& t, Health& h,
                std::vector<std::string>& failing, std::vector<std::string>& degraded) {
    std::optional<TimePoint> last_answer = t.last_response;
    if (t.probe) keep_latest(last_answer, t.probe->last_answer);
    if (last_answer) h.last_response_seconds_ago = seconds_between(*last_answer, s.now);
    const std::string uplink = uplink_failure(s, t);
    if (t.probe) {
        check_probe(s, t, uplink, h, failing, degraded);
        return;
    }
    h.core_reachable = t.last_response.has_value() && uplink.empty();
    if (!uplink.empty())
        failing.push_back("core unreachable: " + uplink + " (" + s.gateway.core_uri + ")");
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
    check_core(s, totals, h, failing, degraded);
    check_listeners(s, failing, degraded);
    check_load(s, h, totals.half_open, degraded);
    if (auto why = cluster_degraded_reason(s)) degraded.push_back(std::move(*why));
    h.status = !failing.empty() ? "failing" : !degraded.empty() ? "degraded" : "ok";
    h.reasons = std::move(failing);
    h.reasons.insert(h.reasons.end(), degraded.begin(), degraded.end());
    return h;
}

const CoreProbeSample* core_probe_of(const Snapshot& s) {
    for (const auto& shard : s.shards)
        if (shard.counters.core_probe) return &*shard.counters.core_probe;
    return nullptr;
}

std::string_view to_string(ProbeState state) {
    switch (state) {
        case ProbeState::ok:
            return "ok";
        case ProbeState::failing:
            return "failing";
        case ProbeState::unknown:
            break;
    }
    return "unknown";
}

namespace {

json probe_json(const Snapshot& s, const CoreProbeSample* p) {
    if (!p) return nullptr;
    const auto seconds = [](Duration d) { return static_cast<double>(d.count()) / 1000.0; };
    return {
        {"state", to_string(p->state)},
        {"interval_seconds", seconds(p->interval)},
        {"timeout_seconds", seconds(p->timeout)},
        {"max_missed", p->max_missed},
        {"missed_in_a_row", p->missed_in_a_row},
        {"sent", p->sent},
        {"answered", p->answered},
        {"missed", p->missed},
        {"last_answer_seconds_ago",
         p->last_answer ? json(seconds_between(*p->last_answer, s.now)) : json(nullptr)},
        {"last_rtt_seconds", p->last_rtt_seconds ? json(*p->last_rtt_seconds) : json(nullptr)},
        {"last_error", p->last_error.empty() ? json(nullptr) : json(p->last_error)},
    };
}

}  // namespace

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
          {"failures_total", h.core_failures},
          {"probe", probe_json(s, core_probe_of(s))}}},
    };
}

}  // namespace lwgate::admin
