#include "app/admin_backend.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <filesystem>
#include <future>
#include <memory>
#include <unordered_set>

#include <asio/post.hpp>

#include "app/gateway.hpp"
#include "app/process_reader.hpp"
#include "app/shard_sampler.hpp"
#include "cluster_link/instance_list.hpp"

namespace lwgate::app {

std::uint64_t open_descriptors() {
    // One directory listing per admin request: cheap next to the JSON it feeds (20,000 entries
    // take about a millisecond).
    std::error_code ec;
    std::uint64_t n = 0;
    for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
         it.increment(ec))
        ++n;
    return n > 0 ? n - 1 : 0;  // the listing's own descriptor
}

std::uint64_t descriptor_limit_now() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 0;
    return limit.rlim_cur;
}

namespace {

// Runs an operator's action on connection `id` of `shard` (on its thread); false when the
// connection is gone. The session is held for the call: a Ping on a dead socket may close it
// at once.
template <class Action>
bool with_session(Shard& shard, std::uint64_t id, Action&& action) {
    const session::SessionPtr keep = shard.hold_session(id);
    if (!keep) return false;
    action(*keep);
    return true;
}

// The instance link's state, copied on the control thread.
admin::ClusterFacts read_link(admin::ClusterFacts facts, const cluster_link::InstanceLink& link) {
    facts.link_sampled = true;
    facts.lease_valid = link.lease_valid();
    facts.link_connected = link.connected();
    const auto& st = link.stats();
    facts.renewals = st.renewals;
    facts.renewal_failures = st.renewal_failures;
    facts.lapses = st.lapses;
    facts.notices = st.notices;
    return facts;
}

}  // namespace

AdminBackend::AdminBackend(const std::vector<ShardPtr>& shards,
                           const std::vector<std::unique_ptr<CloseRecorder>>& closes,
                           const std::vector<net::ListenerPtr>& listeners,
                           const AcceptMetrics& accept, admin::GatewayFacts facts,
                           std::function<void()> drain, const TimeSource& time)
    : shards_(shards),
      closes_(closes),
      listeners_(listeners),
      accept_(accept),
      facts_(std::move(facts)),
      drain_(std::move(drain)),
      time_(time) {}

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
    s.gateway.refused_handshakes_per_address =
        accept_.refused_handshakes_per_address.get() +
        accept_.refused_handshakes_per_address_proxied.load(std::memory_order_relaxed);
    s.gateway.refused_descriptors = accept_.refused_descriptors.get();
    s.gateway.open_descriptors = open_descriptors();
    s.gateway.descriptor_limit = descriptor_limit_now();
    s.gateway.process = read_process_sample();
    if (directory_) {
        s.gateway.upstream_sessions = directory_->sessions();
        s.gateway.max_registrations = directory_->session_limit();
    }
    s.gateway.listeners.clear();
    for (const auto& l : listeners_)
        s.gateway.listeners.push_back({l->bound_uri(), l->up()});
    // Ask the control thread (the instance lease) and every shard at once, then wait for all
    // against one deadline.
    std::optional<std::future<admin::ClusterFacts>> link_future;
    if (cluster_) {
        s.cluster = cluster_->facts;
        if (cluster_->control && cluster_->link) {
            auto promise = std::make_shared<std::promise<admin::ClusterFacts>>();
            link_future = promise->get_future();
            asio::post(*cluster_->control,
                       [promise, facts = cluster_->facts, link = cluster_->link] {
                           promise->set_value(read_link(facts, *link));
                       });
        }
    }
    std::vector<std::future<admin::ShardSample>> futures;
    for (std::size_t i = 0; i < shards_.size(); ++i) {
        auto promise = std::make_shared<std::promise<admin::ShardSample>>();
        futures.push_back(promise->get_future());
        asio::post(shards_[i]->io(),
                   [promise, scope, s = shards_[i].get(), closes = closes_.at(i).get()] {
                       promise->set_value(sample_shard(*s, *closes, scope));
                   });
    }
    // A real wait on real futures: the real clock, whatever the snapshot is stamped with.
    const auto until = Clock::now() + deadline;
    for (auto& f : futures) {
        if (f.wait_until(until) == std::future_status::ready) {
            s.shards.push_back(f.get());
        } else {
            s.complete = false;
        }
    }
    if (link_future && link_future->wait_until(until) == std::future_status::ready)
        s.cluster = link_future->get();
    s.now = time_.now();
    s.wall_now = time_.wall_now();
    return s;
}

