#include "bridge/bridge.hpp"

#include <algorithm>
#include <random>

#include <spdlog/spdlog.h>
#include <asio/post.hpp>

namespace lwgate::lwm2m {

using coap::Message;
namespace code = coap::code;

namespace {

template <class... Ts>
struct overloaded : Ts... {
    using Ts::operator()...;
};
template <class... Ts>
overloaded(Ts...) -> overloaded<Ts...>;

std::string join(const std::vector<std::string>& segments) {
    std::string out;
    for (const auto& s : segments)
        out += "/" + s;
    return out;
}

// A bootstrap relay with nothing happening for this long is closed; one that relayed
// Bootstrap-Finish stays this much longer so the answer (and its retransmissions) get out.
constexpr Duration bootstrap_timeout{300'000};
constexpr Duration bootstrap_linger{5'000};

// Max-Age of the 5.03 for a Register beyond the registration budgets.
constexpr std::uint32_t registration_retry_seconds = 60;

// Refusals logged per shard: a burst of this many, then this many per second.
constexpr double refusal_log_rate = 10;
constexpr double refusal_log_burst = 20;

PeerIdentity peer_identity(const session::ConnectionInfo& info) {
    return PeerIdentity{info.transport == session::Transport::tls, info.psk_identity,
                        info.peer_certificate, info.peer_certificate_names,
                        info.allow_plain_registration};
}

}  // namespace

// ---- Bridge --------------------------------------------------------------------------------

Bridge::Bridge(unsigned shard, unsigned shard_count, asio::io_context& io,
               const config::Config& config, Directory& directory, const TimeSource& time)
    : shard_(shard),
      shard_count_(std::max(1u, shard_count)),
      io_(io),
      config_(config),
      directory_(directory),
      time_(time),
      relay_params_(relay_params_from(config)),
      core_link_(io, config.upstream, *this),
      ports_(config.upstream.bind_addresses.size(), config.upstream.bind_port_first,
             config.upstream.bind_port_last, shard, std::max(1u, shard_count)),
      refusal_log_budget_(refusal_log_rate, refusal_log_burst, time_.now()),
      register_rate_(config.registration.rate_per_address.per_second,
                     config.registration.rate_per_address.burst) {
    set_credentials(config.credentials);
    if (config.upstream.bootstrap) {
        config::UpstreamConfig bs = config.upstream;
        bs.endpoint = *config.upstream.bootstrap;
        bs.bind_port_first = bs.bind_port_last = 0;  // bootstrap sessions are short: any port
        bootstrap_link_ = std::make_unique<upstream::CoreLink>(io, bs, *this);
    }
}

Bridge::~Bridge() = default;

std::optional<std::string> Bridge::start(FindSession find_session) {
    find_session_ = std::move(find_session);
    if (auto error = core_link_.start()) return error;
    if (bootstrap_link_) {
        if (auto error = bootstrap_link_->start()) return "bootstrap server: " + *error;
    }
    return restore_devices();  // persistence: this shard's endpoints from the store
}

unsigned Bridge::owner_of(const std::string& endpoint) const {
    return static_cast<unsigned>(std::hash<std::string>{}(endpoint) % shard_count_);
}

std::uint64_t Bridge::token_seed() {
    // Where a device's relay tokens start: unpredictable, because a response from the core is
    // matched by its token alone (RFC 7252 §5.3.1: an off-path attacker on plain UDP must not
    // guess it), and far apart for two relays sharing one connection (bootstrap, then register).
    std::random_device random;  // the kernel's CSPRNG (getrandom); once per new device
    return (std::uint64_t{random()} << 32) | random();
}

unsigned Bridge::route_owner(const std::string& endpoint) const {
    return directory_.owner(endpoint).value_or(shard_);
}

std::optional<unsigned> Bridge::owned_elsewhere(const std::string& endpoint) const {
    auto owner = directory_.owner(endpoint);
    if (owner && *owner != shard_) return owner;
    return std::nullopt;
}

void Bridge::forward(unsigned owner, unsigned conn_shard, ConnectionId conn,
                     const std::string& endpoint, bool authenticated, Message&& message) {
    // The message first, then the rebind: whatever the connection sends after the rebind
    // reaches the owner after this message.
    post(owner, DeviceMessageEvent{conn_shard, conn, endpoint, authenticated, std::move(message)});
    post(conn_shard, RebindEvent{conn, owner});
}

void Bridge::rebind(ConnectionId conn, unsigned owner) {
    if (auto it = bindings_.find(conn); it != bindings_.end()) it->second.owner = owner;
}

void Bridge::set_credentials(const std::vector<config::Credential>& credentials) {
    identities_ = IdentityTable{};
    psk_by_endpoint_.clear();
    for (const auto& c : credentials) {
        identities_.add(c.endpoint, c.psk_identity);
        psk_by_endpoint_[c.endpoint] = upstream::UpstreamPsk{c.psk_identity, c.psk_key};
    }
}

void Bridge::refuse(session::SessionBase& session, const Message& message, const Refused& refusal) {
    metrics_.refused[static_cast<std::size_t>(refusal.reason)].add();
    if (refusal.reason != Refusal::unroutable_response) {
        const auto& info = session.info();
        if (refusal_log_budget_.try_take(time_.now())) {
            spdlog::warn("conn={} remote={} refused ({}): endpoint='{}' psk='{}' cn='{}' {}{}",
                         info.id, info.remote, to_string(refusal.reason), refusal.endpoint,
                         info.psk_identity, info.peer_certificate, refusal.diagnostic,
                         refusal_log_suppressed_ == 0
                             ? std::string()
                             : fmt::format(" ({} more refusals not logged)",
                                           std::exchange(refusal_log_suppressed_, 0)));
        } else {
            ++refusal_log_suppressed_;
        }
    }
    if (refusal.code == 0 || !coap::is_request(message.code())) return;
    Message answer(refusal.code, message.token());
    if (refusal.max_age) answer.add_uint_option(coap::option::max_age, *refusal.max_age);
    answer.set_payload(refusal.diagnostic);
    session.send(answer);
}

void Bridge::on_device_message(session::SessionBase& session, Message&& message) {
    const auto& info = session.info();
    auto bound = bindings_.find(info.id);
    const bool request = coap::is_request(message.code());
    const auto kind = request ? classify_uplink(message) : Uplink::other;
    const std::optional<std::string> bound_endpoint =
        bound == bindings_.end() ? std::nullopt : std::optional(bound->second.endpoint);
    auto admission = admit(peer_identity(info), bound_endpoint, message, kind,
                           AdmissionContext{identities_, directory_, bootstrap_link_ != nullptr});
    if (auto* refusal = std::get_if<Refused>(&admission)) {
        refuse(session, message, *refusal);
        return;
    }
    auto& admitted = std::get<Admitted>(admission);
    if (kind == Uplink::register_ && !register_rate_.allow(address_of(info.remote), time_.now())) {
        refuse(session, message,
               Refused{Refusal::registration_rate, code::service_unavailable,
                       "too many registrations from this address; retry later",
                       std::move(admitted.endpoint), registration_retry_seconds});
        return;
    }
    if (bound == bindings_.end()) {
        bound = bindings_
                    .emplace(info.id, Binding{admitted.endpoint, route_owner(admitted.endpoint),
                                              admitted.authenticated})
                    .first;
    }
    metrics_.uplinks.add();
    post(bound->second.owner, DeviceMessageEvent{shard_, info.id, std::move(admitted.endpoint),
                                                 admitted.authenticated, std::move(message)});
}

void Bridge::mark_registered(ConnectionId conn, const Registered& registered) {
    auto it = bindings_.find(conn);
    if (it == bindings_.end()) return;
    it->second.registered = registered.registered;
    it->second.queue_mode = registered.queue_mode;
    if (auto* session = find_session_(conn)) session->set_registered(registered.registered);
}

void Bridge::on_session_closed(session::SessionBase& session) {
    auto it = bindings_.find(session.info().id);
    if (it == bindings_.end()) return;
    post(it->second.owner, ConnectionClosedEvent{it->first, std::move(it->second.endpoint)});
    bindings_.erase(it);
}

// ---- owner side ----------------------------------------------------------------------------

Bridge::Device* Bridge::find(const std::string& endpoint) {
    auto it = devices_.find(endpoint);
    return it == devices_.end() ? nullptr : it->second.get();
}

Bridge::Device* Bridge::find(upstream::UpstreamSession& session) {
    auto it = by_upstream_.find(&session);
    return it == by_upstream_.end() ? nullptr : it->second;
}

void Bridge::handle(unsigned conn_shard, ConnectionId conn, const std::string& endpoint,
                    bool authenticated, Message&& message) {
    const bool request = coap::is_request(message.code());
    if (!find(endpoint) && !find_bootstrap(endpoint)) {
        if (auto owner = owned_elsewhere(endpoint)) {
            forward(*owner, conn_shard, conn, endpoint, authenticated, std::move(message));
            return;
        }
    }
    const Device* bootstrap = find_bootstrap(endpoint);
    if (request ? classify_uplink(message) == Uplink::bootstrap_request
                : bootstrap && bootstrap->relay.expects_device_token(message.token())) {
        handle_bootstrap(conn_shard, conn, endpoint, authenticated, std::move(message));
        return;
    }
    Device* device = find(endpoint);
    if (!device) {
        if (!request) return;
        const auto kind = classify_uplink(message);
        if (kind != Uplink::register_) {
            // Update/De-register of a registration that ended while the device was away: 4.04
            // makes an LwM2M client register again. Anything else has no registration to go to.
            const bool lwm2m = kind == Uplink::update || kind == Uplink::deregister;
            answer_connection(conn_shard, conn, message.token(),
                              lwm2m ? code::not_found : code::forbidden,
                              lwm2m ? "registration not found: register again"
                                    : "no LwM2M registration on this connection");
            return;
        }
        // This shard creates the endpoint's state, unless another one did meanwhile.
        if (const unsigned owner = directory_.claim(endpoint, shard_); owner != shard_) {
            forward(owner, conn_shard, conn, endpoint, authenticated, std::move(message));
            return;
        }
        device = create_device(conn_shard, conn, endpoint, message.token());
        if (!device) return;
    }
    device->connection_shard[conn] = conn_shard;
    const TimePoint now = time_.now();
    if (request) {
        device->relay.on_device_request(conn, std::move(message), now, authenticated);
    } else {
        device->relay.on_device_response(conn, std::move(message), now);
    }
    run(*device);
}

Bridge::Device* Bridge::create_device(unsigned conn_shard, ConnectionId conn,
                                      const std::string& endpoint, const coap::Token& token) {
    if (!directory_.try_open_session()) {
        if (!find_bootstrap(endpoint)) directory_.release(endpoint, shard_);
        refuse_over_limit(conn_shard, conn, endpoint, token);
        return nullptr;
    }
    auto created =
        std::make_unique<Device>(endpoint, relay_params_, io_, token_seed(), &relay_counters_);
    if (auto error = open_upstream(created->upstream, endpoint)) {
        directory_.close_session();
        if (!find_bootstrap(endpoint)) directory_.release(endpoint, shard_);
        spdlog::error("endpoint={} cannot open upstream session: {}", endpoint, *error);
        answer_connection(conn_shard, conn, token, code::bad_gateway, *error);
        return nullptr;
    }
    admin_stats.upstream_opened();
    spdlog::info("endpoint={} upstream session local_port={}", endpoint,
                 created->upstream.local_port());
    Device* device = created.get();
    by_upstream_[&device->upstream] = device;
    devices_.emplace(endpoint, std::move(created));
    return device;
}

void Bridge::refuse_over_limit(unsigned conn_shard, ConnectionId conn, const std::string& endpoint,
                               const coap::Token& token) {
    // Every new endpoint holds a UDP socket toward the core: beyond the budget, new work is
    // refused and what exists goes on (no EMFILE for the devices already here).
    metrics_.refused[static_cast<std::size_t>(Refusal::registration_limit)].add();
    if (refusal_log_budget_.try_take(time_.now())) {
        spdlog::warn("endpoint={} refused (registration_limit): {} upstream sessions open",
                     endpoint, directory_.sessions());
    }
    Message answer(code::service_unavailable, token);
    answer.add_uint_option(coap::option::max_age, registration_retry_seconds);
    answer.set_payload("registration limit reached; retry later");
    answer_connection(conn_shard, conn, std::move(answer));
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
    if (!find(endpoint) && !find_bootstrap(endpoint)) {
        if (auto owner = owned_elsewhere(endpoint)) {
            post(*owner, ConnectionClosedEvent{conn, endpoint});
        }
        return;
    }
    if (Device* bs = find_bootstrap(endpoint)) {
        bs->relay.on_device_disconnected(conn, time_.now());
        bs->connection_shard.erase(conn);
        run(*bs);
    }
    Device* device = find(endpoint);
    if (!device) return;
    device->relay.on_device_disconnected(conn, time_.now());
    device->connection_shard.erase(conn);
    run(*device);
}

void Bridge::send_to_core(Device& device, Message&& request) {
    const std::size_t max = link_of(device).max_payload(device.upstream, request);
    if (auto upload = Block1Upload::start(request, max)) {
        const Message first = upload->current();
        device.uploads.insert_or_assign(token_key(request.token()), std::move(*upload));
        if (link_of(device).send(device.upstream, first)) return;
        device.uploads.erase(token_key(request.token()));
    } else if (link_of(device).send(device.upstream, request)) {
        return;
    }
    device.relay.on_core_failure(request.token(), code::request_entity_too_large,
                                 "does not fit the core's transport");
}

void Bridge::on_event(DeviceMessageEvent&& e) {
    handle(e.conn_shard, e.conn, e.endpoint, e.authenticated, std::move(e.message));
}

void Bridge::on_event(ConnectionClosedEvent&& e) {
    handle_disconnect(e.conn, e.endpoint);
}

void Bridge::on_event(RebindEvent&& e) {
    rebind(e.conn, e.owner);
}

void Bridge::on_event(SendEvent&& e) {
    if (auto* s = find_session_(e.conn)) s->send(e.message);
}

void Bridge::on_event(RegisteredEvent&& e) {
    mark_registered(e.registered.conn, e.registered);
}

void Bridge::on_event(CloseConnectionEvent&& e) {
    if (auto* s = find_session_(e.conn)) s->close(e.reason, e.detail);
}

void Bridge::run(Device& device) {
    bool forget_device = false;
    for (auto actions = device.relay.take_actions(); !actions.empty();
         actions = device.relay.take_actions()) {
        for (auto& action : actions) {
            if (std::holds_alternative<Forget>(action)) {
                forget_device = true;
                continue;
            }
            std::visit([&](auto& a) { execute(device, a); }, action);
        }
    }
    if (device.bootstrap) return settle_bootstrap(device);
    publish_registration(device);
    persist(device);  // persistence: write the relay's state if it changed
    if (forget_device || device.relay.idle()) {
        // Deferred: we may be inside a libcoap callback for this very session.
        asio::post(io_, [this, endpoint = device.relay.endpoint(), ptr = &device] {
            if (find(endpoint) == ptr && ptr->relay.idle()) {
                forget(endpoint);
            }
        });
        return;
    }
    arm(device);
}

void Bridge::execute(Device& device, ToDevice& a) {
    to_connection(device, a.conn, SendEvent{a.conn, std::move(a.message)});
}

void Bridge::execute(Device& device, ToCore& a) {
    remember_register(device, a.request, a.kind);  // persistence
    admin_stats.uplink_sent(a.request.token(), a.kind);
    send_to_core(device, std::move(a.request));
}

void Bridge::execute(Device& device, RespondCore& a) {
    admin_stats.downlink_answered(a.id, a.response);
    metrics_.downlinks.add();
    Message response = std::move(a.response);
    if (a.request) {
        response = device.block2.first_block(*a.request, std::move(response),
                                             link_of(device).max_payload(device.upstream, response),
                                             time_.now());
    }
    if (!device.bootstrap) return respond_core(device, a.id, std::move(response));  // persistence
    if (device.finish_id == a.id && coap::code_class(response.code()) == 2) {
        // Give the answer time to reach the server (and its retransmission window) before the
        // session goes.
        device.bootstrap_until = time_.now() + bootstrap_linger;
    }
    link_of(device).respond(device.upstream, a.id, std::move(response));
}

void Bridge::execute(Device& device, NotifyCore& a) {
    metrics_.notifications.add();
    if (const Message* observe = device.relay.observation_request(a.notification.token())) {
        a.notification = device.block2.first_block(
            *observe, std::move(a.notification),
            link_of(device).max_payload(device.upstream, a.notification), time_.now());
    }
    link_of(device).notify(device.upstream, a.notification);
}

void Bridge::execute(Device& device, Registered& a) {
    to_connection(device, a.conn, RegisteredEvent{a});
}

void Bridge::execute(Device& device, CloseDevice& a) {
    to_connection(device, a.conn,
                  CloseConnectionEvent{a.conn, session::CloseReason::registration_expired,
                                       "registration lifetime expired"});
}

void Bridge::execute(Device&, Forget&) {}  // run() handles it: the device goes after its actions

void Bridge::settle_bootstrap(Device& device) {
    if (time_.now() < device.bootstrap_until) return arm(device);
    asio::post(io_, [this, endpoint = device.relay.endpoint(), ptr = &device] {
        if (find_bootstrap(endpoint) == ptr) forget_bootstrap(endpoint);
    });
}

// The Directory maps a registration's location to its endpoint for the connections of every
// shard (an Update names only the location); kept in step with the relay.
void Bridge::publish_registration(Device& device) {
    static const std::vector<std::string> none;
    const auto& location = device.relay.registered() ? device.relay.location() : none;
    if (location == device.published_location &&
        device.published_authenticated == device.relay.authenticated()) {
        return;
    }
    if (!device.published_location.empty()) {
        directory_.erase_registration(join(device.published_location));
        metrics_.registered_devices.add(-1);
    }
    if (!location.empty()) {
        directory_.set_registration(
            {device.relay.endpoint(), join(location), device.relay.authenticated()});
        metrics_.registered_devices.add(1);
    }
    device.published_location = location;
    device.published_authenticated = device.relay.authenticated();
}

void Bridge::arm(Device& device) {
    const TimePoint deadline = std::min(device.relay.next_deadline(), device.bootstrap_until);
    if (deadline == never || deadline >= device.timer_at) return;
    device.timer_at = deadline;
    device.timer.expires_at(deadline);
    device.timer.async_wait(
        [this, endpoint = device.relay.endpoint(), ptr = &device](const std::error_code& ec) {
            if (ec || !alive(endpoint, ptr)) return;
            ptr->timer_at = never;
            ptr->relay.on_tick(time_.now());
            run(*ptr);
        });
}

Bridge::Device* Bridge::find_bootstrap(const std::string& endpoint) {
    auto it = bootstraps_.find(endpoint);
    return it == bootstraps_.end() ? nullptr : it->second.get();
}

bool Bridge::alive(const std::string& endpoint, const Device* device) {
    return find(endpoint) == device || find_bootstrap(endpoint) == device;
}

// Bootstrap: POST /bs?ep= opens (or reuses) a relay toward the bootstrap server, with a session
// of its own, and the server's Write/Read/Discover/Delete/Bootstrap-Finish reach the device like
// the core's requests do. It ends after Bootstrap-Finish or bootstrap_timeout of silence.
void Bridge::handle_bootstrap(unsigned conn_shard, ConnectionId conn, const std::string& endpoint,
                              bool authenticated, Message&& message) {
    Device* device = find_bootstrap(endpoint);
    const bool request = coap::is_request(message.code());
    if (!device) {
        if (!request) return;
        if (const unsigned owner = directory_.claim(endpoint, shard_); owner != shard_) {
            forward(owner, conn_shard, conn, endpoint, authenticated, std::move(message));
            return;
        }
        if (!directory_.try_open_session()) {
            if (!find(endpoint)) directory_.release(endpoint, shard_);
            refuse_over_limit(conn_shard, conn, endpoint, message.token());
            return;
        }
        auto created =
            std::make_unique<Device>(endpoint, relay_params_, io_, token_seed(), &relay_counters_);
        created->link = bootstrap_link_.get();
        created->bootstrap = true;
        std::optional<upstream::UpstreamPsk> psk;
        if (auto it = psk_by_endpoint_.find(endpoint); it != psk_by_endpoint_.end())
            psk = it->second;
        if (auto error =
                bootstrap_link_->open(created->upstream, endpoint, psk, bind_address(0), 0)) {
            spdlog::error("endpoint={} cannot open bootstrap session: {}", endpoint, *error);
            directory_.close_session();
            if (!find(endpoint)) directory_.release(endpoint, shard_);
            answer_connection(conn_shard, conn, message.token(), code::bad_gateway, *error);
            return;
        }
        spdlog::info("endpoint={} bootstrap session local_port={}", endpoint,
                     created->upstream.local_port());
        device = created.get();
        by_upstream_[&device->upstream] = device;
        bootstraps_.emplace(endpoint, std::move(created));
    }
    device->connection_shard[conn] = conn_shard;
    const TimePoint now = time_.now();
    device->bootstrap_until = now + bootstrap_timeout;
    if (request) {
        device->relay.on_device_request(conn, std::move(message), now, authenticated);
    } else {
        device->relay.on_device_response(conn, std::move(message), now);
    }
    run(*device);
}

void Bridge::forget_bootstrap(const std::string& endpoint) {
    auto it = bootstraps_.find(endpoint);
    if (it == bootstraps_.end()) return;
    Device& device = *it->second;
    spdlog::info("endpoint={} bootstrap ended; session closed", endpoint);
    by_upstream_.erase(&device.upstream);
    bootstrap_link_->close(device.upstream);
    directory_.close_session();
    if (!find(endpoint)) directory_.release(endpoint, shard_);
    bootstraps_.erase(it);
}

std::optional<std::string> Bridge::open_upstream(upstream::UpstreamSession& upstream,
                                                 const std::string& endpoint) {
    std::optional<upstream::UpstreamPsk> psk;
    if (auto it = psk_by_endpoint_.find(endpoint); it != psk_by_endpoint_.end()) psk = it->second;
    // A port of the configured range may be taken by another program: try the next ones.
    std::optional<std::string> error = "no free local port in upstream.bind.ports";
    for (std::size_t attempt = 0; attempt < 16 && error; ++attempt) {
        const auto port = ports_.acquire();
        if (!port) break;
        error = core_link_.open(upstream, endpoint, psk, bind_address(port->address), port->port);
        if (error) {
            ports_.release(*port);
            if (!ports_.ranged()) break;
        }
    }
    return error;
}

void Bridge::forget(const std::string& endpoint) {
    auto it = devices_.find(endpoint);
    if (it == devices_.end()) return;
    Device& device = *it->second;
    if (!device.published_location.empty()) {
        directory_.erase_registration(join(device.published_location));
        metrics_.registered_devices.add(-1);
    }
    spdlog::info("endpoint={} registration ended; upstream session closed", endpoint);
    unpersist(device);  // persistence
    by_upstream_.erase(&device.upstream);
    ports_.release(local_of(device.upstream));
    core_link_.close(device.upstream);
    directory_.close_session();
    // `endpoint` may be the device's own name: release before the device goes.
    if (!find_bootstrap(endpoint)) directory_.release(endpoint, shard_);
    devices_.erase(it);
}

const std::string& Bridge::bind_address(std::uint16_t index) const {
    static const std::string any;
    const auto& addresses = config_.upstream.bind_addresses;
    return index < addresses.size() ? addresses[index] : any;
}

LocalPort Bridge::local_slot(const std::string& address, std::uint16_t port) const {
    // An address that is no longer configured (a restored session's) maps to no slot.
    const auto& addresses = config_.upstream.bind_addresses;
    const auto it = std::find(addresses.begin(), addresses.end(), address);
    return {static_cast<std::uint16_t>(it - addresses.begin()), port};
}

LocalPort Bridge::local_of(const upstream::UpstreamSession& upstream) const {
    return local_slot(upstream.local_address(), upstream.local_port());
}

// ---- core side -----------------------------------------------------------------------------

void Bridge::on_core_request(upstream::UpstreamSession& session, upstream::CoreRequestId id,
                             Message&& request) {
    Device* device = find(session);
    if (!device) {
        core_link_.respond(session, id, Message(code::not_found));
        return;
    }
    admin_stats.downlink_received(id, request);
    if (device->bootstrap) {
        device->bootstrap_until = time_.now() + bootstrap_timeout;
        const auto path = uri_path(request);
        if (request.code() == code::post && path.size() == 1 && path[0] == "bs") {
            device->finish_id = id;
        }
    }
    // No connection: the request waits in the relay's queue, likely beyond the piggyback
    // window; acknowledge it now so the core stops counting its ACK_TIMEOUT (with
    // store.ack_after_commit: as soon as the store has it).
    auto& link = link_of(*device);
    bool persistent = false;
    if (!device->relay.connection()) {
        if (link.ack_after_commit()) {
            link.defer_ack(session, id);
            device->awaiting_commit.push_back(id);
            persistent = true;
        } else {
            link.acknowledge(session, id);
        }
    }
    // Held back for a piggybacked answer, it is not persistent state yet (the core would send
    // it again after a restart): no store write for a request answered within the window.
    device->relay.on_core_request(id, std::move(request), time_.now(),
                                  persistent || link.acknowledged(session, id));
    run(*device);
}

void Bridge::on_core_request_acknowledged(upstream::UpstreamSession& session,
                                          upstream::CoreRequestId id) {
    if (Device* device = find(session)) {
        if (link_of(*device).ack_after_commit()) device->awaiting_commit.push_back(id);
        device->relay.on_core_request_acknowledged(id);
        run(*device);  // persists it now
    }
}

void Bridge::on_store_committed(std::uint64_t committed) {
    while (!commit_waits_.empty() && commit_waits_.front().sequence <= committed) {
        const auto wait = std::move(commit_waits_.front());
        commit_waits_.pop_front();
        if (Device* device = find(wait.endpoint)) {
            for (const auto id : wait.ids)
                link_of(*device).release_ack(device->upstream, id);
        }
    }
}

void Bridge::on_core_response(upstream::UpstreamSession& session, Message&& response) {
    admin_stats.core_response(response, time_.now());
    if (Device* device = find(session)) {
        if (auto up = device->uploads.find(token_key(response.token()));
            up != device->uploads.end()) {
            if (up->second.on_response(response) == Block1Upload::Step::send_next) {
                if (!link_of(*device).send(device->upstream, up->second.current())) {
                    device->uploads.erase(up);
                    device->relay.on_core_failure(response.token(), code::bad_gateway,
                                                  "cannot send the next Block1 block");
                    run(*device);
                }
                return;
            }
            device->uploads.erase(up);
        }
        device->relay.on_core_response(std::move(response), time_.now());
        run(*device);
    }
}

void Bridge::on_core_failure(upstream::UpstreamSession& session, const coap::Token& token,
                             std::uint8_t code_for_device, std::string_view reason) {
    admin_stats.core_failure(token, code_for_device, time_.now());
    if (Device* device = find(session)) {
        spdlog::warn("endpoint={} uplink failed: {}", device->relay.endpoint(), reason);
        device->uploads.erase(token_key(token));
        device->relay.on_core_failure(token, code_for_device, reason);
        run(*device);
    }
}

std::optional<Message> Bridge::answer_locally(upstream::UpstreamSession& session,
                                              const Message& request) {
    Device* device = find(session);
    if (!device) return std::nullopt;
    return device->block2.serve(request, time_.now());
}

void Bridge::on_core_reset(upstream::UpstreamSession& session, const coap::Token& token) {
    if (Device* device = find(session)) {
        device->relay.on_core_reset(token);
        run(*device);
    }
}

}  // namespace lwgate::lwm2m
