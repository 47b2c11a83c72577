#include "admin/cluster_view.hpp"

#include <chrono>
#include <cmath>

#include "admin/json_views.hpp"

namespace lwgate::admin {

using nlohmann::json;

ClusterTotals cluster_totals(const Snapshot& s) {
    ClusterTotals t;
    for (const auto& shard : s.shards) {
        if (!shard.cluster) continue;
        const auto& c = *shard.cluster;
        ++t.shards;
        t.sum.owned += c.owned;
        t.sum.moving += c.moving;
        t.sum.moves_in += c.moves_in;
        t.sum.moves_out += c.moves_out;
        t.sum.lost += c.lost;
        t.sum.waited += c.waited;
        t.sum.refused += c.refused;
        t.sum.redis_commands += c.redis_commands;
        t.sum.redis_errors += c.redis_errors;
        t.sum.redis_latency_us_total += c.redis_latency_us_total;
        if (!c.redis_connected) ++t.shards_disconnected;
    }
    t.redis_connected = t.shards_disconnected == 0;
    t.sum.redis_connected = t.redis_connected;
    return t;
}

std::optional<std::string> cluster_degraded_reason(const Snapshot& s) {
    const auto& c = s.cluster;
    if (!c.enabled) return std::nullopt;
    std::string why;
    auto add = [&why](const std::string& part) { why += (why.empty() ? "" : "; ") + part; };
    if (!c.link_sampled)
        add("instance lease unknown (the control thread did not answer in time)");
    else if (!c.lease_valid)
        add("instance lease of " + c.instance + " not valid" +
            (c.link_connected ? std::string() : std::string(" (Redis unreachable)")));
    const auto t = cluster_totals(s);
    if (t.shards_disconnected > 0)
        add("Redis connection down on " + std::to_string(t.shards_disconnected) + " of " +
            std::to_string(t.shards) + " shard(s)");
    if (why.empty()) return std::nullopt;
    return "cluster: " + why;
}

namespace {

json instances_json(const Snapshot& s, const ClusterInstances& found) {
    json list = json::array();
    for (const auto& i : *found.instances) {
        json row{{"name", i.name},
                 {"incarnation", i.incarnation},
                 {"ttl_seconds",
                  i.ttl_ms >= 0 ? json(static_cast<double>(i.ttl_ms) / 1000.0) : json(nullptr)},
                 {"self", i.name == s.cluster.instance}};
        list.push_back(std::move(row));
    }
    return list;
}

}  // namespace

json cluster_json(const Snapshot& s, const ClusterInstances* instances) {
    const auto& c = s.cluster;
    if (!c.enabled) return {{"enabled", false}};
    const auto t = cluster_totals(s);
    // Whole microseconds: a Redis command on a LAN takes well under a millisecond.
    const double mean_seconds = t.sum.redis_commands == 0
                                    ? 0.0
                                    : std::round(static_cast<double>(t.sum.redis_latency_us_total) /
                                                 static_cast<double>(t.sum.redis_commands)) /
                                          1e6;
    const auto lease_seconds = std::chrono::duration<double>(c.lease).count();
    json j{
        {"enabled", true},
        {"instance", c.instance},
        {"incarnation", c.incarnation},
        {"lease",
         {{"valid", c.link_sampled ? json(c.lease_valid) : json(nullptr)},
          {"seconds", rounded(lease_seconds)},
          {"renewals", c.renewals},
          {"renewal_failures", c.renewal_failures},
          {"lapses", c.lapses}}},
        {"redis",
         {{"connected", t.redis_connected},
          {"commands", t.sum.redis_commands},
          {"errors", t.sum.redis_errors},
          {"mean_latency_seconds", mean_seconds}}},
        {"endpoints", {{"owned", t.sum.owned}, {"moving", t.sum.moving}}},
        {"moves",
         {{"in", t.sum.moves_in},
          {"out", t.sum.moves_out},
          {"lost", t.sum.lost},
          {"waited", t.sum.waited},
          {"refused", t.sum.refused}}},
    };
    if (!instances) {
        j["instances"] = nullptr;
    } else if (!instances->instances) {
        j["instances"] = nullptr;
        j["instances_error"] = instances->error;
    } else {
        j["instances"] = instances_json(s, *instances);
        if (instances->truncated) j["instances_truncated"] = true;
    }
    return j;
}

}  // namespace lwgate::admin
