// The client side of TLS-PSK for the bench's devices: the identity and key a handshake on this
// thread offers (OpenSSL's PSK callback has no user pointer of its own before the SSL exists).
#pragma once

#include <openssl/ssl.h>

#include <string>

namespace lwgate::bench {

struct PeerPsk {
    std::string identity;
    std::string key_hex;
    std::string cipher = "PSK-AES128-CCM8";  // LwM2M's mandatory TLS-PSK suite
};

// A TLS 1.2 client context that offers `cipher` and the PSK set by offer_psk().
SSL_CTX* new_psk_client_context(const std::string& cipher);
// The PSK the next handshakes on this thread offer (nullptr: none); `psk` must outlive them.
void offer_psk(const PeerPsk* psk);

}  // namespace lwgate::bench
