#include "session/tls_refusal.hpp"

namespace lwgate::session {

std::string_view to_string(TlsRefusal refusal) {
    switch (refusal) {
        case TlsRefusal::unknown_psk_identity:
            return "unknown_psk_identity";
        case TlsRefusal::certificate_rejected:
            return "certificate_rejected";
        case TlsRefusal::tls_failure:
            return "tls_failure";
        case TlsRefusal::count_:
            break;
    }
    return "unknown";
}

// An unknown identity first: a client that offered one and then failed on the certificate
// fallback came for the PSK.
TlsRefusal classify(const TlsFailureFacts& facts) {
    if (facts.unknown_psk_identity) return TlsRefusal::unknown_psk_identity;
    if (facts.certificate_rejected) return TlsRefusal::certificate_rejected;
    return TlsRefusal::tls_failure;
}

}  // namespace lwgate::session
