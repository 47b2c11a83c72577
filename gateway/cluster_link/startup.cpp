#include "cluster_link/startup.hpp"

#include <charconv>
#include <thread>

#include "cluster/lease_scripts.hpp"
#include "cluster/notice.hpp"
#include "cluster_link/cluster_error.hpp"
#include "redis/redis_blocking.hpp"

namespace lwgate::cluster_link {

namespace {

constexpr std::chrono::milliseconds join_timeout{3000};

// The claim for one stored record, or nullopt when another instance owns it.
std::optional<std::vector<std::string>> claim_for(const cluster::InstanceId& me,
                                                  const std::string& endpoint,
                                                  const redis::RedisReply& owner) {
    const auto& e = owner.elements;
    if (owner.type != redis::RedisReply::Type::array || e.size() != 3) return std::nullopt;
    std::string dead;
    if (e[0].type == redis::RedisReply::Type::string && !e[0].str.empty()) {
        if (e[0].str != me.name) return std::nullopt;  // another instance's
        dead = e[0].str + " " + e[1].str;              // our earlier run
    } else if (e[2].type == redis::RedisReply::Type::string) {
        return std::nullopt;  // released by its owner: moving to whoever asked for it
    }
    return std::vector<std::string>{
        "EVAL",  std::string(cluster::claim_script), "1", cluster::owner_key(endpoint),
        me.name, std::to_string(me.incarnation),     dead};
}

// Two running instances under one name would take each other's endpoints at every start (each
// takes the other for its own earlier run). A lease under this name with another incarnation
// is either a crashed earlier run (it runs out) or a live instance (it is renewed within a third
// of the lease): watched that long before joining.
Result<void, Error> check_name_free(redis::BlockingRedis& c, const cluster::InstanceId& me,
                                    Duration lease) {
    const auto key = cluster::instance_key(me.name);
    auto before = c.pipeline({{"GET", key}, {"PTTL", key}});
    if (!before) return fail(std::move(before).error());
    if ((*before)[0].type != redis::RedisReply::Type::string) return {};  // no lease: free
    const auto wait = lease / 3 + std::chrono::milliseconds(250);
    std::this_thread::sleep_for(wait);
    auto after = c.pipeline({{"GET", key}, {"PTTL", key}});
    if (!after) return fail(std::move(after).error());
    const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(wait).count();
    const bool renewed = (*after)[0].str == (*before)[0].str &&
                         (*after)[1].integer > (*before)[1].integer - waited + 100;
    if (!renewed) return {};
    return fail(Error{make_error_code(ClusterErrc::name_in_use),
                      "cluster.instance " + me.name +
                          ": another running lwgate instance holds this name (incarnation " +
                          (*before)[0].str + " renews its lease); every instance needs its own"});
}

}  // namespace

Result<JoinResult, Error> join_cluster(const redis::RedisAddress& address,
                                       const cluster::InstanceId& me, Duration lease,
                                       std::vector<store::DeviceRecord> records) {
    auto connected = redis::BlockingRedis::connect(address, join_timeout);
    if (!connected) return fail(std::move(connected).error());
    auto& c = *connected;
    if (auto free = check_name_free(c, me, lease); !free) return fail(std::move(free).error());
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(lease).count();
    auto taken = c.command({"SET", cluster::instance_key(me.name), std::to_string(me.incarnation),
                            "PX", std::to_string(ms)});
    if (!taken) return fail(std::move(taken).error());
    if (taken->is_error())
        return fail(c.io_error("SET " + cluster::instance_key(me.name) + ": " + taken->str));

    std::vector<std::vector<std::string>> reads;
    for (const auto& r : records)
        reads.push_back(
            {"HMGET", cluster::owner_key(r.endpoint), "instance", "incarnation", "epoch"});
    auto owners = c.pipeline(reads);
    if (!owners) return fail(std::move(owners).error());

    JoinResult out;
    std::vector<std::vector<std::string>> claims;
    std::vector<std::size_t> claimed;  // index into records
    for (std::size_t i = 0; i < records.size(); ++i) {
        if (auto claim = claim_for(me, records[i].endpoint, (*owners)[i])) {
            claims.push_back(std::move(*claim));
            claimed.push_back(i);
        } else {
            ++out.left_to_others;
        }
    }
    auto granted = c.pipeline(claims);
    if (!granted) return fail(std::move(granted).error());
    for (std::size_t k = 0; k < claimed.size(); ++k) {
        auto result = cluster::decode_claim_reply((*granted)[k].str);
        if (!result || result->outcome != cluster::ClaimOutcome::granted) {
            ++out.left_to_others;  // taken by another instance in between
            continue;
        }
        auto& record = records[claimed[k]];
        record.owner_epoch = result->epoch;
        out.owned.push_back(std::move(record));
    }
    return out;
}

Result<void, Error> leave_cluster(const redis::RedisAddress& address,
                                  const cluster::InstanceId& me) {
    auto connected = redis::BlockingRedis::connect(address, join_timeout);
    if (!connected) return fail(std::move(connected).error());
    static constexpr std::string_view delete_if_ours = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
)lua";
    auto deleted =
        connected->command({"EVAL", std::string(delete_if_ours), "1",
                            cluster::instance_key(me.name), std::to_string(me.incarnation)});
    if (!deleted) return fail(std::move(deleted).error());
    return {};
}

}  // namespace lwgate::cluster_link
