#include "app/admin_backend.hpp"

#include <future>
#include <memory>

#include <asio/post.hpp>

#include "app/gateway.hpp"

namespace lwgate::app {

AdminBackend::AdminBackend(const std::vector<ShardPtr>& shards,
                           const std::vector<net::ListenerPtr>& listeners,
                           const AcceptMetrics& accept, admin::GatewayFacts facts,
                           std::function<void()> drain)
    : shards_(shards),
      listeners_(listeners),
      accept_(accept),
      facts_(std::move(facts)),
      drain_(std::move(drain)) {}

template <class T>
std::optional<T> AdminBackend::on_shard(unsigned index, Duration wait,
                                        std::function<T(Shard&)> fn) {
    if (index >= shards_.size()) return std::nullopt;
    // The promise is shared with the posted handler: if we stop waiting, a late answer still
    // has somewhere to go.
    auto promise = std::make_shared<std::promise<T>>();
    auto future = promise->get_future();
    Shard& shard = *shards_[index];
    asio::post(shard.io(),
               [promise, fn = std::move(fn), &shard] { promise->set_value(fn(shard)); });
    if (future.wait_for(wait) != std::future_status::ready) return std::nullopt;
    return future.get();
}

admin::Snapshot AdminBackend::collect(const admin::CollectScope& scope) {
    admin::Snapshot s;
    s.gateway = facts_;
    if (store_) {
        const auto st = store_->stats();  // the store's own lock, never a shard's
        s.store = {st.puts, st.erases, st.coalesced, st.batches, st.rows_written, st.errors};
    }
    s.gateway.draining = draining_.load(std::memory_order_relaxed);
    s.gateway.accepted = accept_.accepted.get();
    s.gateway.refused_limit = accept_.refused_limit.get();
    s.gateway.refused_rate = accept_.refused_rate.get();
    s.gateway.listeners.clear();
    for (const auto& l : listeners_)
        s.gateway.listeners.push_back({l->bound_uri(), l->up()});
    // Ask every shard at once, then wait for all against one deadline.
    std::vector<std::future<admin::ShardSample>> futures;
    for (auto& shard : shards_) {
        auto promise = std::make_shared<std::promise<admin::ShardSample>>();
        futures.push_back(promise->get_future());
        asio::post(shard->io(), [promise, scope, s = shard.get()] {
            promise->set_value(s->admin_sample(scope));
        });
    }
    const auto until = Clock::now() + deadline;
    for (auto& f : futures) {
        if (f.wait_until(until) == std::future_status::ready) {
            s.shards.push_back(f.get());
        } else {
            s.complete = false;
        }
    }
    s.now = Clock::now();
    s.wall_now = admin::WallClock::now();
    return s;
}

std::optional<session::AdminPingResult> AdminBackend::ping(unsigned shard, std::uint64_t id,
                                                           Duration timeout) {
    auto promise = std::make_shared<std::promise<session::AdminPingResult>>();
    auto future = promise->get_future();
    auto started = on_shard<bool>(shard, deadline, [promise, id, timeout](Shard& s) {
        return s.admin_ping(id, timeout,
                            [promise](session::AdminPingResult r) { promise->set_value(r); });
    });
    if (!started || !*started) return std::nullopt;
    // The session answers by the timeout at the latest; the margin covers a busy shard.
    if (future.wait_for(timeout + deadline) != std::future_status::ready) {
        return session::AdminPingResult{session::AdminPingResult::Outcome::timeout, {}};
    }
    return future.get();
}

bool AdminBackend::release(unsigned shard, std::uint64_t id,
                           std::optional<std::string> alternative_address,
                           std::optional<std::uint32_t> hold_off_seconds) {
    auto done = on_shard<bool>(shard, deadline, [=](Shard& s) {
        return s.admin_release(id, alternative_address, hold_off_seconds);
    });
    return done.value_or(false);
}

bool AdminBackend::close(unsigned shard, std::uint64_t id) {
    auto done = on_shard<bool>(shard, deadline, [id](Shard& s) { return s.admin_close(id); });
    return done.value_or(false);
}

void AdminBackend::drain() {
    set_draining();
    drain_();
}

}  // namespace lwgate::app
