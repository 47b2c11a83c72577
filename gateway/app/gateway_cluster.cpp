// Gateway in a cluster: with a Redis store this instance joins the others on the same Redis
// (cluster_link/startup.hpp) before its shards start, each shard's bridge gets its link to the
// shared ownership state, and the control thread keeps the instance lease and reads the inbox.
#include <random>

#include <spdlog/spdlog.h>
#include <asio/post.hpp>

#include "app/gateway.hpp"
#include "cluster_link/startup.hpp"
#include "redis/redis_uri.hpp"

namespace lwgate::app {

namespace {

std::uint64_t draw_incarnation() {
    std::random_device random;
    std::uint64_t value = 0;
    while (value == 0)
        value = (std::uint64_t{random()} << 32) | random();
    return value;
}

}  // namespace

Result<std::vector<store::DeviceRecord>, Error> Gateway::join_cluster(
    std::vector<store::DeviceRecord> loaded) {
    auto address = redis::parse_redis_uri(config_.store.uri);
    if (!address) return loaded;  // not Redis: a single instance
    const auto& c = config_.cluster;
    instance_ = cluster::InstanceId{c.instance, draw_incarnation()};
    const std::size_t stored = loaded.size();
    auto joined = cluster_link::join_cluster(*address, instance_, c.lease, std::move(loaded));
    if (!joined) return fail(std::move(joined).error());
    spdlog::info(
        "cluster: instance {} (incarnation {}) joined on {}: {} endpoint(s) of {} stored "
        "are ours, {} another instance's",
        instance_.name, instance_.incarnation, address->describe(), joined->owned.size(), stored,
        joined->left_to_others);

    // A refused fenced write comes from the store's thread: to the endpoint's owner shard.
    store_->set_fence(
        instance_.name, instance_.incarnation, [this](const std::string& endpoint, std::uint64_t) {
            auto& router = shards_.front()->bridge().router();
            shards_.at(router.owner_of(endpoint))->bridge().on_write_refused(endpoint);
        });
    // A holder is asked again every half lease; uplinks wait two leases: a dead holder's lease
    // runs out within one, and the claim after that comes at most half a lease later.
    const cluster::OwnershipParams params{c.lease / 2, c.lease * 2};
    const auto lease = std::chrono::duration_cast<std::chrono::milliseconds>(c.lease);
    for (auto& shard : shards_) {
        shard->bridge().set_cluster(
            std::make_unique<cluster_link::ClusterClient>(shard->io(), *address, instance_, lease),
            params);
    }
    cluster_link::InstanceLinkSink sink;
    sink.notice = [this](cluster::Notice&& notice) {
        auto* bridge = &shards_.front()->bridge();
        asio::post(shards_.front()->io(), [bridge, n = std::move(notice)]() mutable {
            bridge->route_notice(std::move(n));
        });
    };
    sink.lapsed = [this] {
        auto* bridge = &shards_.front()->bridge();
        asio::post(shards_.front()->io(), [bridge] { bridge->broadcast_lease_lapsed(); });
    };
    instance_link_ = std::make_unique<cluster_link::InstanceLink>(control_, *address, instance_,
                                                                  c.lease, time_, std::move(sink));
    return std::move(joined->owned);
}

void Gateway::leave_cluster() {
    if (!instance_link_) return;
    store_->flush();  // the devices' newest state first: the next owners load it
    auto address = redis::parse_redis_uri(config_.store.uri);
    if (!address) return;
    if (auto left = cluster_link::leave_cluster(*address, instance_); !left) {
        spdlog::warn(
            "cluster: could not remove the lease of instance {} ({}): the others take "
            "its devices over once it runs out",
            instance_.name, left.error().detail);
        return;
    }
    spdlog::info("cluster: instance {} left the cluster", instance_.name);
}

}  // namespace lwgate::app
