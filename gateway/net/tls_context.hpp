// Server-side TLS for coaps+tcp listeners on OpenSSL 3 (asio::ssl::context holds the SSL_CTX;
// each connection is a net::TlsStream):
//  - certificate + private key (optional when the listener is PSK-only),
//  - client certificates verified against `ca` (required when require_client_certificate),
//  - TLS-PSK with identities from the credentials table: TLS 1.2 PSK suites (PSK-AES128-CCM8,
//    PSK-AES128-GCM-SHA256, ECDHE-PSK-...) and TLS 1.3 PSK through OpenSSL's compatibility path
//    (the TLS 1.2-style server callback also serves TLS 1.3 external PSKs with SHA-256 suites),
//  - ALPN "coap" (RFC 8323 §4.1). A client that offers ALPN without "coap" is rejected (RFC 8323
//    requires the "coap" protocol id); a client that offers no ALPN at all is accepted, because
//    several constrained TLS stacks do not implement the extension.
// PSK keys come from a lookup the context is created with (the gateway's credentials table,
// shared by every shard and changed at run time; it answers under a shared lock in O(1)).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <openssl/ssl.h>
#include <asio/ssl/context.hpp>

#include "config/config.hpp"
#include "lwgate/util/result.hpp"
#include "net/tls_error.hpp"

namespace lwgate::net {

// The key of a PSK identity, copied into `key`; false when the identity is unknown. Called by
// handshakes on every shard at once.
using PskLookup = std::function<bool(std::string_view identity, std::vector<std::uint8_t>& key)>;

// A fixed identity -> key table as a PskLookup (tests).
struct PskTable {
    std::unordered_map<std::string, std::vector<std::uint8_t>> keys;
    static PskLookup from(const std::vector<config::Credential>& creds);
};

// The PSK identity the peer authenticated with (TLS 1.2 or 1.3), or empty.
std::string psk_identity_of(SSL* ssl);

// The bytes TLS adds to one record of the negotiated connection: the record header (5), and for
// TLS 1.3 the inner content type (1) and the AEAD tag (16); for TLS 1.2 AEAD suites the explicit
// nonce (8, none for ChaCha20-Poly1305) and the tag (16, or 8 for CCM_8); for CBC suites the IV,
// the MAC and half a block of padding. What one keepalive frame costs beyond its CoAP bytes.
std::uint32_t tls_record_overhead(SSL* ssl);

struct SslCtxFree {
    void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;

// The admin API's HTTPS context (admin.tls): the listeners' defaults (TLS 1.2 and later, their
// cipher suites, no renegotiation) with `tls`'s certificate and private key, and ALPN
// "http/1.1" in place of "coap" (a client that offers other protocols only gets no ALPN).
// A bare SSL_CTX: the admin server is on Boost.Asio, whose ssl::context takes it over.
Result<SslCtxPtr, Error> make_https_context(const config::TlsConfig& tls);

class TlsServerContext;
using TlsServerContextPtr = std::unique_ptr<TlsServerContext>;

class TlsServerContext {
  public:
    // TlsErrc (with OpenSSL's words in the detail) when a file of `tls` cannot be used.
    static Result<TlsServerContextPtr, Error> create(const config::TlsConfig& tls, PskLookup psk);

    asio::ssl::context& context() { return context_; }
    // Null when the listener takes no PSK.
    const PskLookup& psk_lookup() const { return psk_; }
    config::Duration handshake_timeout() const { return handshake_timeout_; }

  private:
    TlsServerContext() : context_(asio::ssl::context::tls_server) {}

    asio::ssl::context context_;
    PskLookup psk_;
    std::string identity_hint_;
    config::Duration handshake_timeout_{10'000};
};

}  // namespace lwgate::net
