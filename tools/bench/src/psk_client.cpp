#include "psk_client.hpp"

#include <cstdio>

namespace lwgate::bench {
namespace {

thread_local const PeerPsk* offered = nullptr;

unsigned int client_psk(SSL*, const char*, char* identity, unsigned int max_identity,
                        unsigned char* psk, unsigned int max_psk) {
    const PeerPsk* p = offered;
    if (!p || p->identity.size() + 1 > max_identity || p->key_hex.size() / 2 > max_psk) return 0;
    std::snprintf(identity, max_identity, "%s", p->identity.c_str());
    for (std::size_t i = 0; i < p->key_hex.size() / 2; ++i)
        psk[i] = static_cast<unsigned char>(std::stoi(p->key_hex.substr(2 * i, 2), nullptr, 16));
    return static_cast<unsigned int>(p->key_hex.size() / 2);
}

}  // namespace

SSL_CTX* new_psk_client_context(const std::string& cipher) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_cipher_list(ctx, cipher.c_str());
    SSL_CTX_set_psk_client_callback(ctx, client_psk);
    return ctx;
}

void offer_psk(const PeerPsk* psk) {
    offered = psk;
}

}  // namespace lwgate::bench
