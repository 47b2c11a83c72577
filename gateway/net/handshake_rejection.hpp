// What a failed TLS handshake was about, for the security log: the PSK identity the client
// offered when it had no key, and the certificate that did not verify (its subject CN and why).
// OpenSSL forgets both once the handshake fails, so the PSK and verify callbacks note them on
// the SSL object as they refuse.
#pragma once

#include <string>
#include <string_view>
#include <system_error>

#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace lwgate::net {

// Longest PSK identity kept (TLS allows 65535 bytes; RFC 7925 devices use short ones).
inline constexpr std::size_t max_noted_identity = 128;

struct HandshakeRejection {
    std::string unknown_psk_identity;   // offered and unknown (cut to max_noted_identity)
    std::string certificate_cn;         // of a client certificate that did not verify
    std::string certificate_error;      // why it did not ("certificate has expired", ...)
    bool certificate_rejected = false;  // it did not verify, or a required one was missing
};

// Called by the PSK callbacks with an identity that has no key.
void note_unknown_psk_identity(SSL* ssl, std::string_view identity);
// The verify callback of client certificates: notes the first certificate that fails.
int note_certificate_verdict(int preverify_ok, X509_STORE_CTX* store);

// After a failed handshake: what the callbacks noted (null: nothing), without a copy, since a
// flood of failures is mostly not logged.
const HandshakeRejection* noted_rejection(SSL* ssl);
// `ec` (OpenSSL's error in the SSL category) says the client certificate was the problem.
bool is_certificate_error(const std::error_code& ec);

}  // namespace lwgate::net
