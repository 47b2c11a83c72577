#include "cluster_link/instance_list.hpp"

#include <algorithm>

#include "cluster/lease_scripts.hpp"
#include "redis/redis_blocking.hpp"
#include "store/store_error.hpp"

namespace lwgate::cluster_link {

using redis::RedisReply;

namespace {

Error scan_error(std::string what) {
    return Error{make_error_code(store::StoreErrc::io), std::move(what)};
}

// The lease keys, sorted, at most bounds.max_instances of them.
Result<std::vector<std::string>, Error> scan_lease_keys(redis::BlockingRedis& redis,
                                                        const InstanceListBounds& bounds,
                                                        bool& truncated) {
    const std::string pattern = cluster::instance_key("") + "*";
    const auto give_up = std::chrono::steady_clock::now() + 2 * bounds.round_trip;
    std::vector<std::string> keys;
    std::string cursor = "0";
    for (int round = 0;; ++round) {
        if (round > 0 && std::chrono::steady_clock::now() > give_up)
            return fail(scan_error("SCAN of the instance leases took too long"));
        auto r = redis.command({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
        if (!r) return fail(std::move(r).error());
        if (r->is_error() || r->elements.size() != 2)
            return fail(scan_error("SCAN: " + (r->is_error() ? r->str : "unexpected answer")));
        cursor = r->elements[0].str;
        for (const auto& key : r->elements[1].elements)
            keys.push_back(key.str);
        if (keys.size() >= bounds.max_instances) {
            truncated = keys.size() > bounds.max_instances || cursor != "0";
            keys.resize(std::min(keys.size(), bounds.max_instances));
            break;
        }
        if (cursor == "0") break;
    }
    std::sort(keys.begin(), keys.end());
    return keys;
}

}  // namespace

Result<InstanceList, Error> list_live_instances(const redis::RedisAddress& address,
                                                InstanceListBounds bounds) {
    auto connected = redis::BlockingRedis::connect(address, bounds.round_trip);
    if (!connected) return fail(std::move(connected).error());
    auto& redis = *connected;
    InstanceList out;
    auto keys = scan_lease_keys(redis, bounds, out.truncated);
    if (!keys) return fail(std::move(keys).error());
    if (keys->empty()) return out;
    std::vector<std::vector<std::string>> commands;
    for (const auto& key : *keys) {
        commands.push_back({"GET", key});
        commands.push_back({"PTTL", key});
    }
    auto replies = redis.pipeline(commands);
    if (!replies) return fail(std::move(replies).error());
    const std::size_t prefix = cluster::instance_key("").size();
    for (std::size_t i = 0; i < keys->size() && 2 * i + 1 < replies->size(); ++i) {
        const auto& value = (*replies)[2 * i];
        if (value.type == RedisReply::Type::nil) continue;  // expired since the SCAN
        const auto& ttl = (*replies)[2 * i + 1];
        out.instances.push_back(
            {(*keys)[i].substr(prefix), value.str,
             ttl.type == RedisReply::Type::integer ? ttl.integer : std::int64_t{-1}});
    }
    return out;
}

}  // namespace lwgate::cluster_link
