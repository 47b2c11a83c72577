// Bridge persistence: restoring this shard's devices from the store at start-up (the records are
// written by the StoreWriter, store_writer.hpp). See bridge.hpp ("persistence") and
// docs/bridge.md "What survives a restart".
#include <algorithm>

#include <spdlog/spdlog.h>

#include "bridge/bridge.hpp"
#include "bridge/bridge_cluster.hpp"
#include "bridge/bridge_hosted.hpp"
#include "bridge/record_time.hpp"
#include "lwgate/coap/tcp_codec.hpp"

namespace lwgate::lwm2m {

using coap::Message;

namespace {

// Stored messages are RFC 8323 frames: the codec we already trust, with its length caps.
std::optional<Message> decode_message(const coap::Bytes& bytes) {
    return coap::decode_frame(bytes);
}

// The relay's snapshot in a stored record (held requests without their ids yet).
RelaySnapshot snapshot_of(const store::DeviceRecord& r, const RecordTime& now) {
    RelaySnapshot s;
    s.endpoint = r.endpoint;
    s.registered = true;
    s.location = r.location;
    s.lifetime = r.lifetime;
    s.deadline = now.to_steady(r.deadline);
    s.queue_mode = r.queue_mode;
    s.authenticated = r.authenticated;
    s.version = r.version;
    s.binding = r.binding;
    for (const auto& o : r.observations) {
        auto request = decode_message(o.request);
        if (!request) {
            spdlog::warn("endpoint={} store: dropping an undecodable observation of {}", r.endpoint,
                         o.path);
            continue;
        }
        s.observations.push_back({std::move(*request), o.observe});
    }
    for (const auto& q : r.queued) {
        auto request = decode_message(q.request);
        if (!request) {
            spdlog::warn("endpoint={} store: dropping an undecodable held request", r.endpoint);
            continue;
        }
        s.queued.push_back({0, std::move(*request), now.to_steady(q.enqueued_at)});
    }
    return s;
}

}  // namespace

void Bridge::set_store(store::Store* store,
                       std::shared_ptr<const std::vector<store::DeviceRecord>> loaded) {
    store_ = store;
    store_writer_ = store ? std::make_unique<StoreWriter>(*store, time_) : nullptr;
    // Only with a store: without one there is no commit to wait for.
    core_link_.set_ack_after_commit(store != nullptr && config_.store.ack_after_commit);
    loaded_ = std::move(loaded);
}

Result<void, Error> Bridge::restore_devices() {
    if (!store_ || !loaded_) return {};
    const auto loaded = std::move(loaded_);
    RestoreCounts counts;
    for (const auto& r : *loaded) {
        if (router_.owner_of(r.endpoint) == shard_) restore(r, counts);
    }
    if (counts.restored + counts.ended > 0) {
        spdlog::info("store: shard {} restored {} device(s), {} expired", shard_, counts.restored,
                     counts.ended);
    }
    const auto resume_timeout = config_.upstream.dtls_resume_timeout;
    if (!resuming_.empty() && resume_timeout > Duration::zero()) {
        resume_timer_.emplace(io_);
        resume_timer_->expires_after(resume_timeout);
        resume_timer_->async_wait([this](const std::error_code& ec) {
            if (!ec) check_resumed();
        });
    } else {
        resuming_.clear();
    }
    return {};
}

// The stored port first: the core knows the device by this address. It may lie outside this
// shard's share of upstream.bind.ports (threads changed): it is bound anyway. `moved`: the
// session had to take a new port.
Result<void, Error> Bridge::reopen_upstream(Hosted& hosted, const store::DeviceRecord& r,
                                            bool& moved, bool adopted) {
    if (adopted) {
        moved = true;
        return open_upstream(hosted.upstream, r.endpoint);
    }
    const LocalPort stored = local_slot(r.local_address, r.local_port);
    const bool taken = r.local_port != 0 && ports_.take(stored);
    Result<void, Error> opened =
        r.local_port != 0
            ? core_link_.open(hosted.upstream, r.endpoint, psk_of(r.endpoint), r.local_address,
                              r.local_port)
            : fail(Error{make_error_code(upstream::UpstreamErrc::no_local_port), "no stored port"});
    moved = !opened;
    if (opened) return opened;
    if (taken) ports_.release(stored);
    spdlog::warn(
        "endpoint={} cannot re-open upstream port {} ({}): telling the core the new "
        "address",
        r.endpoint, r.local_port, opened.error().detail);
    return open_upstream(hosted.upstream, r.endpoint);
}

void Bridge::restore(const store::DeviceRecord& r, RestoreCounts& counts, bool adopted) {
    const RecordTime clock(time_);
    const TimePoint now = clock.steady;
    RelaySnapshot s = snapshot_of(r, clock);
    std::vector<CoreRequestId> ids;
    for (auto& q : s.queued) {
        q.id = next_restored_id_++;
        ids.push_back(q.id);
        restored_ids_.emplace(q.id, q.request.token());
    }
    auto hosted = make_hosted(EndpointHost::Kind::registration, r.endpoint);
    bool moved = false;
    if (auto reopened = reopen_upstream(*hosted, r, moved, adopted); !reopened) {
        spdlog::error("endpoint={} not restored: {}", r.endpoint, reopened.error().detail);
        for (auto id : ids)
            restored_ids_.erase(id);
        store_->erase(r.endpoint, r.owner_epoch);
        return;
    }
    directory_.try_open_session(true);  // known to the core already: never refused
    if (cluster_) cluster_->ownership.on_restored(r.endpoint, r.owner_epoch);
    // The core may still retransmit a request it never saw acknowledged (lwgate stopped within
    // the piggyback window): its copies must not reach the device a second time.
    for (const auto& q : s.queued)
        core_link_.hold_restored(hosted->upstream, q.id, q.request.token());
    Hosted& h = *hosted;
    by_upstream_[&h.upstream] = &h;
    endpoints_[r.endpoint].registration = std::move(hosted);
    h.store_record = &store_writer_->restored(r);
    auto& relay = h.host().relay_for_restore();
    relay.restore(std::move(s), now);
    if (relay.registered()) {
        ++counts.restored;
        if (moved) {
            relay.on_upstream_replaced(now);  // an Update from the new address
        } else if (core_link_.secure()) {
            resuming_.push_back(r.endpoint);
        }
        spdlog::info("endpoint={} restored: location={} local_port={} observations={} held={}",
                     r.endpoint, join_path(r.location), h.upstream.local_port(),
                     relay.observations().size(), relay.queued());
    } else {
        ++counts.ended;
        spdlog::info(
            "endpoint={} registration expired while lwgate was down; removed (and "
            "de-registered at the core)",
            r.endpoint);
    }
    h.host().settle(now);
    settle(h, now);  // publishes the location, answers what expired, arms the timer, persists
}

void Bridge::check_resumed() {
    std::size_t moved = 0;
    for (const auto& endpoint : std::exchange(resuming_, {})) {
        Hosted* hosted = find(endpoint);
        if (!hosted || core_link_.established(hosted->upstream)) continue;
        replace_upstream(*hosted,
                         "the core did not resume DTLS on the stored port within "
                         "upstream.dtls_resume_timeout");
        ++moved;
    }
    if (moved > 0) {
        spdlog::warn(
            "store: shard {}: {} DTLS session(s) moved to new ports (the core ignored "
            "new handshakes from the stored ones)",
            shard_, moved);
    }
}

void Bridge::replace_upstream(Hosted& hosted, std::string_view why) {
    const auto& endpoint = hosted.host().endpoint();
    const LocalPort old = local_of(hosted.upstream);
    core_link_.close(hosted.upstream);
    auto opened = open_upstream(hosted.upstream, endpoint);
    ports_.release(old);  // after open_upstream: the new session must not get it back
    if (!opened) {
        spdlog::error("endpoint={} upstream session lost: {}; the device must register again",
                      endpoint, opened.error().detail);
        forget(hosted);
        return;
    }
    spdlog::warn("endpoint={} upstream session moved from port {} to {}: {}", endpoint, old.port,
                 hosted.upstream.local_port(), why);
    const TimePoint now = time_.now();
    hosted.host().on_upstream_replaced(now);
    settle(hosted, now);
}

void Bridge::respond_core(Hosted& hosted, CoreRequestId id, Message&& response) {
    auto it = restored_ids_.find(id);
    if (it == restored_ids_.end()) {
        core_link_.respond(hosted.upstream, id, std::move(response));
        return;
    }
    const coap::Token token = it->second;
    restored_ids_.erase(it);
    if (core_link_.holds(hosted.upstream, id)) {
        core_link_.respond(hosted.upstream, id, std::move(response));  // separate, CON
        return;
    }
    // The session was re-opened on a new port since (DTLS resume, a taken port).
    if (!core_link_.respond_separately(hosted.upstream, token, std::move(response))) {
        spdlog::warn("endpoint={} cannot answer the core's restored request (token {})",
                     hosted.host().endpoint(), token.to_hex());
    }
}

}  // namespace lwgate::lwm2m
