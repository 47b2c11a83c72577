#include "net/tls_context.hpp"
#include "net/handshake_rejection.hpp"

#include <cstring>
#include <string_view>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>

namespace lwgate::net {

namespace {

// `what` followed by OpenSSL's queued errors (which it drains).
Unexpected<Error> openssl_error(TlsErrc code, const std::string& what) {
    std::string out = what;
    while (unsigned long e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        out += ": ";
        out += buf;
    }
    return fail(Error{code, std::move(out)});
}

// Our back-pointer on the SSL_CTX. Not SSL_CTX app_data: asio::ssl::context owns that slot (it
// stores and deletes its verify callback there).
int context_index() {
    static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

TlsServerContext* owner_of(SSL* ssl) {
    return static_cast<TlsServerContext*>(
        SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), context_index()));
}

unsigned int psk_server_callback(SSL* ssl, const char* identity, unsigned char* psk,
                                 unsigned int max_psk_len) {
    auto* self = owner_of(ssl);
    if (!self || !identity) return 0;
    const auto& lookup = self->psk_lookup();
    std::vector<std::uint8_t> key;
    if (!lookup || !lookup(identity, key)) {
        note_unknown_psk_identity(ssl, identity);
        return 0;
    }
    if (key.size() > max_psk_len) return 0;
    std::memcpy(psk, key.data(), key.size());
    OPENSSL_cleanse(key.data(), key.size());
    return static_cast<unsigned int>(key.size());
}

// The identity a TLS 1.3 PSK handshake used: SSL_get_psk_identity() only knows TLS 1.2's.
int identity_index() {
    static const int index = SSL_get_ex_new_index(
        0, nullptr, nullptr, nullptr, [](void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
            delete static_cast<std::string*>(ptr);
        });
    return index;
}

// TLS 1.3 external PSK (RFC 8446 §4.2.11): OpenSSL asks for a session carrying the key. The
// legacy callback above serves TLS 1.2; without this one TLS 1.3 PSK handshakes fail.
int psk_find_session(SSL* ssl, const unsigned char* identity, size_t identity_len,
                     SSL_SESSION** session) {
    *session = nullptr;
    auto* self = owner_of(ssl);
    if (!self) return 1;
    const auto& lookup = self->psk_lookup();
    const std::string name(reinterpret_cast<const char*>(identity), identity_len);
    std::vector<std::uint8_t> key;
    if (!lookup || !lookup(name, key)) {  // unknown identity: fall back to certificates
        note_unknown_psk_identity(ssl, name);
        return 1;
    }
    static const unsigned char aes128gcmsha256[] = {0x13, 0x01};
    const SSL_CIPHER* cipher = SSL_CIPHER_find(ssl, aes128gcmsha256);
    SSL_SESSION* s = SSL_SESSION_new();
    if (!cipher || !s || SSL_SESSION_set1_master_key(s, key.data(), key.size()) != 1 ||
        SSL_SESSION_set_cipher(s, cipher) != 1 ||
        SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION) != 1) {
        SSL_SESSION_free(s);
        OPENSSL_cleanse(key.data(), key.size());
        return 0;
    }
    delete static_cast<std::string*>(SSL_get_ex_data(ssl, identity_index()));
    OPENSSL_cleanse(key.data(), key.size());
    SSL_set_ex_data(ssl, identity_index(), new std::string(name));
    *session = s;
    return 1;
}

// Whether the client's ALPN list `in` offers `protocol`; if so *out points at it there.
bool offers(const unsigned char* in, unsigned int inlen, std::string_view protocol,
            const unsigned char** out, unsigned char* outlen) {
    for (unsigned int i = 0; i < inlen;) {
        const unsigned int len = in[i];
        if (i + 1 + len > inlen) break;
        if (len == protocol.size() && std::memcmp(in + i + 1, protocol.data(), len) == 0) {
            *out = in + i + 1;
            *outlen = static_cast<unsigned char>(len);
            return true;
        }
        i += 1 + len;
    }
    return false;
}

int alpn_select(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void*) {
    return offers(in, inlen, "coap", out, outlen) ? SSL_TLSEXT_ERR_OK : SSL_TLSEXT_ERR_ALERT_FATAL;
}

// HTTPS: curl offers "h2,http/1.1"; a client that offers only others still gets HTTP/1.1, the
// one protocol the admin server speaks, without ALPN rather than a failed handshake.
int http_alpn_select(SSL*, const unsigned char** out, unsigned char* outlen,
                     const unsigned char* in, unsigned int inlen, void*) {
    return offers(in, inlen, "http/1.1", out, outlen) ? SSL_TLSEXT_ERR_OK : SSL_TLSEXT_ERR_NOACK;
}

}  // namespace

std::string psk_identity_of(SSL* ssl) {
    if (const char* identity = SSL_get_psk_identity(ssl)) return identity;
    if (auto* identity = static_cast<std::string*>(SSL_get_ex_data(ssl, identity_index()))) {
        return *identity;
    }
    return {};
}

std::uint32_t tls_record_overhead(SSL* ssl) {
    constexpr std::uint32_t header = 5;
    if (SSL_version(ssl) >= TLS1_3_VERSION) return header + 1 + 16;
    const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl);
    if (!cipher) return header;
    const int nid = SSL_CIPHER_get_cipher_nid(cipher);
    if (nid == NID_chacha20_poly1305) return header + 16;
    if (nid == NID_aes_128_ccm || nid == NID_aes_256_ccm) {
        const std::string_view name = SSL_CIPHER_get_name(cipher);
        return header + 8 + (name.ends_with("CCM8") ? 8 : 16);
    }
    if (SSL_CIPHER_is_aead(cipher)) return header + 8 + 16;
    const int digest = SSL_CIPHER_get_digest_nid(cipher);
    const std::uint32_t mac = digest == NID_sha384 ? 48 : digest == NID_sha256 ? 32 : 20;
    return header + 16 + mac + 8;
}

