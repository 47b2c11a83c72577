// Why a TLS handshake refused a device: a reason of lwgate_refused_total and of the security
// log, next to the admission rules' (lwm2m::Refusal). Classified where the handshake ends
// (connection/DownstreamSession) from what OpenSSL reported.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace lwgate::session {

enum class TlsRefusal : std::uint8_t {
    unknown_psk_identity,  // the client offered a PSK identity that no credentials entry has
    certificate_rejected,  // its certificate did not verify against tls.ca, or none was sent
    tls_failure,           // any other failed handshake: wrong key, no common suite or ALPN, ...
    count_
};

inline constexpr std::size_t tls_refusal_count = static_cast<std::size_t>(TlsRefusal::count_);

// The `reason` label.
std::string_view to_string(TlsRefusal refusal);

// What the handshake left behind, and the reason it makes.
struct TlsFailureFacts {
    bool unknown_psk_identity = false;  // a PSK identity was offered and had no key
    bool certificate_rejected = false;  // verification failed, or a required one was missing
};
TlsRefusal classify(const TlsFailureFacts& facts);

}  // namespace lwgate::session
