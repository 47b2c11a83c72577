// The lease rules run by Redis (cluster/lease_scripts.hpp) answer exactly as the pure rules
// (cluster/lease_rules.hpp) do, over random sequences of claims, releases and fenced writes by
// three instances, on a redis-server of the test's own.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

#include "cluster/lease_rules.hpp"
#include "cluster/lease_scripts.hpp"
#include "redis_server.hpp"

namespace lwgate::integration {
namespace {

using cluster::ClaimOutcome;
using cluster::InstanceId;
using cluster::OwnerRecord;

std::string text(const InstanceId& id) {
    return id.name + " " + std::to_string(id.incarnation);
}

class LeaseScriptsTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!RedisServer::available()) GTEST_SKIP() << "redis-server is not installed";
        ASSERT_TRUE(redis_.start());
    }
    std::string eval(std::string_view script, const std::vector<std::string>& keys,
                     const std::vector<std::string>& args) {
        std::vector<std::string> argv = {"EVAL", std::string(script), std::to_string(keys.size())};
        argv.insert(argv.end(), keys.begin(), keys.end());
        argv.insert(argv.end(), args.begin(), args.end());
        return redis_.command(argv);
    }
    // The claim as the pure rule answers it, in the script's words.
    static std::string expected_claim(OwnerRecord& r, const InstanceId& me, bool holder_alive) {
        const auto got = cluster::claim(r, me, holder_alive);
        if (got.outcome == ClaimOutcome::granted) return "granted " + std::to_string(got.epoch);
        return "held " + text(*got.holder) + " " + std::to_string(got.epoch);
    }
    RedisServer redis_;
};

TEST_F(LeaseScriptsTest, AClaimReleaseAndFencedWriteByHand) {
    const auto key = cluster::owner_key("urn:imei:1");
    EXPECT_EQ(key, "lwgate:owner:{urn:imei:1}");
    EXPECT_EQ(eval(cluster::claim_script, {key}, {"a", "1", ""}), "granted 1");
    EXPECT_EQ(eval(cluster::claim_script, {key}, {"b", "2", ""}), "held a 1 1");
    EXPECT_EQ(eval(cluster::claim_script, {key}, {"b", "2", "a 1"}), "granted 2");
    const auto record = "lwgate:dev:{urn:imei:1}";
    EXPECT_EQ(eval(cluster::fenced_hset_script, {key, record}, {"a", "1", "1", "f", "stale"}),
              "refused");
    EXPECT_EQ(eval(cluster::fenced_hset_script, {key, record}, {"b", "2", "2", "f", "new"}), "ok");
    EXPECT_EQ(redis_.command({"HGET", record, "f"}), "new");
    EXPECT_EQ(eval(cluster::release_script, {key}, {"a", "1", "1"}), "refused");
    EXPECT_EQ(eval(cluster::release_script, {key}, {"b", "2", "2"}), "released");
    EXPECT_EQ(eval(cluster::claim_script, {key}, {"a", "1", ""}), "granted 3");
}

TEST_F(LeaseScriptsTest, RedisAnswersAsThePureRulesOverRandomSequences) {
    const std::vector<InstanceId> ids = {{"a", 1}, {"b", 2}, {"a", 3}};  // a restarted once
    std::map<std::string, OwnerRecord> pure;
    std::mt19937 rng(12345);
    for (int step = 0; step < 600; ++step) {
        const std::string endpoint = "ep" + std::to_string(rng() % 3);
        const auto key = cluster::owner_key(endpoint);
        auto& r = pure[endpoint];
        const InstanceId& me = ids[rng() % ids.size()];
        const std::uint64_t epoch = r.epoch - (rng() % 2);  // now and then a stale epoch
        switch (rng() % 3) {
            case 0: {
                const bool dead = rng() % 2 == 0;
                const std::string dead_holder = dead && r.owner ? text(*r.owner) : "";
                const auto want = expected_claim(r, me, !dead);
                ASSERT_EQ(eval(cluster::claim_script, {key},
                               {me.name, std::to_string(me.incarnation), dead_holder}),
                          want)
                    << "step " << step;
                break;
            }
            case 1: {
                const bool ok = cluster::release(r, me, epoch);
                ASSERT_EQ(eval(cluster::release_script, {key},
                               {me.name, std::to_string(me.incarnation), std::to_string(epoch)}),
                          ok ? "released" : "refused")
                    << "step " << step;
                break;
            }
            default: {
                const bool ok = cluster::may_write(r, me, epoch);
                ASSERT_EQ(eval(cluster::fenced_hset_script, {key, "lwgate:dev:{" + endpoint + "}"},
                               {me.name, std::to_string(me.incarnation), std::to_string(epoch),
                                "seen", std::to_string(step)}),
                          ok ? "ok" : "refused")
                    << "step " << step;
            }
        }
    }
}

}  // namespace
}  // namespace lwgate::integration
