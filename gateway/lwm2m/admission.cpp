#include "lwm2m/admission.hpp"

#include <algorithm>

namespace lwgate::lwm2m {

namespace code = coap::code;

void IdentityTable::add(const std::string& endpoint, const std::string& psk_identity) {
    endpoints_.insert(endpoint);
    if (!psk_identity.empty()) endpoint_by_psk_[psk_identity] = endpoint;
}

std::optional<std::string> IdentityTable::endpoint_of_psk(const std::string& identity) const {
    auto it = endpoint_by_psk_.find(identity);
    if (it == endpoint_by_psk_.end()) return std::nullopt;
    return it->second;
}

void IdentityTable::map_certificate(const std::string& name, const std::string& endpoint) {
    endpoints_.insert(endpoint);
    endpoint_by_certificate_[name] = endpoint;
}

std::optional<std::string> IdentityTable::endpoint_of_certificate(const std::string& name) const {
    auto it = endpoint_by_certificate_.find(name);
    if (it == endpoint_by_certificate_.end()) return std::nullopt;
    return it->second;
}

bool IdentityTable::has_credentials(const std::string& endpoint) const {
    return endpoints_.count(endpoint) != 0;
}

const char* to_string(Refusal refusal) {
    switch (refusal) {
        case Refusal::not_lwm2m:
            return "not_lwm2m";
        case Refusal::bad_request:
            return "bad_request";
        case Refusal::no_bootstrap_server:
            return "no_bootstrap_server";
        case Refusal::unknown_registration:
            return "unknown_registration";
        case Refusal::other_endpoint:
            return "other_endpoint";
        case Refusal::identity_mismatch:
            return "identity_mismatch";
        case Refusal::plain_not_allowed:
            return "plain_not_allowed";
        case Refusal::credentials_required:
            return "credentials_required";
        case Refusal::unroutable_response:
            return "unroutable_response";
        case Refusal::registration_rate:
            return "registration_rate";
        case Refusal::registration_limit:
            return "registration_limit";
        case Refusal::count_:
            break;
    }
    return "unknown";
}

namespace {

Refused refused(Refusal reason, std::uint8_t answer, std::string_view diagnostic,
                std::string endpoint = {}) {
    return Refused{reason, answer, diagnostic, std::move(endpoint)};
}

// The endpoint a TLS identity names by itself: its PSK entry's; for a certificate, the endpoint
// an entry maps its CN to, else the CN itself.
std::optional<std::string> identity_endpoint(const PeerIdentity& peer,
                                             const IdentityLookup& identities) {
    if (!peer.tls) return std::nullopt;
    if (!peer.psk_identity.empty())
        return identities.endpoint_of_psk(std::string(peer.psk_identity));
    if (peer.certificate_cn.empty()) return std::nullopt;
    const std::string cn(peer.certificate_cn);
    if (auto mapped = identities.endpoint_of_certificate(cn)) return mapped;
    return cn;
}

bool identity_names(const PeerIdentity& peer, const std::string& endpoint,
                    const IdentityLookup& identities) {
    if (const auto own = identity_endpoint(peer, identities); own && *own == endpoint) return true;
    if (!peer.tls || !peer.psk_identity.empty()) return false;
    for (const auto& name : peer.certificate_names) {
        if (name == endpoint) return true;
        if (auto mapped = identities.endpoint_of_certificate(name); mapped && *mapped == endpoint)
            return true;
    }
    return false;
}

// Plain TCP proves nothing, so these hold for every Register, Update and De-register it sends,
// not only for its first: the endpoint may have moved to TLS since the connection bound.
std::optional<Refused> plain_refusal(const PeerIdentity& peer, const std::string& endpoint,
                                     const std::optional<RegistrationFacts>& registration,
                                     const AdmissionContext& context) {
    if (!peer.allow_plain_registration) {
        return refused(Refusal::plain_not_allowed, code::forbidden,
                       "this listener does not accept registrations over plain TCP", endpoint);
    }
    if (context.identities.has_credentials(endpoint) ||
        (registration && registration->authenticated)) {
        return refused(Refusal::credentials_required, code::forbidden,
                       "this endpoint authenticates: connect over TLS", endpoint);
    }
    return std::nullopt;
}

// Rules 4 and 5 for a Register, Update, De-register or Bootstrap-Request naming `endpoint`.
AdmissionResult claim(const PeerIdentity& peer, const std::string* bound, std::string endpoint,
                      const std::optional<RegistrationFacts>& registration,
                      const AdmissionContext& context) {
    if (bound && *bound != endpoint) {
        return refused(Refusal::other_endpoint, code::forbidden,
                       "connection belongs to another endpoint", std::move(endpoint));
    }
    if (!peer.tls) {
        if (auto refusal = plain_refusal(peer, endpoint, registration, context)) return *refusal;
        return Admitted{std::move(endpoint), false};
    }
    if (!bound && !identity_names(peer, endpoint, context.identities)) {
        return refused(Refusal::identity_mismatch, code::forbidden,
                       "endpoint does not match TLS identity", std::move(endpoint));
    }
    return Admitted{std::move(endpoint), true};
}

std::string location_string(const coap::Message& message) {
    std::string out;
    for (const auto& segment : uri_path(message))
        out += "/" + segment;
    return out;
}

}  // namespace

AdmissionResult admit(const PeerIdentity& peer, const std::string* bound,
                      const coap::Message& message, Uplink kind, const AdmissionContext& context) {
    if (!coap::is_request(message.code())) {
        if (bound) return Admitted{*bound, peer.tls};
        return refused(Refusal::unroutable_response, 0, {});
    }
    switch (kind) {
        case Uplink::bootstrap_request:
            if (!context.bootstrap_configured) {
                return refused(Refusal::no_bootstrap_server, code::not_implemented,
                               "no upstream.bootstrap_uri configured");
            }
            [[fallthrough]];
        case Uplink::register_: {
            auto params = parse_register(message);
            if (!params) {
                return refused(Refusal::bad_request, code::bad_request,
                               kind == Uplink::register_ ? "Register needs ep and a numeric lt"
                                                         : "Bootstrap-Request needs ep");
            }
            if (!valid_endpoint_name(params->endpoint)) {
                return refused(Refusal::bad_request, code::bad_request,
                               "ep must be 1 to 255 bytes of UTF-8 without control characters");
            }
            if (params->lifetime == 0u) {
                return refused(Refusal::bad_request, code::bad_request,
                               "lt must be at least 1 second", std::move(params->endpoint));
            }
            auto registration = context.directory.registration_of(params->endpoint);
            return claim(peer, bound, std::move(params->endpoint), registration, context);
        }
        case Uplink::update:
        case Uplink::deregister: {
            auto registration = context.directory.registration_at(location_string(message));
            if (!registration) {
                // A bound connection's relay answers a stale location itself (4.04 as well).
                if (bound) return Admitted{*bound, peer.tls};
                return refused(Refusal::unknown_registration, code::not_found,
                               "unknown registration");
            }
            return claim(peer, bound, registration->endpoint, registration, context);
        }
        default:
            break;
    }
    if (bound) return Admitted{*bound, peer.tls};
    if (auto own = identity_endpoint(peer, context.identities)) {
        return Admitted{std::move(*own), true};
    }
    return refused(Refusal::not_lwm2m, code::forbidden, "no LwM2M registration on this connection");
}

}  // namespace lwgate::lwm2m
