#include "bridge/bridge.hpp"

#include <algorithm>
#include <random>

#include <spdlog/spdlog.h>
#include <asio/post.hpp>

#include "bridge/bridge_cluster.hpp"
#include "bridge/bridge_hosted.hpp"

namespace lwgate::lwm2m {

using coap::Message;
namespace code = coap::code;

namespace {

// Refusals of someone acting for an endpoint it may not act for, and of a device the gateway
// has no room for, are warnings; the others (a confused device, its rate) inform.
spdlog::level::level_enum refusal_level(Refusal reason) {
    switch (reason) {
        case Refusal::other_endpoint:
        case Refusal::identity_mismatch:
        case Refusal::plain_not_allowed:
        case Refusal::credentials_required:
        case Refusal::registration_limit:
            return spdlog::level::warn;
        default:
            return spdlog::level::info;
    }
}

PeerIdentity peer_identity(const session::ConnectionInfo& info) {
    return PeerIdentity{info.transport == session::Transport::tls, info.psk_identity,
                        info.peer_certificate, info.peer_certificate_names,
                        info.allow_plain_registration};
}

RegistrationRate registration_rate(const config::RateLimit& rate) {
    return {rate.per_second, static_cast<double>(rate.burst)};
}

}  // namespace

// ---- Bridge --------------------------------------------------------------------------------

Bridge::Bridge(unsigned shard, unsigned shard_count, asio::io_context& io,
               const config::Config& config, Directory& directory, const TimeSource& time)
    : shard_(shard),
      io_(io),
      config_(config),
      directory_(directory),
      time_(time),
      relay_params_(relay_params_from(config)),
      core_link_(io, config.upstream, *this, time),
      ports_(config.upstream.bind_addresses.size(), config.upstream.bind_port_first,
             config.upstream.bind_port_last, shard, std::max(1u, shard_count)),
      router_(shard, shard_count, directory, config.upstream.bootstrap.has_value(),
              registration_rate(config.registration.rate_per_address)) {
    // Before any shard runs: a peer may deliver as soon as its own loop starts.
    for (unsigned i = 0; i < std::max(1u, shard_count); ++i)
        inboxes_.push_back(std::make_unique<ShardMailbox>());
    if (config.upstream.bootstrap) {
        config::UpstreamConfig bs = config.upstream;
        bs.endpoint = *config.upstream.bootstrap;
        bs.bind_port_first = bs.bind_port_last = 0;  // bootstrap sessions are short: any port
        bootstrap_link_ = std::make_unique<upstream::CoreLink>(io, bs, *this, time);
    }
}

Bridge::~Bridge() = default;

Result<void, Error> Bridge::start(FindSession find_session) {
    find_session_ = std::move(find_session);
    if (auto started = core_link_.start(); !started) return started;
    if (bootstrap_link_) {
        if (auto started = bootstrap_link_->start(); !started) {
            auto error = std::move(started).error();
            error.detail = "bootstrap server: " + error.detail;
            return fail(std::move(error));
        }
    }
    return restore_devices();  // persistence: this shard's endpoints from the store
}

std::uint64_t Bridge::token_seed() {
    // Where a device's relay tokens start: unpredictable, because a response from the core is
    // matched by its token alone (RFC 7252 §5.3.1: an off-path attacker on plain UDP must not
    // guess it), and far apart for two relays sharing one connection (bootstrap, then register).
    std::random_device random;  // the kernel's CSPRNG (getrandom); once per new device
    return (std::uint64_t{random()} << 32) | random();
}

void Bridge::use_credentials(const credentials::CredentialTable& table) {
    credentials_ = &table;
    router_.set_identities(table);
}

std::optional<upstream::UpstreamPsk> Bridge::psk_of(const std::string& endpoint) const {
    if (!credentials_) return std::nullopt;
    auto key = credentials_->current_psk(endpoint);
    if (!key) return std::nullopt;
    return upstream::UpstreamPsk{std::move(key->identity), std::move(key->key)};
}

// ---- connection side -----------------------------------------------------------------------

void Bridge::note_refusal(const session::SessionBase* session, const Refused& refusal) {
    metrics_.refused[static_cast<std::size_t>(refusal.reason)].add();
    if (refusal.reason == Refusal::unroutable_response || !security_log_ || !session) return;
    const auto& info = session->info();
    security_log_->refused({.reason = to_string(refusal.reason),
                            .level = refusal_level(refusal.reason),
                            .conn = info.id,
                            .endpoint = refusal.endpoint,
                            .psk_identity = info.psk_identity,
                            .certificate = info.peer_certificate,
                            .remote = info.remote,
                            .detail = refusal.diagnostic},
                           time_.now());
}

void Bridge::refuse(session::SessionBase& session, const Message& message, const Refused& refusal) {
    note_refusal(&session, refusal);
    if (refusal.code == 0 || !coap::is_request(message.code())) return;
    Message answer(refusal.code, message.token());
    if (refusal.max_age) answer.add_uint_option(coap::option::max_age, *refusal.max_age);
    answer.set_payload(refusal.diagnostic);
    session.send(answer);
}

void Bridge::on_device_message(session::SessionBase& session, Message&& message) {
    const auto& info = session.info();
    auto decision =
        router_.route(ConnectionFacts{info.id, peer_identity(info), address_of(info.remote)},
                      message, time_.now());
    if (auto* refusal = std::get_if<Refused>(&decision)) {
        // Another instance of the cluster may hold this registration (its device moved here).
        if (cluster_ && refusal->reason == Refusal::unknown_registration &&
            resolve_location(session, message)) {
            return;
        }
        return refuse(session, message, *refusal);
    }
    auto& route = std::get<Route>(decision);
    metrics_.uplinks.add();
    post(route.owner, DeviceMessageEvent{shard_, info.id, std::move(route.endpoint),
                                         route.authenticated, route.kind, std::move(message)});
}

void Bridge::on_session_closed(session::SessionBase& session) {
    if (cluster_) cluster_->looked_up.erase(session.info().id);
    if (auto route = router_.close(session.info().id)) {
        post(route->owner, ConnectionClosedEvent{session.info().id, std::move(route->endpoint)});
    }
}

void Bridge::for_each_registration(
    const std::function<void(const DeviceRelay&, std::uint16_t)>& visit) const {
    for (const auto& [name, hosts] : endpoints_) {
        if (hosts.registration)
            visit(hosts.registration->host().relay(), hosts.registration->upstream.local_port());
    }
}

void Bridge::reload(const BridgeReload& changes) {
    if (changes.relay) relay_params_ = *changes.relay;
    if (changes.registration_rate) {
        const auto& rate = *changes.registration_rate;
        router_.set_registration_rate({rate.per_second, static_cast<double>(rate.burst)});
    }
}

void Bridge::set_peers(std::vector<Bridge*> peers) {
    peers_ = std::move(peers);
    outboxes_.resize(peers_.size());
}

void Bridge::send_outbox(unsigned shard) {
    Bridge* peer = peers_.at(shard);
    ShardMailbox& mailbox = *peer->inboxes_.at(shard_);
    if (mailbox.deliver(outboxes_[shard])) {
        asio::post(peer->io_, [peer, &mailbox] { peer->drain(mailbox); });
    }
}

void Bridge::drain(ShardMailbox& mailbox) {
    auto& events = mailbox.take();
    for (auto& event : events)
        std::visit([this](auto& e) { on_event(std::move(e)); }, event);
    events.clear();
}

void Bridge::on_event(DeviceMessageEvent&& e) {
    if (cluster_ && cluster_holds(e)) return;
    handle(e.conn_shard, e.conn, e.endpoint, e.authenticated, e.kind, std::move(e.message));
}

void Bridge::on_event(ConnectionClosedEvent&& e) {
    if (cluster_) {
        // Its messages that waited for a move go nowhere now; without any, the move serves
        // nobody (a claim in flight still completes).
        auto it = cluster_->waiting.find(e.endpoint);
        if (it != cluster_->waiting.end()) {
            std::erase_if(it->second, [&](const auto& w) { return w.conn == e.conn; });
            if (it->second.empty()) {
                cluster_->waiting.erase(it);
                cluster_->ownership.on_device_gone(e.endpoint);
            }
        }
    }
    handle_disconnect(e.conn, e.endpoint);
}

void Bridge::on_event(SendEvent&& e) {
    if (auto* s = find_session_(e.conn)) s->send(e.message);
}

void Bridge::on_event(RefuseEvent&& e) {
    // Counted even when the connection is gone: the device did try.
    auto* session = find_session_(e.conn);
    const auto& payload = e.answer.payload();
    note_refusal(session, Refused{.reason = e.reason,
                                  .code = e.answer.code(),
                                  .diagnostic = {reinterpret_cast<const char*>(payload.data()),
                                                 payload.size()},
                                  .endpoint = std::move(e.endpoint)});
    if (session) session->send(e.answer);
}

void Bridge::on_event(RegisteredEvent&& e) {
    const auto& r = e.registered;
    if (!router_.set_registered(r.conn, r.registered, r.queue_mode)) return;
    if (auto* session = find_session_(r.conn)) session->set_registered(r.registered);
}

void Bridge::on_event(CloseConnectionEvent&& e) {
    if (auto* s = find_session_(e.conn)) s->close(e.reason, e.detail);
}

// ---- owner side ----------------------------------------------------------------------------

Bridge::Hosted* Bridge::find(const std::string& endpoint) {
    auto it = endpoints_.find(endpoint);
    return it == endpoints_.end() ? nullptr : it->second.registration.get();
}

Bridge::Hosted* Bridge::find_bootstrap(const std::string& endpoint) {
    auto it = endpoints_.find(endpoint);
    return it == endpoints_.end() ? nullptr : it->second.bootstrap.get();
}

Bridge::Hosted* Bridge::find(upstream::UpstreamSession& session) {
    auto it = by_upstream_.find(&session);
    return it == by_upstream_.end() ? nullptr : it->second;
}

bool Bridge::alive(const std::string& endpoint, const Hosted* hosted) {
    return find(endpoint) == hosted || find_bootstrap(endpoint) == hosted;
}

void Bridge::handle(unsigned conn_shard, ConnectionId conn, const std::string& endpoint,
                    bool authenticated, Uplink kind, Message&& message) {
    Hosted* hosted = host_for(conn_shard, conn, endpoint, kind, message);
    if (!hosted) return;
    hosted->note_connection(conn, conn_shard);
    const TimePoint now = time_.now();
    if (coap::is_request(message.code())) {
        hosted->host().on_device_request(conn, std::move(message), now, authenticated);
    } else {
        hosted->host().on_device_response(conn, std::move(message), now);
    }
    settle(*hosted, now);
}

Bridge::Hosted* Bridge::host_for(unsigned conn_shard, ConnectionId conn,
                                 const std::string& endpoint, Uplink kind, const Message& message) {
    const bool request = coap::is_request(message.code());
    Hosted* bootstrap = find_bootstrap(endpoint);
    // A response goes to the bootstrap when it answers what the bootstrap relay sent.
    if (request ? kind == Uplink::bootstrap_request
                : bootstrap && bootstrap->host().relay().expects_device_token(message.token())) {
        if (bootstrap || !request) return bootstrap;
        return create(EndpointHost::Kind::bootstrap, conn_shard, conn, endpoint, message.token());
    }
    if (Hosted* registration = find(endpoint)) return registration;
    if (!request) return nullptr;
    if (kind != Uplink::register_) {
        // Update/De-register of a registration that ended while the device was away: 4.04 makes
        // an LwM2M client register again. Anything else has no registration to go to.
        const bool lwm2m = kind == Uplink::update || kind == Uplink::deregister;
        answer_connection(conn_shard, conn, message.token(),
                          lwm2m ? code::not_found : code::forbidden,
                          lwm2m ? "registration not found: register again"
                                : "no LwM2M registration on this connection");
        return nullptr;
    }
    return create(EndpointHost::Kind::registration, conn_shard, conn, endpoint, message.token());
}

Bridge::Hosted* Bridge::create(EndpointHost::Kind kind, unsigned conn_shard, ConnectionId conn,
                               const std::string& endpoint, const coap::Token& token) {
    if (const auto open = directory_.try_open_session(); open != SessionOpen::opened) {
        refuse_over_limit(conn_shard, conn, endpoint, token, open);
        return nullptr;
    }
    const bool bootstrap = kind == EndpointHost::Kind::bootstrap;
    auto hosted = make_hosted(kind, endpoint);
    auto opened = bootstrap ? bootstrap_link_->open(hosted->upstream, endpoint, psk_of(endpoint),
                                                    bind_address(0), 0)
                            : open_upstream(hosted->upstream, endpoint);
    if (!opened) {
        directory_.close_session();
        const auto& why = opened.error().detail;
        spdlog::error("endpoint={} cannot open {} session: {}", endpoint,
                      bootstrap ? "bootstrap" : "upstream", why);
        answer_connection(conn_shard, conn, token, code::bad_gateway, why);
        return nullptr;
    }
    if (!bootstrap) admin_stats.upstream_opened();
    spdlog::info("endpoint={} {} session local_port={}", endpoint,
                 bootstrap ? "bootstrap" : "upstream", hosted->upstream.local_port());
    Hosted* created = hosted.get();
    by_upstream_[&created->upstream] = created;
    if (store_writer_ && !bootstrap) {
        created->store_record = &store_writer_->track(endpoint);
        created->store_record->owner_epoch = owner_epoch(endpoint).value_or(0);
    }
    auto& slot = endpoints_[endpoint];
    (bootstrap ? slot.bootstrap : slot.registration) = std::move(hosted);
    return created;
}

Bridge::HostedPtr Bridge::make_hosted(EndpointHost::Kind kind, const std::string& endpoint) {
    const bool bootstrap = kind == EndpointHost::Kind::bootstrap;
    auto hosted = std::make_unique<Hosted>(*this, bootstrap ? *bootstrap_link_ : core_link_);
    const EndpointHost::Ports ports{*hosted, *hosted, subscribers_};
    if (bootstrap) {
        hosted->set_host(std::make_unique<BootstrapHost>(endpoint, relay_params_, token_seed(),
                                                         &relay_counters_, ports, time_.now()));
    } else {
        hosted->set_host(std::make_unique<RegistrationHost>(endpoint, relay_params_, token_seed(),
                                                            &relay_counters_, ports));
    }
    return hosted;
}

void Bridge::refuse_over_limit(unsigned conn_shard, ConnectionId conn, const std::string& endpoint,
                               const coap::Token& token, SessionOpen why) {
    // Every new endpoint holds a UDP socket toward the core: beyond the budget, new work is
    // refused and what exists goes on (no EMFILE for the devices already here).
    metrics_.refused[static_cast<std::size_t>(Refusal::registration_limit)].add();
    const bool descriptors = why == SessionOpen::over_descriptors;
    const char* reason = to_string(Refusal::registration_limit);
    if (security_log_ && security_log_->may_log(reason, time_.now())) {
        const auto detail = fmt::format("{} upstream sessions open{}", directory_.sessions(),
                                        descriptors ? ", no descriptor left for another" : "");
        logging::SecurityLog::write_refused(
            {.reason = reason, .conn = conn, .endpoint = endpoint, .detail = detail});
    }
    Message answer(code::service_unavailable, token);
    answer.add_uint_option(coap::option::max_age, registration_retry_seconds);
    answer.set_payload("registration limit reached; retry later");
    answer_connection(conn_shard, conn, std::move(answer));
    // Out of descriptors the connection itself is one too many: closed, so that the device
    // reconnects, and a balancer (or SO_REUSEPORT) may then pick an instance with room.
    if (descriptors) {
        post(conn_shard, CloseConnectionEvent{conn, session::CloseReason::limit_connections,
                                              "no descriptor left for a registration"});
    }
}

void Bridge::answer_connection(unsigned conn_shard, ConnectionId conn, Message&& answer) {
    post(conn_shard, SendEvent{conn, std::move(answer)});
}

void Bridge::answer_connection(unsigned conn_shard, ConnectionId conn, const coap::Token& token,
                               std::uint8_t response_code, std::string_view diagnostic) {
    Message answer(response_code, token);
    answer.set_payload(diagnostic);
    answer_connection(conn_shard, conn, std::move(answer));
}

void Bridge::handle_disconnect(ConnectionId conn, const std::string& endpoint) {
    auto it = endpoints_.find(endpoint);
    if (it == endpoints_.end()) return;
    // Settling may forget a host (deferred): both are looked at before that.
    const TimePoint now = time_.now();
    for (Hosted* hosted : {it->second.bootstrap.get(), it->second.registration.get()}) {
        if (!hosted) continue;
        hosted->drop_connection(conn);
        hosted->host().on_device_disconnected(conn, now);
        settle(*hosted, now);
    }
}

void Bridge::settle(Hosted& hosted, TimePoint now) {
    if (!hosted.bootstrap()) {
        publish_registration(hosted);
        if (hosted.store_record) {
            store_writer_->changed(*hosted.store_record,
                                   {hosted.host().relay(), hosted.upstream.local_port(),
                                    hosted.upstream.local_address()});
        }
    }
    if (!hosted.host().finished(now)) return arm(hosted);
    // Deferred: we may be inside a libcoap callback for this very session.
    asio::post(io_, [this, endpoint = hosted.host().endpoint(), ptr = &hosted] {
        if (alive(endpoint, ptr) && ptr->host().finished(time_.now())) forget(*ptr);
    });
}

// The Directory maps a registration's location to its endpoint for the connections of every
// shard (an Update names only the location); kept in step with the relay.
void Bridge::publish_registration(Hosted& hosted) {
    static const std::vector<std::string> none;
    const auto& relay = hosted.host().relay();
    if (relay.registration_revision() == hosted.published_revision) return;
    hosted.published_revision = relay.registration_revision();
    const auto& location = relay.registered() ? relay.location() : none;
    if (location == hosted.published_location &&
        hosted.published_authenticated == relay.authenticated()) {
        return;
    }
    if (!hosted.published_location.empty()) {
        directory_.erase_registration(join_path(hosted.published_location));
        metrics_.registered_devices.add(-1);
    }
    if (!location.empty()) {
        directory_.set_registration({relay.endpoint(), join_path(location), relay.authenticated()});
        metrics_.registered_devices.add(1);
        if (cluster_) {
            cluster_->client->set_location(join_path(location),
                                           {relay.endpoint(), relay.authenticated()});
        }
    }
    hosted.published_location = location;
    hosted.published_authenticated = relay.authenticated();
}

void Bridge::arm(Hosted& hosted) {
    const TimePoint deadline = hosted.host().next_deadline();
    if (deadline == never || deadline >= hosted.timer_at) return;
    hosted.timer_at = deadline;
    hosted.timer.expires_at(deadline);
    hosted.timer.async_wait(
        [this, endpoint = hosted.host().endpoint(), ptr = &hosted](const std::error_code& ec) {
            if (ec || !alive(endpoint, ptr)) return;
            ptr->timer_at = never;
            const TimePoint now = time_.now();
            ptr->host().on_tick(now);
            settle(*ptr, now);
        });
}

void Bridge::forget(Hosted& hosted) {
    const std::string endpoint = hosted.host().endpoint();
    if (hosted.bootstrap()) {
        spdlog::info("endpoint={} bootstrap ended; session closed", endpoint);
    } else {
        if (cluster_ && !hosted.published_location.empty())
            cluster_->client->erase_location(join_path(hosted.published_location));
        spdlog::info("endpoint={} registration ended; upstream session closed", endpoint);
        const std::uint64_t erased = store_writer_ ? store_writer_->forgotten(endpoint) : 0;
        close_host(hosted);
        if (cluster_) release_ended(endpoint, erased);
        return;
    }
    close_host(hosted);
}

void Bridge::close_host(Hosted& hosted) {
    const std::string endpoint = hosted.host().endpoint();
    const bool bootstrap = hosted.bootstrap();
    if (!bootstrap) {
        if (!hosted.published_location.empty()) {
            directory_.erase_registration(join_path(hosted.published_location));
            metrics_.registered_devices.add(-1);
        }
        ports_.release(local_of(hosted.upstream));
    }
    by_upstream_.erase(&hosted.upstream);
    hosted.link.close(hosted.upstream);
    directory_.close_session();
    auto it = endpoints_.find(endpoint);
    (bootstrap ? it->second.bootstrap : it->second.registration).reset();
    if (!it->second.bootstrap && !it->second.registration) endpoints_.erase(it);
}

// ---- subscribers -----------------------------------------------------------------------------

void Bridge::Subscribers::uplink_sent(const std::string& endpoint, const Message& request,
                                      Uplink kind) {
    if (kind == Uplink::register_ && bridge_.store_writer_) {
        bridge_.store_writer_->register_sent(endpoint, request);
    }
    bridge_.admin_stats.uplink_sent(request.token(), kind);
}

void Bridge::Subscribers::downlink_answered(CoreRequestId id, const Message& response) {
    bridge_.admin_stats.downlink_answered(id, response);
    bridge_.metrics_.downlinks.add();
}

void Bridge::Subscribers::notification_sent(const Message&) {
    bridge_.metrics_.notifications.add();
}

}  // namespace lwgate::lwm2m
