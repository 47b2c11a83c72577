// The bridge in a cluster: this shard's part of endpoint ownership between lwgate instances.
// Ownership (cluster/ownership.hpp) decides; this file executes its actions against Redis
// (cluster_link/ClusterClient) and against the shard's hosts, and holds the device messages
// that wait while an endpoint moves here. See docs/cluster.md.
#include <spdlog/spdlog.h>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include "bridge/bridge.hpp"
#include "bridge/bridge_cluster.hpp"
#include "bridge/bridge_hosted.hpp"
#include "lwm2m/registration.hpp"

namespace lwgate::lwm2m {

using coap::Message;
namespace code = coap::code;

namespace {
// Device messages that wait per endpoint while it moves here; beyond, 5.03.
constexpr std::size_t max_waiting = 16;
// After a failed Redis command: when to try again (moves wait while Redis is away).
constexpr auto redis_retry = std::chrono::milliseconds(500);
// Max-Age of the 5.03 for an uplink that waited too long for a move, or found no room.
constexpr std::uint32_t moving_retry_seconds = 5;

}  // namespace

void Bridge::set_cluster(std::unique_ptr<cluster_link::ClusterClient> client,
                         cluster::OwnershipParams params) {
    cluster_ = std::make_unique<ClusterState>(io_, std::move(client), params);
    cluster_->client->start();
}

Bridge::ClusterCounters Bridge::cluster_counters() const {
    if (!cluster_) return {};
    ClusterCounters c = cluster_->counters;
    c.owned = cluster_->ownership.owned();
    c.moving = cluster_->ownership.moving();
    const auto& s = cluster_->client->stats();
    c.redis_commands = s.commands;
    c.redis_errors = s.errors;
    c.redis_latency_us_total = s.latency_us_total;
    c.redis_connected = cluster_->client->connected();
    return c;
}

std::optional<std::uint64_t> Bridge::owner_epoch(const std::string& endpoint) const {
    return cluster_ ? cluster_->ownership.epoch_of(endpoint) : std::nullopt;
}

// ---- events from the instance link ------------------------------------------------------

void Bridge::route_notice(cluster::Notice&& notice) {
    const unsigned owner = router_.owner_of(notice.endpoint);
    post(owner, ClusterNoticeEvent{std::move(notice)});
}

void Bridge::broadcast_lease_lapsed() {
    for (unsigned shard = 0; shard < peers_.size(); ++shard)
        post(shard, LeaseLapsedEvent{});
}

void Bridge::on_event(ClusterNoticeEvent&& e) {
    if (!cluster_) return;
    auto& n = e.notice;
    if (n.kind == cluster::NoticeKind::handover) {
        cluster_->ownership.on_handover_requested(n.endpoint, n.from);
    } else {
        cluster_->ownership.on_released_notice(n.endpoint, time_.now());
    }
    run_ownership();
}

void Bridge::on_event(LeaseLapsedEvent&&) {
    if (!cluster_) return;
    cluster_->ownership.on_lease_lapsed();
    run_ownership();
}

void Bridge::on_write_refused(const std::string& endpoint) {
    asio::post(io_, [this, endpoint] {
        if (!cluster_) return;
        cluster_->ownership.on_write_refused(endpoint);
        run_ownership();
    });
}

// ---- device messages ------------------------------------------------------------------------

bool Bridge::cluster_holds(DeviceMessageEvent& e) {
    auto& c = *cluster_;
    const auto& endpoint = e.endpoint;
    // A bootstrap is short and owns nothing the core remembers: it runs where the device is.
    if (e.kind == Uplink::bootstrap_request || find_bootstrap(endpoint)) return false;
    // Per message: the adopting set is almost always empty, and then costs no lookup.
    const bool adopting = !c.adopting.empty() && c.adopting.count(endpoint);
    if (!adopting && c.ownership.owns(endpoint)) return false;
    if (c.ownership.refusing(endpoint)) {
        answer_moving(e);
        return true;
    }
    auto& waiting = c.waiting[endpoint];
    if (waiting.size() >= max_waiting) {
        answer_moving(e);
        return true;
    }
    ++c.counters.waited;
    const std::string& stored = waiting.emplace_back(std::move(e)).endpoint;  // `e` is moved from
    c.ownership.on_device_bound(stored, time_.now());
    run_ownership();
    return true;
}

bool Bridge::resolve_location(session::SessionBase& session, Message& message) {
    const auto id = session.info().id;
    if (!cluster_->looked_up.insert(id).second) return false;  // one lookup per connection
    const auto location = uri_path_string(message);
    cluster_->client->lookup_location(
        location, [this, id, location,
                   m = std::move(message)](std::optional<cluster_link::LocationHint> hint) mutable {
            auto* session = find_session_(id);
            if (!session) return;
            if (hint) {
                // Known to the cluster: the admission rules see it like a local registration,
                // with the identity it was made under.
                directory_.set_registration({hint->endpoint, location, hint->authenticated});
            }
            on_device_message(*session, std::move(m));
        });
    return true;
}

// ---- Ownership's actions ------------------------------------------------------------------

void Bridge::run_ownership() {
    for (auto& action : cluster_->ownership.take_actions())
        std::visit([this](auto& a) { execute(std::move(a)); }, action);
    arm_cluster_timer();
}

void Bridge::arm_cluster_timer() {
    auto& c = *cluster_;
    const TimePoint next = c.ownership.next_deadline();
    if (next == never || next >= c.timer_at) return;
    c.timer_at = next;
    c.timer.expires_at(next);
    c.timer.async_wait([this](const std::error_code& ec) {
        if (ec) return;
        cluster_->timer_at = never;
        cluster_->ownership.on_tick(time_.now());
        run_ownership();
    });
}

void Bridge::retry_later(std::function<void()> what) {
    auto timer = std::make_shared<asio::steady_timer>(io_, redis_retry);
    timer->async_wait([timer, what = std::move(what)](const std::error_code& ec) {
        if (!ec) what();
    });
}

void Bridge::execute(cluster::Claim&& a) {
    cluster_->client->claim(a.endpoint, [this, endpoint = a.endpoint](auto result) {
        if (!result) return retry_later([this, endpoint] { execute(cluster::Claim{endpoint}); });
        spdlog::debug("endpoint={} cluster: claim {} (epoch {})", endpoint,
                      result->outcome == cluster::ClaimOutcome::granted ? "granted" : "held",
                      result->epoch);
        cluster_->ownership.on_claim_result(endpoint, *result, time_.now());
        run_ownership();
    });
}

void Bridge::execute(cluster::RequestHandover&& a) {
    spdlog::info("endpoint={} owned by instance {}: asking it to hand the endpoint over",
                 a.endpoint, a.holder.name);
    cluster_->client->send(a.holder.name, cluster::NoticeKind::handover, a.endpoint);
}

void Bridge::execute(cluster::NotifyReleased&& a) {
    cluster_->client->send(a.to.name, cluster::NoticeKind::released, a.endpoint);
}

void Bridge::execute(cluster::Adopt&& a) {
    auto& c = *cluster_;
    if (find(a.endpoint)) return;  // still hosted here (claimed again after a lapse)
    c.adopting.insert(a.endpoint);
    c.client->load(a.endpoint, [this, endpoint = a.endpoint, epoch = a.epoch](auto loaded) {
        if (!loaded) {
            return retry_later([this, endpoint, epoch] {
                execute(cluster::Adopt{endpoint, epoch});
            });
        }
        adopt(endpoint, epoch, std::move(*loaded));
    });
}

void Bridge::adopt(const std::string& endpoint, std::uint64_t epoch,
                   std::optional<store::DeviceRecord>&& record) {
    auto& c = *cluster_;
    c.adopting.erase(endpoint);
    if (c.ownership.epoch_of(endpoint) != epoch) return;  // lost again meanwhile
    if (record && !find(endpoint)) {
        // A move brings an upstream socket with it: within connections.max_registrations like
        // a new registration (a burst of devices from a dead instance must not exhaust this
        // one's descriptors), else the endpoint goes back to the cluster for another instance.
        if (const auto open = directory_.try_open_session(); open != SessionOpen::opened)
            return give_back(endpoint, epoch, open);
        directory_.close_session();  // restore() takes it again, as at start
        record->owner_epoch = epoch;
        RestoreCounts counts;
        restore(*record, counts, true);
        ++c.counters.moves_in;
        spdlog::info("endpoint={} adopted from the cluster (epoch {})", endpoint, epoch);
    }
    replay_waiting(endpoint);
}

void Bridge::give_back(const std::string& endpoint, std::uint64_t epoch, SessionOpen why) {
    auto& c = *cluster_;
    spdlog::warn("endpoint={} not adopted: {} upstream sessions open ({})", endpoint,
                 directory_.sessions(),
                 why == SessionOpen::over_descriptors ? "no descriptor left for another"
                                                      : "connections.max_registrations");
    if (auto it = c.waiting.find(endpoint); it != c.waiting.end()) {
        for (auto& e : it->second) {
            if (coap::is_request(e.message.code()))
                refuse_over_limit(e.conn_shard, e.conn, endpoint, e.message.token(), why);
        }
        c.waiting.erase(it);
    }
    c.ownership.on_given_back(endpoint);
    c.client->release(endpoint, epoch, [](bool) {});
}

void Bridge::replay_waiting(const std::string& endpoint) {
    auto it = cluster_->waiting.find(endpoint);
    if (it == cluster_->waiting.end()) return;
    auto events = std::move(it->second);
    cluster_->waiting.erase(it);
    for (auto& e : events)
        handle(e.conn_shard, e.conn, e.endpoint, e.authenticated, e.kind, std::move(e.message));
}

void Bridge::execute(cluster::HandOver&& a) {
    std::uint64_t sequence = 0;
    if (Hosted* hosted = find(a.endpoint)) {
        if (hosted->store_record && store_writer_) {
            sequence = store_writer_->handed_off(
                *hosted->store_record, {hosted->host().relay(), hosted->upstream.local_port(),
                                        hosted->upstream.local_address()});
            hosted->store_record = nullptr;
        }
        hand_off(*hosted, "endpoint moved to another lwgate instance");
    }
    ++cluster_->counters.moves_out;
    spdlog::info("endpoint={} handed over to instance {}", a.endpoint, a.to.name);
    cluster_->handovers.push_back({sequence, a.endpoint, a.epoch});
    if (sequence == 0) release_after_commit(0);  // nothing to wait for
}

// An ended registration's endpoint is released once its erasure is in the store, like a handover.
void Bridge::release_ended(const std::string& endpoint, std::uint64_t erased) {
    const auto epoch = cluster_->ownership.on_registration_ended(endpoint);
    if (!epoch) return;
    spdlog::debug("endpoint={} cluster: released once its record is erased (epoch {})", endpoint,
                  *epoch);
    cluster_->handovers.push_back({erased, endpoint, *epoch});
    if (erased == 0) release_after_commit(0);  // nothing to wait for
}

// The endpoint is released once its final record is in the store: the next owner loads it.
void Bridge::release_after_commit(std::uint64_t committed) {
    auto& waits = cluster_->handovers;
    while (!waits.empty() && waits.front().sequence <= committed) {
        auto wait = std::move(waits.front());
        waits.pop_front();
        cluster_->client->release(wait.endpoint, wait.epoch,
                                  [this, endpoint = wait.endpoint](bool) {
                                      cluster_->ownership.on_handed_over(endpoint);
                                      run_ownership();
                                  });
    }
}

void Bridge::answer_moving(const DeviceMessageEvent& e) {
    ++cluster_->counters.refused;
    if (!coap::is_request(e.message.code())) return;  // a response is dropped
    Message answer(code::service_unavailable, e.message.token());
    answer.add_uint_option(coap::option::max_age, moving_retry_seconds);
    answer.set_payload("endpoint moving between gateway instances; retry");
    answer_connection(e.conn_shard, e.conn, std::move(answer));
}

void Bridge::execute(cluster::Refuse&& a) {
    auto it = cluster_->waiting.find(a.endpoint);
    if (it == cluster_->waiting.end()) return;
    for (const auto& e : it->second)
        answer_moving(e);
    cluster_->waiting.erase(it);
}

void Bridge::execute(cluster::Drop&& a) {
    ++cluster_->counters.lost;
    spdlog::warn("endpoint={} lost to another lwgate instance: closing it here", a.endpoint);
    cluster_->waiting.erase(a.endpoint);
    if (Hosted* hosted = find(a.endpoint)) {
        if (store_writer_ && hosted->store_record) {
            // Nothing more is written: the endpoint's record is the new owner's.
            hosted->store_record = nullptr;
            store_writer_->dropped(a.endpoint);
        }
        hand_off(*hosted, "endpoint owned by another lwgate instance");
    }
}

void Bridge::execute(cluster::Revalidate&& a) {
    cluster_->client->revalidate(a.endpoint, a.epoch, [this, a](auto answer) {
        if (!answer) return retry_later([this, a]() mutable { execute(cluster::Revalidate(a)); });
        const auto& epoch = *answer;
        cluster_->ownership.on_revalidated(a.endpoint, epoch.has_value());
        if (epoch) rewrite_owned(a.endpoint, *epoch);
        run_ownership();
    });
}

void Bridge::rewrite_owned(const std::string& endpoint, std::uint64_t epoch) {
    cluster_->ownership.on_reclaimed(endpoint, epoch);
    Hosted* hosted = find(endpoint);
    if (!hosted) return;
    const auto& relay = hosted->host().relay();
    if (relay.registered()) {
        cluster_->client->set_location(join_path(relay.location()),
                                       {relay.endpoint(), relay.authenticated()});
    }
    if (hosted->store_record && store_writer_) {
        store_writer_->rewrite(*hosted->store_record, epoch);
        settle(*hosted, time_.now());
    }
}

void Bridge::hand_off(Hosted& hosted, const char* why) {
    hosted.close_connections(session::CloseReason::moved, why);
    close_host(hosted);
}

}  // namespace lwgate::lwm2m
