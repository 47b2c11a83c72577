#include "endpoint/router.hpp"

#include <algorithm>
#include <functional>

namespace lwgate::lwm2m {

Router::Router(unsigned shard, unsigned shard_count, const Directory& directory,
               bool bootstrap_configured, RegistrationRate registration_rate)
    : shard_(shard),
      shard_count_(std::max(1u, shard_count)),
      directory_(directory),
      bootstrap_configured_(bootstrap_configured),
      register_rate_(registration_rate.per_second, registration_rate.burst) {}

unsigned Router::owner_of(std::string_view endpoint) const {
    return static_cast<unsigned>(std::hash<std::string_view>{}(endpoint) % shard_count_);
}

RouteDecision Router::route(const ConnectionFacts& connection, const coap::Message& message,
                            TimePoint now) {
    const auto kind = coap::is_request(message.code()) ? classify_uplink(message) : Uplink::other;
    auto bound = bindings_.find(connection.id);
    if (bound == bindings_.end()) return admit_new(connection, message, kind, nullptr, now);
    // Bound: the same rules (rule 4 keeps it to its endpoint), without a new binding, and the
    // owner it was bound with (no hash of the name per message).
    return admit_new(connection, message, kind, &bound->second.route.endpoint, now,
                     bound->second.route.owner);
}

RouteDecision Router::admit_new(const ConnectionFacts& connection, const coap::Message& message,
                                Uplink kind, const std::string* bound, TimePoint now,
                                std::optional<unsigned> owner) {
    auto admission = admit(connection.identity, bound, message, kind,
                           AdmissionContext{*identities_, directory_, bootstrap_configured_});
    if (auto* refused = std::get_if<Refused>(&admission)) return std::move(*refused);
    auto& admitted = std::get<Admitted>(admission);
    if (kind == Uplink::register_ && !register_rate_.allow(connection.remote_address, now)) {
        return Refused{Refusal::registration_rate, coap::code::service_unavailable,
                       "too many registrations from this address; retry later",
                       std::move(admitted.endpoint), registration_retry_seconds};
    }
    const unsigned shard = owner ? *owner : owner_of(admitted.endpoint);
    Route route{shard, std::move(admitted.endpoint), admitted.authenticated, kind};
    if (!bound) bindings_.emplace(connection.id, Binding{route});
    return route;
}

std::optional<Route> Router::close(ConnectionId conn) {
    auto it = bindings_.find(conn);
    if (it == bindings_.end()) return std::nullopt;
    Route route = std::move(it->second.route);
    bindings_.erase(it);
    return route;
}

bool Router::set_registered(ConnectionId conn, bool registered, bool queue_mode) {
    auto it = bindings_.find(conn);
    if (it == bindings_.end()) return false;
    it->second.registered = registered;
    it->second.queue_mode = queue_mode;
    return true;
}

std::optional<std::string> Router::registered_endpoint(ConnectionId conn) const {
    auto it = bindings_.find(conn);
    if (it == bindings_.end() || !it->second.registered) return std::nullopt;
    return it->second.route.endpoint;
}

bool Router::close_expected(ConnectionId conn) const {
    auto it = bindings_.find(conn);
    return it != bindings_.end() && it->second.registered && it->second.queue_mode;
}

void Router::set_registration_rate(RegistrationRate rate) {
    register_rate_ = AddressRateLimiter(rate.per_second, rate.burst);
}

}  // namespace lwgate::lwm2m
