// Gateway persistence: store.uri is opened and read once, before any shard starts;
// each shard's bridge restores the endpoints it owns from the loaded records.
#include <spdlog/spdlog.h>
#include <asio/post.hpp>

#include "app/gateway.hpp"
#include "redis/open_redis_store.hpp"
#include "redis/redis_uri.hpp"

namespace lwgate::app {

Result<void, Error> Gateway::open_store() {
    const auto uri = redis::redact_uri(config_.store.uri);  // for messages: no password
    auto opened = redis::open_any_store(config_.store.uri);
    if (!opened)
        return fail(Error{opened.error().code, "store.uri " + uri + ": " + opened.error().detail});
    store_ = std::move(opened).value();
    if (auto loaded = load_credentials(); !loaded)
        return fail(Error{loaded.error().code, "store.uri " + uri + ": " + loaded.error().detail});
    auto loaded = store_->load_all();
    if (!loaded)
        return fail(Error{loaded.error().code, "store.uri " + uri + ": " + loaded.error().detail});
    auto ours = join_cluster(std::move(loaded).value());
    if (!ours)
        return fail(Error{ours.error().code, "store.uri " + uri + ": " + ours.error().detail});
    auto records =
        std::make_shared<const std::vector<store::DeviceRecord>>(std::move(ours).value());
    if (!records->empty()) spdlog::info("store {}: {} device(s) to restore", uri, records->size());
    for (auto& shard : shards_)
        shard->bridge().set_store(store_.get(), records);
    // A cluster's handovers wait for the store's commits too (gateway_cluster.cpp).
    if (config_.store.ack_after_commit || instance_link_) {
        // From the store's thread: each shard learns of the commit on its own thread.
        store_->set_commit_listener([this](std::uint64_t committed) {
            for (auto& shard : shards_) {
                asio::post(shard->io(), [bridge = &shard->bridge(), committed] {
                    bridge->on_store_committed(committed);
                });
            }
        });
    }
    return {};
}

}  // namespace lwgate::app
