// Bridge persistence: restoring this shard's devices from the store at start-up and
// writing each device's record when its relay's persistent state changes. See bridge.hpp
// ("persistence") and docs/bridge.md "What survives a restart".
//
// Time: the relay works in steady-clock TimePoints, which mean nothing after a reboot; records
// hold wall-clock milliseconds. Conversions go through one (steady, wall) pair of "now".
#include <algorithm>

#include <spdlog/spdlog.h>

#include "bridge/bridge.hpp"
#include "lwgate/coap/tcp_codec.hpp"

namespace lwgate::lwm2m {

using coap::Message;

namespace {

using std::chrono::milliseconds;

// Beyond this, a stored time is nonsense (clock jumps, a corrupt row): clamp it.
constexpr milliseconds max_offset = std::chrono::hours(24 * 365 * 10);

struct Now {
    explicit Now(const TimeSource& time) : steady(time.now()), wall(time.wall_now()) {}
    TimePoint steady;
    WallClock::time_point wall;

    store::UnixMillis to_wall(TimePoint t) const {
        const auto offset = std::clamp(std::chrono::duration_cast<milliseconds>(t - steady),
                                       -max_offset, max_offset);
        return std::chrono::duration_cast<milliseconds>((wall + offset).time_since_epoch()).count();
    }
    TimePoint to_steady(store::UnixMillis t) const {
        const auto offset = std::clamp(
            milliseconds(t) - std::chrono::duration_cast<milliseconds>(wall.time_since_epoch()),
            -max_offset, max_offset);
        return steady + offset;
    }
};

// Stored messages are RFC 8323 frames: the codec we already trust, with its length caps.
std::optional<Message> decode_message(const coap::Bytes& bytes) {
    return coap::decode_frame(bytes);
}

coap::Bytes token_bytes(const coap::Token& token) {
    const auto b = token.bytes();
    return {b.begin(), b.end()};
}

std::string query_string(const Message& request) {
    std::string out;
    for (const auto* o : request.find_options(coap::option::uri_query)) {
        if (!out.empty()) out += '&';
        out.append(o->value.begin(), o->value.end());
    }
    return out;
}

}  // namespace

void Bridge::set_store(store::Store* store,
                       std::shared_ptr<const std::vector<store::DeviceRecord>> loaded) {
    store_ = store;
    // Only with a store: without one there is no commit to wait for.
    core_link_.set_ack_after_commit(store != nullptr && config_.store.ack_after_commit);
    loaded_ = std::move(loaded);
}

std::optional<std::string> Bridge::restore_devices() {
    if (!store_ || !loaded_) return std::nullopt;
    const auto loaded = std::move(loaded_);
    const Now now(time_);
    std::size_t restored = 0;
    std::size_t ended = 0;
    for (const auto& r : *loaded) {
        if (owner_of(r.endpoint) != shard_) continue;
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
                spdlog::warn("endpoint={} store: dropping an undecodable observation of {}",
                             r.endpoint, o.path);
                continue;
            }
            s.observations.push_back({std::move(*request), o.observe});
        }
        std::vector<CoreRequestId> ids;
        for (const auto& q : r.queued) {
            auto request = decode_message(q.request);
            if (!request) {
                spdlog::warn("endpoint={} store: dropping an undecodable held request", r.endpoint);
                continue;
            }
            const CoreRequestId id = next_restored_id_++;
            ids.push_back(id);
            restored_ids_.emplace(id, request->token());
            s.queued.push_back({id, std::move(*request), now.to_steady(q.enqueued_at)});
        }

        auto device = std::make_unique<Device>(r.endpoint, relay_params_, io_, token_seed(),
                                               &relay_counters_);
        std::optional<upstream::UpstreamPsk> psk;
        if (auto it = psk_by_endpoint_.find(r.endpoint); it != psk_by_endpoint_.end())
            psk = it->second;
        // The stored port first: the core knows the device by this address. It may lie outside
        // this shard's share of upstream.bind.ports (threads changed): bind it anyway.
        const LocalPort stored = local_slot(r.local_address, r.local_port);
        const bool taken = r.local_port != 0 && ports_.take(stored);
        auto error = r.local_port != 0 ? core_link_.open(device->upstream, r.endpoint, psk,
                                                         r.local_address, r.local_port)
                                       : std::optional<std::string>("no stored port");
        const bool moved = error.has_value();
        if (error) {
            if (taken) ports_.release(stored);
            spdlog::warn(
                "endpoint={} cannot re-open upstream port {} ({}): telling the core the new "
                "address",
                r.endpoint, r.local_port, *error);
            error = open_upstream(device->upstream, r.endpoint);
        }
        if (error) {
            spdlog::error("endpoint={} not restored: {}", r.endpoint, *error);
            for (auto id : ids)
                restored_ids_.erase(id);
            store_->erase(r.endpoint);
            continue;
        }
        directory_.claim(r.endpoint, shard_);  // restore partitions by hash: nobody else has it
        directory_.try_open_session(true);     // known to the core already: never refused
        // The core may still retransmit a request it never saw acknowledged (lwgate stopped
        // within the piggyback window): its copies must not reach the device a second time.
        for (const auto& q : s.queued)
            core_link_.hold_restored(device->upstream, q.id, q.request.token());
        Device* d = device.get();
        by_upstream_[&d->upstream] = d;
        devices_.emplace(r.endpoint, std::move(device));
        auto& p = d->persisted;
        p.stored = true;
        p.register_query = r.register_query;
        p.object_links = r.object_links;
        p.local_port = r.local_port;
        p.local_address = r.local_address;
        d->relay.restore(std::move(s), now.steady);
        if (d->relay.registered()) {
            ++restored;
            if (moved) {
                d->relay.on_upstream_replaced(now.steady);  // an Update from the new address
            } else if (core_link_.secure()) {
                resuming_.push_back(r.endpoint);
            }
            std::string location;
            for (const auto& segment : r.location)
                location += "/" + segment;
            spdlog::info(
                "endpoint={} restored: location={} local_port={} observations={} "
                "held={}",
                r.endpoint, location, d->upstream.local_port(), d->relay.observations().size(),
                d->relay.queued());
        } else {
            ++ended;
            spdlog::info(
                "endpoint={} registration expired while lwgate was down; removed (and "
                "de-registered at the core)",
                r.endpoint);
        }
        run(*d);  // publishes the location, answers what expired, arms the timer, persists
    }
    if (restored + ended > 0) {
        spdlog::info("store: shard {} restored {} device(s), {} expired", shard_, restored, ended);
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
    return std::nullopt;
}

