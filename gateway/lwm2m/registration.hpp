// LwM2M registration interface (OMA LwM2M 1.1 Core §6.2, transport §6.4) as seen by the bridge:
// which uplink is a Register/Update/De-register/Bootstrap-Request/Send, what it says, and the
// binding rewrite that makes a TCP device look like a UDP one to the core.
//
// Binding rewrite: the device registers with b=T (TCP); the core only speaks UDP, so it must
// see b=U. Every 'T' becomes 'U' (dropped when 'U' is already there); the queue-mode flag is
// kept in whatever form the device used: the separate `Q` query parameter (LwM2M 1.1) or the 'Q'
// letter inside the binding (LwM2M 1.0, b=TQ -> b=UQ). Every other query parameter and the
// link-format payload pass unchanged, byte for byte, in their original order.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lwgate/coap/message.hpp"

namespace lwgate::lwm2m {

enum class Uplink {
    register_,          // POST /rd?ep=...
    update,             // POST /rd/{location...}
    deregister,         // DELETE /rd/{location...}
    bootstrap_request,  // POST /bs?ep=...
    send,               // POST /dp
    other,              // anything else: relayed as is
};

const char* to_string(Uplink u);

Uplink classify_uplink(const coap::Message& request);

struct RegisterParams {
    std::string endpoint;                   // ep
    std::optional<std::uint32_t> lifetime;  // lt (seconds)
    std::string version;                    // lwm2m
    std::string binding;                    // b, as sent
    bool queue_mode = false;                // Q parameter or Q in the binding
};

// Parses the query of a Register (or Bootstrap-Request: only ep is required) request.
// Returns nullopt when `ep` is missing or a value is malformed (e.g. lt not a number).
std::optional<RegisterParams> parse_register(const coap::Message& request);

// Lifetime / binding / queue carried by an Update (all optional).
struct UpdateParams {
    std::optional<std::uint32_t> lifetime;
    std::optional<std::string> binding;
    bool queue_mode = false;
};
UpdateParams parse_update(const coap::Message& request);

// The Uri-Path segments after "rd" of an Update/De-register: the registration location.
std::vector<std::string> registration_location(const coap::Message& request);

// Rewrites the `b` query parameter for a UDP core (see above). Returns the new binding, or
// nullopt when the request had no `b` parameter (nothing changed).
std::optional<std::string> rewrite_binding_for_udp(coap::Message& request);
std::string udp_binding(std::string_view binding);

// Endpoint names end up in logs, JSON, the store and metrics labels: they must be valid UTF-8
// without control characters (no forged log lines), 1 to max_endpoint_name bytes.
inline constexpr std::size_t max_endpoint_name = 255;
bool valid_endpoint_name(std::string_view name);

// Lowers the `lt` query parameter to `max_lifetime` when it asks for more (order kept); with
// `add_when_absent`, adds lt=max_lifetime when there is none (a Register without lt means
// 86400 s). True if the request changed.
bool cap_lifetime(coap::Message& request, std::uint32_t max_lifetime, bool add_when_absent);

// Query parameters in order; a parameter without '=' has an empty value.
std::vector<std::pair<std::string, std::string>> query_params(const coap::Message& request);
std::vector<std::string> uri_path(const coap::Message& message);
// "/rd/5" from {"rd", "5"}: a registration's location as the Directory and the logs name it.
std::string join_path(const std::vector<std::string>& segments);
std::string uri_path_string(const coap::Message& message);  // "/3/0/1"

}  // namespace lwgate::lwm2m