void AdminBackend::start_ping(unsigned shard, std::uint64_t id, Duration timeout, PingDone done) {
    if (shard >= shards_.size()) return done(std::nullopt);
    Shard& s = *shards_[shard];
    asio::post(s.io(), [&s, id, timeout, done = std::move(done)]() mutable {
        // admin_ping() takes the callback even when it has no such connection: shared, so
        // that a refusal still answers.
        auto once = std::make_shared<PingDone>(std::move(done));
        if (!with_session(s, id, [&](session::SessionBase& session) {
                session.admin_ping(timeout, [once](session::AdminPingResult r) { (*once)(r); });
            })) {
            (*once)(std::nullopt);
        }
    });
}

bool AdminBackend::release(unsigned shard, std::uint64_t id,
                           std::optional<std::string> alternative_address,
                           std::optional<std::uint32_t> hold_off_seconds) {
    auto done = on_shard<bool>(shard, deadline, [=](Shard& s) {
        return with_session(s, id, [&](session::SessionBase& session) {
            session.admin_release(alternative_address, hold_off_seconds);
        });
    });
    return done.value_or(false);
}

bool AdminBackend::close(unsigned shard, std::uint64_t id) {
    auto done = on_shard<bool>(shard, deadline, [id](Shard& s) {
        return with_session(s, id, [](session::SessionBase& session) {
            session.close(session::CloseReason::admin, "closed by operator");
        });
    });
    return done.value_or(false);
}

std::size_t AdminBackend::close_identities(const std::vector<std::string>& identities) {
    if (identities.empty()) return 0;
    // Shared: a shard that answers after the deadline still reads it.
    const auto set =
        std::make_shared<const std::unordered_set<std::string>>(identities.begin(), identities.end());
    std::size_t closed = 0;
    for (unsigned i = 0; i < shards_.size(); ++i) {
        closed += on_shard<std::size_t>(i, deadline, [set](Shard& s) {
                      return s.close_identities_here(*set);
                  }).value_or(0);
    }
    return closed;
}

admin::ClusterInstances AdminBackend::cluster_instances() {
    admin::ClusterInstances out;
    if (!cluster_) {
        out.instances.emplace();
        return out;
    }
    auto listed = cluster_link::list_live_instances(cluster_->address);
    if (!listed) {
        out.error = listed.error().message();
        return out;
    }
    out.truncated = listed->truncated;
    out.instances.emplace();
    for (auto& live : listed->instances)
        out.instances->push_back({std::move(live.name), std::move(live.incarnation), live.ttl_ms});
    return out;
}

admin::ReloadResult AdminBackend::reload(bool apply) {
    if (!reload_control_ || !reload_) return {};
    // Shared with the posted handler: if we stop waiting, a late answer still has somewhere to
    // go (and the reload still takes place).
    auto promise = std::make_shared<std::promise<admin::ReloadResult>>();
    auto future = promise->get_future();
    asio::post(*reload_control_, [promise, fn = reload_, apply] { promise->set_value(fn(apply)); });
    admin::ReloadResult late;
    late.outcome = admin::ReloadOutcome::no_answer;
    if (future.wait_for(reload_deadline) != std::future_status::ready) return late;
    try {
        return future.get();
    } catch (const std::future_error&) {  // the control loop ended without running it
        return late;
    }
}

void AdminBackend::drain() {
    set_draining();
    drain_();
}

}  // namespace lwgate::app
