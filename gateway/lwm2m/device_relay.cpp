#include "lwm2m/device_relay.hpp"

#include <algorithm>

namespace lwgate::lwm2m {

namespace code = coap::code;
using coap::Message;

namespace {

// LwM2M 1.1 Core §6.2.1: lifetime defaults to 86400 s when the Register omits `lt`.
constexpr std::uint32_t default_lifetime_seconds = 86400;
constexpr std::uint32_t observe_mask = 0xffffff;  // RFC 7641: 24-bit sequence numbers

bool is_observe_request(const Message& m, std::uint32_t value) {
    return (m.code() == code::get || m.code() == code::fetch) &&
           m.uint_option(coap::option::observe) == value;
}

bool has_observe(const Message& m) {
    return m.find_option(coap::option::observe) != nullptr;
}

void set_observe(Message& m, std::uint32_t value) {
    m.remove_options(coap::option::observe);
    m.add_uint_option(coap::option::observe, value);
}

std::vector<std::string> location_of(const Message& response) {
    std::vector<std::string> out;
    for (const auto* o : response.find_options(coap::option::location_path)) {
        out.emplace_back(o->value.begin(), o->value.end());
    }
    return out;
}

}  // namespace

std::string token_key(const coap::Token& token) {
    const auto b = token.bytes();
    return {b.begin(), b.end()};
}

DeviceRelay::DeviceRelay(std::string endpoint, const RelayParams& params, std::uint64_t token_seed,
                         RelayCounters* counters)
    : endpoint_(std::move(endpoint)),
      params_(params),
      next_token_(std::max<std::uint64_t>(1, token_seed)),
      notification_budget_(params.notifications_per_second, params.notification_burst, TimePoint{}),
      counters_(counters) {}

coap::Token DeviceRelay::next_token() {
    return coap::Token::from_u64(next_token_++);
}

// ---- device side ---------------------------------------------------------------------------

void DeviceRelay::on_device_disconnected(ConnectionId conn, TimePoint now) {
    for (auto& [key, uplink] : uplinks_) {
        if (uplink.conn == conn) uplink.conn_open = false;
    }
    const auto it = std::find(accepted_.begin(), accepted_.end(), conn);
    if (it == accepted_.end()) return;
    const bool was_active = is_active(conn);
    if (was_active) deactivate(conn, false);
    accepted_.erase(it);
    if (was_active) activate_newest(now);
}

void DeviceRelay::on_device_request(ConnectionId conn, Message&& request, TimePoint now,
                                    bool authenticated) {
    // Uri-Host/Uri-Port name the server the device talked to (lwgate), not the core.
    request.remove_options(coap::option::uri_host);
    request.remove_options(coap::option::uri_port);
    Uplink_ uplink{.conn = conn, .device_token = request.token(), .kind = classify_uplink(request)};
    uplink.authenticated = authenticated;
    uplink.registration = registration_seq_;
    if (refused_locally(uplink, request)) return;
    if (uplink.kind == Uplink::register_) {
        cap_lifetime(request, params_.max_lifetime_seconds,
                     default_lifetime_seconds > params_.max_lifetime_seconds);
        uplink.register_params = parse_register(request);
        rewrite_binding_for_udp(request);
    } else if (uplink.kind == Uplink::update) {
        cap_lifetime(request, params_.max_lifetime_seconds, false);
        uplink.update_params = parse_update(request);
        rewrite_binding_for_udp(request);
    }
    const auto token = next_token();
    request.set_token(token);
    const Uplink kind = uplink.kind;
    auto key = token_key(token);
    if (uplinks_at_core_ < params_.uplinks_in_flight) {
        ++uplinks_at_core_;
        uplink.at_core = true;
        actions_.push_back(ToCore{std::move(request), kind});
    } else {
        uplink.waiting = std::move(request);
        uplinks_waiting_.push_back(key);
    }
    uplinks_.emplace(std::move(key), std::move(uplink));
    if (is_active(conn)) flush(now);  // any uplink means the device is awake
}

bool DeviceRelay::refused_locally(const Uplink_& uplink, const Message& request) {
    if (registered_ && authenticated_ && !uplink.authenticated) {
        Message answer(code::forbidden, request.token());
        answer.set_payload("this endpoint authenticates: connect over TLS");
        actions_.push_back(ToDevice{uplink.conn, std::move(answer), Refusal::credentials_required});
        return true;
    }
    if (uplink.kind == Uplink::register_ || uplink.kind == Uplink::update) {
        // lt=0 would leave a registration at the core that lwgate forgets at once. (A Register
        // carries lt like an Update does: parse_update reads it for both.)
        if (parse_update(request).lifetime == 0u) {
            answer_device(uplink.conn, request.token(), code::bad_request,
                          "lt must be at least 1 second");
            return true;
        }
    }
    if ((uplink.kind == Uplink::update || uplink.kind == Uplink::deregister) &&
        !names_current_registration(request)) {
        answer_device(uplink.conn, request.token(), code::not_found,
                      "registration not found: register again");
        return true;
    }
    // One device's burst waits here, bounded, instead of in libcoap's context-wide
    // retransmission queue, whose cost every device of the context would pay.
    if (uplinks_at_core_ >= params_.uplinks_in_flight &&
        uplinks_waiting_.size() >= params_.uplinks_queued) {
        answer_device(uplink.conn, request.token(), code::service_unavailable,
                      "too many requests in flight; retry later", params_.busy_max_age_seconds);
        if (counters_) ++counters_->uplinks_refused_busy;
        return true;
    }
    return false;
}

void DeviceRelay::uplink_done(const Uplink_& uplink) {
    if (!uplink.at_core) return;
    --uplinks_at_core_;
    send_waiting_uplinks();
}

void DeviceRelay::send_waiting_uplinks() {
    while (uplinks_at_core_ < params_.uplinks_in_flight && !uplinks_waiting_.empty()) {
        auto it = uplinks_.find(uplinks_waiting_.front());
        uplinks_waiting_.pop_front();
        if (it == uplinks_.end() || !it->second.waiting) continue;
        ++uplinks_at_core_;
        it->second.at_core = true;
        actions_.push_back(ToCore{std::move(*it->second.waiting), it->second.kind});
        it->second.waiting.reset();
    }
}

void DeviceRelay::on_device_response(ConnectionId conn, Message&& response, TimePoint now) {
    if (!is_active(conn)) return;  // an answer on a connection we no longer use
    const auto key = token_key(response.token());
    if (swallow_.erase(key) != 0) return;

    if (auto it = in_flight_.find(key); it != in_flight_.end()) {
        InFlight f = std::move(it->second);
        in_flight_.erase(it);
        if (f.observe) {
            auto obs = observations_.find(token_key(f.downlink.request.token()));
            if (obs != observations_.end()) {
                if (coap::code_class(response.code()) == 2 && has_observe(response)) {
                    obs->second.active = true;
                    obs->second.observe_number = (obs->second.observe_number + 1) & observe_mask;
                    set_observe(response, obs->second.observe_number);
                } else {
                    observations_.erase(obs);  // the device did not accept the observation
                }
            }
        }
        response.set_token(f.downlink.request.token());
        actions_.push_back(
            RespondCore{f.downlink.id, std::move(response), std::move(f.downlink.request)});
        flush(now);
        return;
    }
    auto obs = find_observation_by_gateway_token(response.token());
    if (obs != observations_.end()) {
        const bool continues = coap::code_class(response.code()) == 2 && has_observe(response);
        forward_notification(obs->second, std::move(response), now, !continues);
        if (!continues) observations_.erase(obs);  // an error or plain answer ends it
    }
}

// ---- core side -----------------------------------------------------------------------------

void DeviceRelay::on_core_request(CoreRequestId id, Message&& request, TimePoint now,
                                  bool acknowledged) {
    if (queue_.size() >= params_.max_queued) {
        respond(id, code::service_unavailable, "queue full", params_.overflow_max_age_seconds);
        return;
    }
    queue_.push_back(Downlink{id, std::move(request), now, acknowledged});
    flush(now);
}

void DeviceRelay::on_core_request_acknowledged(CoreRequestId id) {
    for (auto& [key, f] : in_flight_) {
        if (f.downlink.id == id) {
            f.downlink.acknowledged = true;
            return;
        }
    }
    for (auto& d : queue_) {
        if (d.id == id) {
            d.acknowledged = true;
            return;
        }
    }
}

void DeviceRelay::on_core_response(Message&& response, TimePoint now) {
    auto it = uplinks_.find(token_key(response.token()));
    if (it == uplinks_.end()) return;  // late or duplicate
    Uplink_ uplink = std::move(it->second);
    uplinks_.erase(it);
    uplink_done(uplink);
    if (uplink.on_behalf) {
        on_behalf_answered(response, now);
        return;
    }
    const UplinkOutcome outcome = apply_core_answer(uplink, response, now);
    response.set_token(uplink.device_token);
    actions_.push_back(ToDevice{uplink.conn, std::move(response)});
    // After the answer: the device learns its Register/Update succeeded before the downlinks
    // and re-observations that the acceptance sends.
    if (outcome.accepted) on_uplink_accepted(uplink, now);
    if (outcome.forget) actions_.push_back(Forget{});
}

void DeviceRelay::on_behalf_answered(const Message& response, TimePoint now) {
    if (coap::code_class(response.code()) == 2 && registered_) {
        ++registration_revision_;
        registration_deadline_ =
            now + std::chrono::seconds(lifetime_.value_or(default_lifetime_seconds));
    } else if (registered_ && response.code() == code::not_found) {
        for (const auto conn : accepted_)
            actions_.push_back(CloseDevice{conn});
        end_registration();
        actions_.push_back(Forget{});
    }
}

DeviceRelay::UplinkOutcome DeviceRelay::apply_core_answer(const Uplink_& uplink,
                                                          const Message& response, TimePoint now) {
    UplinkOutcome outcome;
    if (coap::code_class(response.code()) != 2) return outcome;
    if (uplink.kind == Uplink::register_ && uplink.register_params) {
        start_registration(uplink, response, now);
        outcome.accepted = true;
    } else if (uplink.kind == Uplink::update && registered_ &&
               uplink.registration == registration_seq_) {
        apply_update(*uplink.update_params, now);
        outcome.accepted = uplink.authenticated || !authenticated_;
    } else if (uplink.kind == Uplink::bootstrap_request) {
        outcome.accepted = true;
    } else if (uplink.kind == Uplink::deregister && uplink.registration == registration_seq_) {
        end_registration();
        outcome.forget = true;
    }
    return outcome;
}

void DeviceRelay::start_registration(const Uplink_& uplink, const Message& response,
                                     TimePoint now) {
    if (registered_) drop_observations();  // a new Register replaces the old registration
    const auto& p = *uplink.register_params;
    registered_ = true;
    authenticated_ = uplink.authenticated;
    ++registration_seq_;
    ++registration_revision_;
    location_ = location_of(response);
    lifetime_ = p.lifetime.value_or(default_lifetime_seconds);
    registration_deadline_ = now + std::chrono::seconds(*lifetime_);
    queue_mode_ = p.queue_mode;
    version_ = p.version;
    binding_ = p.binding;
}

void DeviceRelay::apply_update(const UpdateParams& p, TimePoint now) {
    ++registration_revision_;
    if (p.lifetime) lifetime_ = p.lifetime;
    if (p.binding) {
        binding_ = *p.binding;
        queue_mode_ = p.queue_mode;
    } else if (p.queue_mode) {
        queue_mode_ = true;
    }
    registration_deadline_ =
        now + std::chrono::seconds(lifetime_.value_or(default_lifetime_seconds));
}

void DeviceRelay::on_uplink_accepted(const Uplink_& uplink, TimePoint now) {
    if (!uplink.conn_open) return;
    if (uplink.kind != Uplink::register_) {
        accept(uplink.conn, now);
        return;
    }
    // A new registration: connections of the previous one carry nothing any more.
    for (const auto conn : accepted_) {
        if (conn == uplink.conn) continue;
        if (is_active(conn)) deactivate(conn, true);
        actions_.push_back(Registered{conn, false});
    }
    accepted_.assign(1, uplink.conn);
    actions_.push_back(Registered{uplink.conn, true, queue_mode_});
    flush(now);
}

void DeviceRelay::accept(ConnectionId conn, TimePoint now) {
    const bool newest = is_active(conn);
    if (!newest) {
        if (const auto current = active()) deactivate(*current, true);
        accepted_.erase(std::remove(accepted_.begin(), accepted_.end(), conn), accepted_.end());
        accepted_.push_back(conn);
    }
    if (registered_) actions_.push_back(Registered{conn, true, queue_mode_});
    if (!newest) reobserve(now);
    flush(now);
}

void DeviceRelay::deactivate(ConnectionId conn, bool still_open) {
    // Requests the device never answered go back to the head of the queue, oldest first: they
    // were acknowledged to the core and must not be lost.
    std::vector<InFlight> pending;
    for (auto& [key, f] : in_flight_)
        pending.push_back(std::move(f));
    in_flight_.clear();
    std::sort(pending.begin(), pending.end(),
              [](const InFlight& a, const InFlight& b) { return a.downlink.id > b.downlink.id; });
    for (auto& f : pending) {
        // flush() recreates the observation when the Observe=0 request goes out again; the
        // device may have accepted it on `conn` meanwhile.
        if (f.observe) {
            auto obs = observations_.find(token_key(f.downlink.request.token()));
            if (still_open && obs != observations_.end()) cancel_on_device(conn, obs->second);
            if (obs != observations_.end()) observations_.erase(obs);
        }
        queue_.push_front(std::move(f.downlink));
    }
    for (auto& [key, obs] : observations_) {
        if (still_open) cancel_on_device(conn, obs);
        obs.active = false;
        obs.gateway_token.reset();
    }
    swallow_.clear();
}

void DeviceRelay::activate_newest(TimePoint now) {
    const auto conn = active();
    if (!conn) return;
    reobserve(now);
    flush(now);
}

void DeviceRelay::answer_device(ConnectionId conn, const coap::Token& token,
                                std::uint8_t response_code, std::string_view diagnostic,
                                std::optional<std::uint32_t> max_age) {
    Message answer(response_code, token);
    if (max_age) answer.add_uint_option(coap::option::max_age, *max_age);
    answer.set_payload(diagnostic);
    actions_.push_back(ToDevice{conn, std::move(answer)});
}

bool DeviceRelay::names_current_registration(const Message& request) const {
    return registered_ && uri_path(request) == location_;
}

void DeviceRelay::on_core_failure(const coap::Token& uplink_token, std::uint8_t code_for_device,
                                  std::string_view diagnostic) {
    auto it = uplinks_.find(token_key(uplink_token));
    if (it == uplinks_.end()) return;
    if (it->second.on_behalf) {
        uplinks_.erase(it);  // the registration stands until its lifetime says otherwise
        return;
    }
    const Uplink_ uplink = std::move(it->second);
    uplinks_.erase(it);
    Message answer(code_for_device, uplink.device_token);
    if (!diagnostic.empty()) answer.set_payload(diagnostic);
    actions_.push_back(ToDevice{uplink.conn, std::move(answer)});
    uplink_done(uplink);
}

void DeviceRelay::on_core_reset(const coap::Token& core_token) {
    auto obs = observations_.find(token_key(core_token));
    if (obs == observations_.end()) return;
    if (const auto conn = active()) {
        cancel_on_device(*conn, obs->second);
        if (obs->second.gateway_token) swallow_.insert(token_key(*obs->second.gateway_token));
    }
    observations_.erase(obs);
}

void DeviceRelay::on_upstream_replaced(TimePoint) {
    for (auto it = uplinks_.begin(); it != uplinks_.end();) {
        if (!it->second.on_behalf) {
            Message answer(code::service_unavailable, it->second.device_token);
            answer.set_payload("upstream session replaced; retry");
            actions_.push_back(ToDevice{it->second.conn, std::move(answer)});
        }
        it = uplinks_.erase(it);
    }
    uplinks_at_core_ = 0;
    uplinks_waiting_.clear();
    if (!registered_ || location_.empty()) return;
    send_on_behalf(code::post, Uplink::update);
}

void DeviceRelay::send_on_behalf(std::uint8_t method, Uplink kind) {
    Message request(method);
    for (const auto& segment : location_)
        request.add_option(coap::option::uri_path, segment);
    const auto token = next_token();
    request.set_token(token);
    Uplink_ uplink{.conn = active().value_or(0), .device_token = token, .kind = kind};
    uplink.on_behalf = true;
    uplink.registration = registration_seq_;
    uplinks_.emplace(token_key(token), std::move(uplink));
    actions_.push_back(ToCore{std::move(request), kind});
}

// ---- time ----------------------------------------------------------------------------------

void DeviceRelay::on_tick(TimePoint now) {
    for (auto it = in_flight_.begin(); it != in_flight_.end();) {
        if (now < it->second.deadline) {
            ++it;
            continue;
        }
        if (it->second.observe) observations_.erase(token_key(it->second.downlink.request.token()));
        respond(it->second.downlink.id, code::gateway_timeout, "device did not answer");
        swallow_.insert(it->first);
        it = in_flight_.erase(it);
    }
    for (auto it = queue_.begin(); it != queue_.end();) {
        if (now >= it->enqueued_at + params_.max_age) {
            respond(it->id, code::gateway_timeout, "device did not connect within max_age");
            it = queue_.erase(it);
        } else {
            ++it;
        }
    }
    if (registered_ && now >= registration_deadline_) {
        for (const auto conn : accepted_)
            actions_.push_back(CloseDevice{conn});
        end_registration();
        actions_.push_back(Forget{});
        return;
    }
    send_pending_notifications(now);
    flush(now);
}

TimePoint DeviceRelay::next_deadline() const {
    TimePoint next = registered_ ? registration_deadline_ : never;
    for (const auto& [key, obs] : observations_) {
        if (obs.pending) {
            next = std::min(next, notification_budget_.next_token_at());
            break;
        }
    }
    for (const auto& [key, f] : in_flight_)
        next = std::min(next, f.deadline);
    for (const auto& d : queue_)
        next = std::min(next, d.enqueued_at + params_.max_age);
    return next;
}

// ---- internals -----------------------------------------------------------------------------

void DeviceRelay::flush(TimePoint now) {
    // NSTART = 1: one request at a time toward the device, in arrival order.
    const auto conn = active();
    while (conn && in_flight_.empty() && !queue_.empty()) {
        Downlink d = std::move(queue_.front());
        queue_.pop_front();
        auto token = next_token();
        if (is_observe_request(d.request, 1)) {
            // Cancel (RFC 7641 §3.6; over TCP RFC 8323 §7.2): the core names its observation by
            // its token; the device knows it by our gateway token.
            auto obs = observations_.find(token_key(d.request.token()));
            if (obs != observations_.end()) {
                if (obs->second.gateway_token) token = *obs->second.gateway_token;
                observations_.erase(obs);
            }
        }
        Message message = d.request;
        message.set_token(token);
        const bool observe = is_observe_request(d.request, 0);
        if (observe) {
            auto& obs = observations_[token_key(d.request.token())];
            obs.request = d.request;
            obs.gateway_token = token;
            obs.active = false;
        }
        in_flight_.emplace(token_key(token),
                           InFlight{std::move(d), now + params_.device_timeout, observe});
        actions_.push_back(ToDevice{*conn, std::move(message)});
    }
}

void DeviceRelay::reobserve(TimePoint) {
    const auto conn = active();
    if (!conn) return;
    for (auto& [key, obs] : observations_) {
        const auto token = next_token();
        obs.gateway_token = token;
        obs.active = false;
        Message message = obs.request;
        message.set_token(token);
        actions_.push_back(ToDevice{*conn, std::move(message)});
    }
}

void DeviceRelay::forward_notification(Observation& obs, Message&& message, TimePoint now,
                                       bool final) {
    obs.active = true;
    // A device notifying faster than its budget: only the newest state of each observation
    // matters (RFC 7641 §4.5.2), so it replaces the one waiting. The last notification of an
    // observation (an error, or an answer without Observe) always goes out.
    if (!final && !notification_budget_.try_take(now)) {
        if (obs.pending && counters_) ++counters_->notifications_coalesced;
        obs.pending = std::move(message);
        return;
    }
    if (obs.pending) {
        if (counters_) ++counters_->notifications_coalesced;
        obs.pending.reset();
    }
    send_notification(obs, std::move(message));
}

void DeviceRelay::send_pending_notifications(TimePoint now) {
    for (auto& [key, obs] : observations_) {
        if (!obs.pending) continue;
        if (!notification_budget_.try_take(now)) return;
        send_notification(obs, std::move(*obs.pending));
        obs.pending.reset();
    }
}

void DeviceRelay::send_notification(Observation& obs, Message&& message) {
    ++obs.notifications;
    obs.observe_number = (obs.observe_number + 1) & observe_mask;
    message.set_token(obs.request.token());
    if (has_observe(message)) set_observe(message, obs.observe_number);
    actions_.push_back(NotifyCore{std::move(message)});
}

std::map<std::string, DeviceRelay::Observation>::iterator
DeviceRelay::find_observation_by_gateway_token(const coap::Token& token) {
    return std::find_if(observations_.begin(), observations_.end(), [&](const auto& entry) {
        return entry.second.gateway_token && *entry.second.gateway_token == token;
    });
}

void DeviceRelay::respond(CoreRequestId id, std::uint8_t response_code, std::string_view diagnostic,
                          std::optional<std::uint32_t> max_age) {
    Message response(response_code);
    if (max_age) response.add_uint_option(coap::option::max_age, *max_age);
    if (!diagnostic.empty()) response.set_payload(diagnostic);
    actions_.push_back(RespondCore{id, std::move(response)});
}

void DeviceRelay::drop_observations() {
    const auto conn = active();
    for (auto& [key, obs] : observations_) {
        if (!obs.gateway_token) continue;
        swallow_.insert(token_key(*obs.gateway_token));
        if (conn) cancel_on_device(*conn, obs);
    }
    observations_.clear();
}

void DeviceRelay::cancel_on_device(ConnectionId conn, const Observation& obs) {
    // RFC 7641 §3.6 (over TCP, RFC 8323 §7.2 keeps it): a GET with Observe=1 and the
    // observation's token ends it; over TCP there is no RST the device could get instead.
    if (!obs.gateway_token) return;
    Message cancel = obs.request;
    cancel.set_token(*obs.gateway_token);
    set_observe(cancel, 1);
    actions_.push_back(ToDevice{conn, std::move(cancel)});
}

void DeviceRelay::end_registration() {
    if (registered_) {
        for (const auto conn : accepted_)
            actions_.push_back(Registered{conn, false});
    }
    registered_ = false;
    authenticated_ = false;
    ++registration_seq_;
    ++registration_revision_;
    location_.clear();
    registration_deadline_ = never;
    drop_observations();
    for (auto& [key, f] : in_flight_) {
        respond(f.downlink.id, code::not_found, "registration ended");
        swallow_.insert(key);
    }
    in_flight_.clear();
    for (auto& d : queue_)
        respond(d.id, code::not_found, "registration ended");
    queue_.clear();
    accepted_.clear();  // a connection carries a registration, and this one is over
}

bool DeviceRelay::expects_device_token(const coap::Token& token) const {
    const auto key = token_key(token);
    if (in_flight_.count(key) || swallow_.count(key)) return true;
    for (const auto& [core_key, obs] : observations_) {
        if (obs.gateway_token && *obs.gateway_token == token) return true;
    }
    return false;
}

const coap::Message* DeviceRelay::observation_request(const coap::Token& core_token) const {
    auto it = observations_.find(token_key(core_token));
    return it == observations_.end() ? nullptr : &it->second.request;
}

std::vector<ObservationInfo> DeviceRelay::observations() const {
    std::vector<ObservationInfo> out;
    for (const auto& [key, obs] : observations_) {
        out.push_back({uri_path_string(obs.request), obs.request.token(), obs.observe_number,
                       obs.active, obs.notifications});
    }
    return out;
}

}  // namespace lwgate::lwm2m