PskLookup PskTable::from(const std::vector<config::Credential>& creds) {
    auto table = std::make_shared<PskTable>();
    for (const auto& c : creds) {
        if (!c.psk_identity.empty()) table->keys[c.psk_identity] = c.psk_key;
    }
    return [table](std::string_view identity, std::vector<std::uint8_t>& key) {
        const auto it = table->keys.find(std::string(identity));
        if (it == table->keys.end()) return false;
        key = it->second;
        return true;
    };
}

namespace {

// What every server context has (the listeners' and the admin API's), whatever it authenticates
// with.
Result<void, Error> set_defaults(SSL_CTX* ctx) {
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    // Release idle read/write buffers: most device connections are idle most of the time.
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    // OpenSSL reads the socket itself (TlsStream): read as much as the record buffer takes in one
    // recv() instead of a header and then a body per record. The buffer is still released once a
    // read finds the socket empty and nothing left over.
    SSL_CTX_set_read_ahead(ctx, 1);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    // Needed whenever client verification meets a resumed or PSK session (TLS 1.3 PSK looks
    // like a resumption to OpenSSL): without it such handshakes fail with an internal error.
    static const unsigned char sid_ctx[] = {'l', 'w', 'g', 'a', 't', 'e'};
    SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx);

    // Certificate suites plus the PSK suites constrained devices use (RFC 7925 profile:
    // PSK-AES128-CCM8; also plain and ECDHE PSK with GCM/CBC).
    const char* ciphers =
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
        "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
        "ECDHE-ECDSA-AES128-CCM8:ECDHE-ECDSA-AES128-CCM:"
        "ECDHE-PSK-AES128-CBC-SHA256:ECDHE-PSK-CHACHA20-POLY1305:"
        "PSK-AES128-CCM8:PSK-AES128-CCM:PSK-AES128-GCM-SHA256:PSK-AES256-GCM-SHA384:"
        "PSK-AES128-CBC-SHA256:PSK-CHACHA20-POLY1305";
    if (SSL_CTX_set_cipher_list(ctx, ciphers) != 1) {
        return openssl_error(TlsErrc::cipher_list, "cipher list");
    }
    return {};
}

// The certificate and key the server shows, and the CA client certificates are verified against.
Result<void, Error> load_certificates(SSL_CTX* ctx, const config::TlsConfig& tls) {
    if (!tls.certificate.empty()) {
        if (SSL_CTX_use_certificate_chain_file(ctx, tls.certificate.c_str()) != 1) {
            return openssl_error(TlsErrc::certificate, "certificate " + tls.certificate);
        }
        if (SSL_CTX_use_PrivateKey_file(ctx, tls.private_key.c_str(), SSL_FILETYPE_PEM) != 1) {
            return openssl_error(TlsErrc::private_key, "private_key " + tls.private_key);
        }
        if (SSL_CTX_check_private_key(ctx) != 1) {
            return openssl_error(TlsErrc::key_mismatch, "private_key does not match certificate");
        }
    }
    if (!tls.ca.empty()) {
        if (SSL_CTX_load_verify_locations(ctx, tls.ca.c_str(), nullptr) != 1) {
            return openssl_error(TlsErrc::ca, "ca " + tls.ca);
        }
        int mode = SSL_VERIFY_PEER;
        if (tls.require_client_certificate) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
        SSL_CTX_set_verify(ctx, mode, note_certificate_verdict);
    }
    return {};
}

}  // namespace

Result<TlsServerContextPtr, Error> TlsServerContext::create(const config::TlsConfig& tls,
                                                            PskLookup psk) {
    TlsServerContextPtr self(new TlsServerContext());
    self->handshake_timeout_ = tls.handshake_timeout;
    SSL_CTX* ctx = self->context_.native_handle();
    SSL_CTX_set_ex_data(ctx, context_index(), self.get());
    if (auto set = set_defaults(ctx); !set) return fail(std::move(set).error());
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select, nullptr);
    if (auto loaded = load_certificates(ctx, tls); !loaded) return fail(std::move(loaded).error());
    if (tls.psk) {
        self->psk_ = std::move(psk);
        self->identity_hint_ = tls.psk_identity_hint;
        if (!self->identity_hint_.empty()) {
            SSL_CTX_use_psk_identity_hint(ctx, self->identity_hint_.c_str());
        }
        SSL_CTX_set_psk_server_callback(ctx, psk_server_callback);
        SSL_CTX_set_psk_find_session_callback(ctx, psk_find_session);
    }
    return self;
}

Result<SslCtxPtr, Error> make_https_context(const config::TlsConfig& tls) {
    SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
    if (!ctx) return openssl_error(TlsErrc::no_context, "SSL_CTX_new");
    // What asio::ssl::context sets for the listeners' contexts before set_defaults().
    SSL_CTX_set_options(ctx.get(), SSL_OP_NO_COMPRESSION);
    if (auto set = set_defaults(ctx.get()); !set) return fail(std::move(set).error());
    SSL_CTX_set_alpn_select_cb(ctx.get(), http_alpn_select, nullptr);
    if (auto loaded = load_certificates(ctx.get(), tls); !loaded) {
        return fail(std::move(loaded).error());
    }
    return ctx;
}

}  // namespace lwgate::net
