// Endpoint ownership, the connection side: which endpoint each connection of one shard speaks
// for, whether it may (admission.hpp), and which shard owns that endpoint's state.
//
// One rule for ownership, at start and while running: the owner of endpoint E is
// hash(E) % shards. A restored endpoint and a freshly registered one land on the same shard, no
// shard ever has to ask another who owns E, and a message never has to be forwarded because
// ownership moved under it (the earlier "the registering shard owns it" rule needed a shared
// map, a claim at every new endpoint and a forward-and-rebind step for races). The price is a
// post to another shard's loop for a device whose connection another shard accepted; the
// cluster puts the next level (which instance owns E) behind the same question.
//
// Pure: no Asio, no clock (time comes in), no logging. One Router per shard, used on that shard's
// thread only; the Directory it reads is the process-wide one (thread-safe).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>

#include "lwgate/coap/message.hpp"
#include "lwm2m/admission.hpp"
#include "lwm2m/device_relay.hpp"
#include "util/address_rate_limiter.hpp"
#include "util/clock.hpp"

namespace lwgate::lwm2m {

// Where an admitted message goes: the endpoint it speaks for and the shard that owns it.
struct Route {
    unsigned owner = 0;
    std::string endpoint;
    bool authenticated = false;   // the connection's TLS identity names the endpoint
    Uplink kind = Uplink::other;  // classify_uplink() of a request: the owner need not again
};
using RouteDecision = std::variant<Route, Refused>;

// What the Router needs to know about a connection for one message.
struct ConnectionFacts {
    ConnectionId id = 0;
    PeerIdentity identity;
    std::string_view remote_address;  // without the port: registrations are limited per address
};

// The Register rate per source address (registration.rate_per_address); rate <= 0: no limit.
struct RegistrationRate {
    double per_second = 0;
    double burst = 0;
};

// Max-Age of the 5.03 for a Register beyond the registration budgets.
inline constexpr std::uint32_t registration_retry_seconds = 60;

class Router {
  public:
    Router(unsigned shard, unsigned shard_count, const Directory& directory,
           bool bootstrap_configured, RegistrationRate registration_rate);

    unsigned shard() const { return shard_; }
    unsigned shard_count() const { return shard_count_; }
    // The shard that owns `endpoint`'s state (the rule above).
    unsigned owner_of(std::string_view endpoint) const;

    // One message of a connection of this shard. A connection binds to the endpoint of its first
    // admitted message and speaks for no other from then on.
    RouteDecision route(const ConnectionFacts& connection, const coap::Message& message,
                        TimePoint now);

    // The connection closed: the route its endpoint's owner must hear of, if it was bound.
    std::optional<Route> close(ConnectionId conn);

    // The relay's decision that `conn` carries (or no longer carries) the endpoint's
    // registration. False when the connection is not bound here (it closed meanwhile).
    bool set_registered(ConnectionId conn, bool registered, bool queue_mode);
    // The endpoint whose registration `conn` carries, if any.
    std::optional<std::string> registered_endpoint(ConnectionId conn) const;
    // Whether closing `conn` is part of its device's normal cycle (queue mode sleeps).
    bool close_expected(ConnectionId conn) const;
    std::size_t bound_connections() const { return bindings_.size(); }

    // Connections that bind from now on see these (SIGHUP); bound ones keep their endpoint.
    // The credentials table, read by every shard (it outlives the router).
    void set_identities(const IdentityLookup& identities) { identities_ = &identities; }
    void set_registration_rate(RegistrationRate rate);

  private:
    struct Binding {
        Route route;
        bool registered = false;
        bool queue_mode = false;
    };
    RouteDecision admit_new(const ConnectionFacts& connection, const coap::Message& message,
                            Uplink kind, const std::string* bound, TimePoint now,
                            std::optional<unsigned> owner = std::nullopt);

    unsigned shard_;
    unsigned shard_count_;
    const Directory& directory_;
    bool bootstrap_configured_;
    IdentityTable no_credentials_;
    const IdentityLookup* identities_ = &no_credentials_;
    AddressRateLimiter register_rate_;
    std::unordered_map<ConnectionId, Binding> bindings_;
};

}  // namespace lwgate::lwm2m
