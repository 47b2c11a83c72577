// The cluster in the admin API, with real lwgate instances on a real redis-server: GET
// /v1/cluster names this instance, its lease and the instances in Redis, /metrics counts the
// endpoints it owns, lwgatectl cluster prints it, and /v1/health turns degraded when Redis goes.
#include <gmock/gmock.h>

#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "cluster_fixture.hpp"
#include "lwgate/harness/admin_client.hpp"
#include "run_lwgatectl.hpp"

namespace lwgate::integration {
namespace {

using ::testing::HasSubstr;

class ClusterAdminTest : public ClusterFixture {
  protected:
    // An instance named `name` on the shared Redis (empty: a single instance, memory store).
    harness::GatewayProcess& start(const std::string& name) { return launch(cluster_config(name)); }

    static nlohmann::json get_json(harness::GatewayProcess& g, const std::string& path) {
        harness::AdminClient admin(g.admin_url());
        const auto r = admin.get(path);
        EXPECT_EQ(r.status, 200) << path << ": " << r.body;
        return r.json();
    }

    // Polls `path` until `ok(body)` or `within` passed; the last body.
    template <class Pred>
    static std::string poll(harness::GatewayProcess& g, const std::string& path, Pred ok,
                            Millis within) {
        harness::AdminClient admin(g.admin_url());
        const auto deadline = SteadyClock::now() + within;
        std::string body;
        while (true) {
            body = admin.get(path).body;
            if (ok(body) || SteadyClock::now() >= deadline) return body;
            std::this_thread::sleep_for(100ms);
        }
    }

    static harness::ProcessResult ctl(harness::GatewayProcess& g, std::vector<std::string> args) {
        return run_lwgatectl(g.admin_url(), std::move(args));
    }
};

TEST_F(ClusterAdminTest, ClusterViewMetricsAndLwgatectl) {
    auto& a = start("gw-a");
    auto& b = start("gw-b");
    ASSERT_FALSE(a.admin_url().empty());
    ASSERT_FALSE(b.admin_url().empty());
    DeviceOptions o;
    o.endpoint = "urn:imei:cluster-admin-1";
    o.port = a.port();
    o.lifetime = 300;
    auto device = register_at(core, o);
    ASSERT_TRUE(device);
    ASSERT_TRUE(core.wait_registration(o.endpoint, 0s)) << a.log();

    // The claim settles right after the registration: poll for it, bounded.
    const auto metrics = poll(
        a, "/metrics",
        [](const std::string& body) {
            return body.find("\nlwgate_cluster_endpoints_owned 1\n") != std::string::npos;
        },
        5s);
    EXPECT_THAT(metrics, HasSubstr("\nlwgate_cluster_endpoints_owned 1\n"));
    EXPECT_THAT(metrics, HasSubstr("\nlwgate_cluster_lease_valid 1\n"));
    EXPECT_THAT(metrics, HasSubstr("# TYPE lwgate_cluster_moves_total counter\n"));

    const auto c = get_json(a, "/v1/cluster");
    EXPECT_EQ(c["enabled"], true) << c.dump();
    EXPECT_EQ(c["instance"], "gw-a");
    EXPECT_TRUE(c["incarnation"].is_number_unsigned());
    EXPECT_GE(c["endpoints"]["owned"].get<int>(), 1);
    EXPECT_EQ(c["lease"]["valid"], true);
    EXPECT_EQ(c["lease"]["seconds"], 2.0);
    EXPECT_EQ(c["redis"]["connected"], true);
    EXPECT_GE(c["redis"]["commands"].get<int>(), 1);
    ASSERT_TRUE(c["instances"].is_array()) << c.dump();
    std::map<std::string, bool> names;
    for (const auto& i : c["instances"])
        names[i["name"].get<std::string>()] = i["self"].get<bool>();
    EXPECT_EQ(names, (std::map<std::string, bool>{{"gw-a", true}, {"gw-b", false}})) << c.dump();

    const auto shown = get_json(a, "/v1/connections/urn:imei:cluster-admin-1");
    EXPECT_EQ(shown["owner"]["instance"], "gw-a") << shown.dump();
    EXPECT_TRUE(shown["owner"]["epoch"].is_number_unsigned()) << shown.dump();

    auto table = ctl(a, {"cluster"});
    EXPECT_EQ(table.exit_code, 0) << table.err;
    EXPECT_THAT(table.out, HasSubstr("gw-a"));
    EXPECT_THAT(table.out, HasSubstr("gw-b"));
    EXPECT_THAT(table.out, HasSubstr("(this)"));
    auto as_json = ctl(b, {"cluster", "--json"});
    EXPECT_EQ(as_json.exit_code, 0) << as_json.err;
    EXPECT_EQ(nlohmann::json::parse(as_json.out, nullptr, false)["instance"], "gw-b")
        << as_json.out;
    auto show = ctl(a, {"show", "urn:imei:cluster-admin-1"});
    EXPECT_EQ(show.exit_code, 0) << show.err;
    EXPECT_THAT(show.out, HasSubstr("instance gw-a, epoch"));
}

TEST_F(ClusterAdminTest, NotClustered) {
    auto& single = start("");
    const auto c = get_json(single, "/v1/cluster");
    EXPECT_EQ(c, nlohmann::json({{"enabled", false}}));
    harness::AdminClient admin(single.admin_url());
    EXPECT_THAT(admin.get("/metrics").body, ::testing::Not(HasSubstr("lwgate_cluster_")));
    auto table = ctl(single, {"cluster"});
    EXPECT_EQ(table.exit_code, 0) << table.err;
    EXPECT_THAT(table.out, HasSubstr("not clustered"));
}

TEST_F(ClusterAdminTest, HealthDegradedWhenRedisStops) {
    auto& a = start("gw-a");
    // The shards connect to Redis right after the start: ok once they did.
    const auto before = poll(
        a, "/v1/health",
        [](const std::string& b) { return b.find("\"status\":\"ok\"") != std::string::npos; }, 5s);
    ASSERT_THAT(before, HasSubstr("\"status\":\"ok\"")) << a.log();
    redis.stop(SIGKILL);
    const auto body = poll(
        a, "/v1/health",
        [](const std::string& b) { return b.find("\"status\":\"degraded\"") != std::string::npos; },
        8s);
    const auto health = nlohmann::json::parse(body, nullptr, false);
    EXPECT_EQ(health["status"], "degraded") << body;
    EXPECT_THAT(health["reasons"].dump(), HasSubstr("cluster: ")) << body;
    // GET /v1/cluster still answers, with the reason the instances are not listed.
    const auto c = get_json(a, "/v1/cluster");
    EXPECT_TRUE(c["instances"].is_null()) << c.dump();
    EXPECT_TRUE(c["instances_error"].is_string()) << c.dump();
    EXPECT_EQ(c["redis"]["connected"], false) << c.dump();
}

}  // namespace
}  // namespace lwgate::integration
