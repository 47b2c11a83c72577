// The cluster's part of the admin API from fake model data: GET /v1/cluster, the owner in a
// device's detail, the degraded health reasons and the lwgate_cluster_* metrics.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "admin/cluster_view.hpp"
#include "admin/health.hpp"
#include "admin/json_views.hpp"
#include "admin/metrics_text.hpp"
#include "snapshot_builder.hpp"

namespace lwgate::admin {
namespace {

using namespace test;
using ::testing::HasSubstr;
using ::testing::Not;

ClusterShardSample shard_cluster(std::uint64_t owned, bool connected = true) {
    ClusterShardSample c;
    c.owned = owned;
    c.moving = 1;
    c.moves_in = 2;
    c.moves_out = 3;
    c.lost = 4;
    c.waited = 5;
    c.refused = 6;
    c.redis_commands = 10;
    c.redis_errors = 1;
    c.redis_latency_us_total = 5000;  // 0.5 ms each
    c.redis_connected = connected;
    return c;
}

Snapshot clustered(std::size_t shards = 2) {
    auto s = snapshot(shards);
    s.gateway.listeners = {{"coap+tcp://127.0.0.1:5683", true}};
    auto& c = s.cluster;
    c.enabled = true;
    c.instance = "gw-a";
    c.incarnation = 42;
    c.lease = Duration(10'000);
    c.link_sampled = true;
    c.lease_valid = true;
    c.link_connected = true;
    c.renewals = 7;
    c.renewal_failures = 1;
    c.lapses = 2;
    for (std::size_t i = 0; i < shards; ++i)
        s.shards[i].cluster = shard_cluster(i + 1);
    return s;
}

TEST(AdminCluster, NotClusteredSaysSoOnly) {
    auto s = snapshot();
    EXPECT_EQ(cluster_json(s, nullptr), nlohmann::json({{"enabled", false}}));
    EXPECT_FALSE(cluster_degraded_reason(s));
    EXPECT_THAT(metrics_text(s), Not(HasSubstr("lwgate_cluster_")));
}

TEST(AdminCluster, JsonSumsTheShardsAndMarksThisInstance) {
    auto s = clustered();
    ClusterInstances found;
    found.instances = std::vector<ClusterInstance>{{"gw-a", "42", 9500}, {"gw-b", "7", 1200}};
    const auto j = cluster_json(s, &found);
    EXPECT_EQ(j["enabled"], true);
    EXPECT_EQ(j["instance"], "gw-a");
    EXPECT_EQ(j["incarnation"], 42);
    EXPECT_EQ(j["lease"]["valid"], true);
    EXPECT_EQ(j["lease"]["seconds"], 10.0);
    EXPECT_EQ(j["lease"]["renewals"], 7);
    EXPECT_EQ(j["lease"]["renewal_failures"], 1);
    EXPECT_EQ(j["lease"]["lapses"], 2);
    EXPECT_EQ(j["redis"]["connected"], true);
    EXPECT_EQ(j["redis"]["commands"], 20);
    EXPECT_EQ(j["redis"]["errors"], 2);
    EXPECT_DOUBLE_EQ(j["redis"]["mean_latency_seconds"].get<double>(), 0.0005);
    EXPECT_EQ(j["endpoints"]["owned"], 3);
    EXPECT_EQ(j["endpoints"]["moving"], 2);
    EXPECT_EQ(
        j["moves"],
        nlohmann::json({{"in", 4}, {"out", 6}, {"lost", 8}, {"waited", 10}, {"refused", 12}}));
    ASSERT_EQ(j["instances"].size(), 2u);
    EXPECT_EQ(j["instances"][0]["name"], "gw-a");
    EXPECT_EQ(j["instances"][0]["self"], true);
    EXPECT_EQ(j["instances"][0]["ttl_seconds"], 9.5);
    EXPECT_EQ(j["instances"][1]["name"], "gw-b");
    EXPECT_EQ(j["instances"][1]["self"], false);
    EXPECT_EQ(j["instances"][1]["incarnation"], "7");
    EXPECT_FALSE(j.contains("instances_error"));
}

TEST(AdminCluster, RedisUnreachableForTheListIsNullWithTheError) {
    auto s = clustered(1);
    ClusterInstances failed;
    failed.error = "redis unix:/x: connection refused";
    const auto j = cluster_json(s, &failed);
    EXPECT_TRUE(j["instances"].is_null());
    EXPECT_EQ(j["instances_error"], "redis unix:/x: connection refused");
    s.shards[0].cluster->redis_commands = 0;
    EXPECT_EQ(cluster_json(s, &failed)["redis"]["mean_latency_seconds"], 0.0) << "no division by 0";
}

TEST(AdminCluster, LeaseUnknownWhenTheControlThreadDidNotAnswer) {
    auto s = clustered(1);
    s.cluster.link_sampled = false;
    EXPECT_TRUE(cluster_json(s, nullptr)["lease"]["valid"].is_null());
    const auto h = evaluate_health(s);
    EXPECT_EQ(h.status, "degraded");
    EXPECT_THAT(metrics_text(s), Not(HasSubstr("lwgate_cluster_lease_valid")));
}

TEST(AdminCluster, HealthOkWhenLeaseAndRedisAreFine) {
    auto s = clustered();
    EXPECT_FALSE(cluster_degraded_reason(s));
    EXPECT_EQ(evaluate_health(s).status, "ok");
}

TEST(AdminCluster, HealthDegradedWhenTheLeaseIsNotValid) {
    auto s = clustered();
    s.cluster.lease_valid = false;
    s.cluster.link_connected = false;
    const auto h = evaluate_health(s);
    EXPECT_EQ(h.status, "degraded");
    ASSERT_EQ(h.reasons.size(), 1u);
    EXPECT_EQ(h.reasons[0], "cluster: instance lease of gw-a not valid (Redis unreachable)");
    EXPECT_EQ(health_json(s, h)["status"], "degraded");
}

TEST(AdminCluster, HealthDegradedWhenAShardLostRedis) {
    auto s = clustered(3);
    s.shards[1].cluster->redis_connected = false;
    const auto h = evaluate_health(s);
    EXPECT_EQ(h.status, "degraded");
    ASSERT_EQ(h.reasons.size(), 1u);
    EXPECT_EQ(h.reasons[0], "cluster: Redis connection down on 1 of 3 shard(s)");
    EXPECT_EQ(cluster_json(s, nullptr)["redis"]["connected"], false);
}

TEST(AdminCluster, MetricsOnlyWhenClusteredWithHelpAndType) {
    auto s = clustered();
    const auto text = metrics_text(s);
    for (const char* family :
         {"lwgate_cluster_endpoints_owned", "lwgate_cluster_endpoints_moving",
          "lwgate_cluster_moves_total", "lwgate_cluster_endpoints_lost_total",
          "lwgate_cluster_uplinks_waited_total", "lwgate_cluster_uplinks_refused_total",
          "lwgate_cluster_lease_valid", "lwgate_cluster_lease_lapses_total",
          "lwgate_cluster_redis_commands_total", "lwgate_cluster_redis_errors_total",
          "lwgate_cluster_redis_latency_seconds_total"}) {
        EXPECT_THAT(text, HasSubstr(std::string("# HELP ") + family + " ")) << family;
        EXPECT_THAT(text, HasSubstr(std::string("# TYPE ") + family + " ")) << family;
    }
    EXPECT_THAT(text, HasSubstr("\n# TYPE lwgate_cluster_endpoints_owned gauge\n"));
    EXPECT_THAT(text, HasSubstr("\nlwgate_cluster_endpoints_owned 3\n"));
    EXPECT_THAT(text, HasSubstr("\nlwgate_cluster_endpoints_moving 2\n"));
    EXPECT_THAT(text, HasSubstr("\nlwgate_cluster_moves_total{direction=\"in\"} 4\n"));
    EXPECT_THAT(text, HasSubstr("\nlwgate_cluster_moves_total{direction=\"out\"} 6\n"));
    EXPECT_THAT(text, HasSubstr("\nlwgate_cluster_endpoints_lost_total 8\n"));
    EXPECT_THAT(text, HasSubstr("\nlwgate_cluster_uplinks_waited_total 10\n"));
    EXPECT_THAT(text, HasSubstr("\nlwgate_cluster_uplinks_refused_total 12\n"));
    EXPECT_THAT(text, HasSubstr("\nlwgate_cluster_lease_valid 1\n"));
    EXPECT_THAT(text, HasSubstr("\nlwgate_cluster_lease_lapses_total 2\n"));
    EXPECT_THAT(text, HasSubstr("\nlwgate_cluster_redis_commands_total 20\n"));
    EXPECT_THAT(text, HasSubstr("\nlwgate_cluster_redis_errors_total 2\n"));
    EXPECT_THAT(text, HasSubstr("\nlwgate_cluster_redis_latency_seconds_total 0.01\n"));
    s.cluster.lease_valid = false;
    EXPECT_THAT(metrics_text(s), HasSubstr("\nlwgate_cluster_lease_valid 0\n"));
}

TEST(AdminCluster, DeviceDetailNamesTheOwnerWhenClustered) {
    auto s = clustered(2);
    s.shards[1].devices = {device("ep-1", std::nullopt, false, 1)};
    s.shards[1].owner_epoch = 17;
    auto j = connection_detail_json(s, ConnectionTarget("ep-1"));
    ASSERT_TRUE(j);
    EXPECT_EQ((*j)["owner"], nlohmann::json({{"instance", "gw-a"}, {"epoch", 17}, {"self", true}}));
    s.shards[1].owner_epoch.reset();
    j = connection_detail_json(s, ConnectionTarget("ep-1"));
    ASSERT_TRUE(j);
    EXPECT_TRUE((*j)["owner"]["instance"].is_null());
    s.cluster = {};
    j = connection_detail_json(s, ConnectionTarget("ep-1"));
    ASSERT_TRUE(j);
    EXPECT_FALSE(j->contains("owner")) << "not clustered: no owner";
}

}  // namespace
}  // namespace lwgate::admin