void Bridge::check_resumed() {
    std::size_t moved = 0;
    for (const auto& endpoint : std::exchange(resuming_, {})) {
        Device* device = find(endpoint);
        if (!device || core_link_.established(device->upstream)) continue;
        replace_upstream(*device,
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

void Bridge::replace_upstream(Device& device, std::string_view why) {
    const auto& endpoint = device.relay.endpoint();
    const LocalPort old = local_of(device.upstream);
    const std::uint16_t old_port = old.port;
    core_link_.close(device.upstream);
    auto error = open_upstream(device.upstream, endpoint);
    ports_.release(old);  // after open_upstream: the new session must not get it back
    if (error) {
        spdlog::error("endpoint={} upstream session lost: {}; the device must register again",
                      endpoint, *error);
        forget(endpoint);
        return;
    }
    spdlog::warn("endpoint={} upstream session moved from port {} to {}: {}", endpoint, old_port,
                 device.upstream.local_port(), why);
    device.relay.on_upstream_replaced(time_.now());
    run(device);
}

void Bridge::persist(Device& device) {
    write_record(device);
    if (device.awaiting_commit.empty()) return;
    // The record written last (now, or earlier when nothing changed since) holds these requests:
    // their ACKs wait for its commit. Sequences only grow, so a wait queued behind a later one
    // is released at the latest with it.
    commit_waits_.push_back({device.persisted.sequence, device.relay.endpoint(),
                             std::exchange(device.awaiting_commit, {})});
}

void Bridge::write_record(Device& device) {
    if (!store_) return;
    const auto& endpoint = device.relay.endpoint();
    auto& p = device.persisted;
    if (!device.relay.registered()) {
        if (p.stored) {
            spdlog::debug("endpoint={} stored: erased", endpoint);
            store_->erase(endpoint);
        }
        p.stored = false;
        return;
    }
    const auto generation = device.relay.persistent_generation();
    const auto port = device.upstream.local_port();
    const auto& address = device.upstream.local_address();
    if (p.stored && generation == p.generation && port == p.local_port &&
        address == p.local_address) {
        return;
    }
    const Now now(time_);
    auto s = device.relay.snapshot();
    store::DeviceRecord r;
    r.endpoint = endpoint;
    r.location = std::move(s.location);
    r.lifetime = s.lifetime;
    r.deadline = now.to_wall(s.deadline);
    r.queue_mode = s.queue_mode;
    r.authenticated = s.authenticated;
    r.binding = std::move(s.binding);
    r.version = std::move(s.version);
    r.register_query = p.register_query;
    r.object_links = p.object_links;
    r.local_port = port;
    r.local_address = address;
    for (const auto& o : s.observations) {
        r.observations.push_back({token_bytes(o.request.token()), uri_path_string(o.request),
                                  o.observe_number, coap::encode(o.request)});
    }
    for (const auto& q : s.queued) {
        r.queued.push_back(
            {token_bytes(q.request.token()), coap::encode(q.request), now.to_wall(q.enqueued_at)});
    }
    spdlog::debug("endpoint={} stored: observations={} held={}", endpoint, r.observations.size(),
                  r.queued.size());
    p.sequence = store_->put(std::move(r));
    p.stored = true;
    p.generation = generation;
    p.local_port = port;
    p.local_address = address;
}

void Bridge::unpersist(Device& device) {
    if (store_ && device.persisted.stored) {
        spdlog::debug("endpoint={} stored: erased", device.relay.endpoint());
        store_->erase(device.relay.endpoint());
    }
    device.persisted.stored = false;
}

void Bridge::remember_register(Device& device, const Message& request, Uplink kind) {
    if (!store_ || kind != Uplink::register_) return;
    auto& p = device.persisted;
    p.register_query = query_string(request);
    p.object_links = request.payload();
}

void Bridge::respond_core(Device& device, CoreRequestId id, Message&& response) {
    auto it = restored_ids_.find(id);
    if (it == restored_ids_.end()) {
        core_link_.respond(device.upstream, id, std::move(response));
        return;
    }
    const coap::Token token = it->second;
    restored_ids_.erase(it);
    if (core_link_.holds(device.upstream, id)) {
        core_link_.respond(device.upstream, id, std::move(response));  // separate, CON
        return;
    }
    // The session was re-opened on a new port since (DTLS resume, a taken port).
    if (!core_link_.respond_separately(device.upstream, token, std::move(response))) {
        spdlog::warn("endpoint={} cannot answer the core's restored request (token {})",
                     device.relay.endpoint(), token.to_hex());
    }
}

}  // namespace lwgate::lwm2m
