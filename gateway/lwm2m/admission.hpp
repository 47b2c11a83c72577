// Who may speak for an endpoint: the rules every message from a device connection passes before
// it reaches an endpoint's relay. Pure: the connection's proven identity, the message, the
// credentials table and the Directory in; the endpoint to route to, or a refusal, out.
//
// Trust model. A TLS connection is authenticated by its identity: a PSK identity names the
// endpoint of its credentials entry; a client certificate names its CN and its DNS/URI
// subjectAltNames, and the endpoint an entry maps one of those names to (certificate_name). Plain TCP carries no identity at all: whoever reaches a plain listener can
// claim any endpoint name. So plain TCP may only speak for endpoints that have nothing to lose
// to an impostor: never for an endpoint that has a credentials entry, never to continue a
// registration that was made over TLS, and only where the listener allows plain registrations.
//
// The rules, for a connection C and the endpoint E a message names:
//  1. Register (POST /rd?ep=E): E from `ep` (4.00 without it). Bootstrap-Request (POST /bs?ep=E)
//     likewise; 5.01 when no bootstrap server is configured.
//  2. Update / De-register (POST/DELETE /rd/L): E is the endpoint whose live registration is at
//     L (the Directory); 4.04 when L names none. The relay then checks that L is E's current
//     registration, so nothing that names another registration ever reaches the core.
//  3. Any other request: E is the endpoint C already speaks for; on an unbound TLS connection,
//     the endpoint its identity names. Otherwise 4.03: lwgate relays LwM2M devices only.
//  4. C already speaks for an endpoint B (an earlier message was admitted): E must be B, else
//     4.03. A connection never speaks for two endpoints.
//  5. TLS: when C speaks for nobody yet, its identity must name E (4.03 otherwise). Plain TCP,
//     for every Register, Update, De-register and Bootstrap-Request: the listener must allow
//     plain registrations, E must have no credentials entry, and E's live registration (if any)
//     must not have been made over TLS (4.03 otherwise). The relay refuses anything else a
//     plain connection sends for a registration made over TLS (DeviceRelay, "authenticated").
// Admission binds C to E for routing only. Which connection the relay uses for downlinks is the
// relay's decision: the newest one on which a Register or Update was accepted by the core.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <variant>

#include "lwgate/coap/message.hpp"
#include "lwm2m/directory.hpp"
#include "lwm2m/registration.hpp"

namespace lwgate::lwm2m {

// The credentials table as far as identities go (keys stay with the TLS and upstream code).
// Every shard asks it for each connection that binds, so an implementation answers in O(1) and
// from any thread (credentials::CredentialTable, shared by all shards and changed at run time).
class IdentityLookup {
  public:
    virtual ~IdentityLookup() = default;
    virtual std::optional<std::string> endpoint_of_psk(const std::string& identity) const = 0;
    // The endpoint a certificate name (CN or a DNS/URI subjectAltName) is mapped to, when an
    // entry maps it to an endpoint of another name.
    virtual std::optional<std::string> endpoint_of_certificate(const std::string& name) const = 0;
    virtual bool has_credentials(const std::string& endpoint) const = 0;
};

// A fixed table: tests, and a gateway without credentials.
class IdentityTable final : public IdentityLookup {
  public:
    // `psk_identity` may be empty (an entry that only names the endpoint).
    void add(const std::string& endpoint, const std::string& psk_identity);
    void map_certificate(const std::string& name, const std::string& endpoint);
    std::optional<std::string> endpoint_of_psk(const std::string& identity) const override;
    std::optional<std::string> endpoint_of_certificate(const std::string& name) const override;
    bool has_credentials(const std::string& endpoint) const override;

  private:
    std::unordered_map<std::string, std::string> endpoint_by_psk_;
    std::unordered_map<std::string, std::string> endpoint_by_certificate_;
    std::unordered_set<std::string> endpoints_;
};

// What a connection proved when it was established.
struct PeerIdentity {
    bool tls = false;
    std::string_view psk_identity;                   // TLS-PSK
    std::string_view certificate_cn;                 // client certificate subject CN
    std::span<const std::string> certificate_names;  // its DNS/URI subjectAltNames
    bool allow_plain_registration = true;            // the listener's setting (plain TCP)
};

// Why a message was refused; also the `reason` label of lwgate_refused_total.
enum class Refusal : std::uint8_t {
    not_lwm2m,             // a request on a connection that speaks for no endpoint
    bad_request,           // Register / Bootstrap-Request without a usable ep or lt
    no_bootstrap_server,   // Bootstrap-Request, upstream.bootstrap_uri not set
    unknown_registration,  // Update / De-register of a location with no live registration
    other_endpoint,        // the connection already speaks for another endpoint
    identity_mismatch,     // TLS: the identity does not name the endpoint
    plain_not_allowed,     // plain TCP on a listener with allow_plain_registration: false
    credentials_required,  // plain TCP for an endpoint that authenticates (credentials / TLS)
    unroutable_response,   // a response on a connection that speaks for no endpoint: dropped
    registration_rate,     // Register beyond registration.rate_per_address (5.03)
    registration_limit,    // Register beyond connections.max_registrations (5.03)
    count_
};
inline constexpr std::size_t refusal_count = static_cast<std::size_t>(Refusal::count_);
const char* to_string(Refusal refusal);

struct Admitted {
    std::string endpoint;
    bool authenticated = false;  // the connection's TLS identity names the endpoint
};
struct Refused {
    Refusal reason;
    std::uint8_t code;            // the answer to the device; 0: send nothing
    std::string_view diagnostic;  // its payload (static text)
    std::string endpoint;         // the endpoint the message named, if any (for the log)
    std::optional<std::uint32_t> max_age = std::nullopt;  // when to try again (5.03)
};
using AdmissionResult = std::variant<Admitted, Refused>;

struct AdmissionContext {
    const IdentityLookup& identities;
    const Directory& directory;
    bool bootstrap_configured = false;
};

// `bound`: the endpoint this connection already speaks for (null: none). `kind`: classify_uplink()
// of a request (ignored for responses).
AdmissionResult admit(const PeerIdentity& peer, const std::string* bound,
                      const coap::Message& message, Uplink kind, const AdmissionContext& context);

}  // namespace lwgate::lwm2m
