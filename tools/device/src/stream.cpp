#include "lwgate/device/stream.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstring>

namespace lwgate::device {

namespace {

std::string openssl_errors() {
    std::string out;
    while (unsigned long e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        if (!out.empty()) out += "; ";
        out += buf;
    }
    return out;
}

bool is_ip_literal(const std::string& host) {
    in6_addr a6{};
    in_addr a4{};
    return inet_pton(AF_INET, host.c_str(), &a4) == 1 ||
           inet_pton(AF_INET6, host.c_str(), &a6) == 1;
}

const Psk& psk_of(SSL* ssl) {
    return static_cast<const TlsStream*>(SSL_get_app_data(ssl))->psk();
}

// TLS 1.2 (and legacy) PSK.
unsigned int psk_client_callback(SSL* ssl, const char* /*hint*/, char* identity,
                                 unsigned int max_identity_len, unsigned char* psk,
                                 unsigned int max_psk_len) {
    const Psk& p = psk_of(ssl);
    if (p.identity.empty()) return 0;
    if (p.identity.size() + 1 > max_identity_len || p.key.size() > max_psk_len) return 0;
    std::memcpy(identity, p.identity.c_str(), p.identity.size() + 1);
    std::memcpy(psk, p.key.data(), p.key.size());
    return static_cast<unsigned int>(p.key.size());
}

// TLS 1.3 external PSK (RFC 8446 §4.2.11): a session carrying the key, for
// TLS_AES_128_GCM_SHA256 (its SHA-256 matches the gateway's find-session callback).
int psk_use_session_callback(SSL* ssl, const EVP_MD* md, const unsigned char** id,
                             std::size_t* idlen, SSL_SESSION** session) {
    *session = nullptr;
    *id = nullptr;
    *idlen = 0;
    const Psk& p = psk_of(ssl);
    if (p.identity.empty()) return 1;
    static const unsigned char aes128gcmsha256[] = {0x13, 0x01};
    const SSL_CIPHER* cipher = SSL_CIPHER_find(ssl, aes128gcmsha256);
    if (!cipher) return 1;
    if (md && md != SSL_CIPHER_get_handshake_digest(cipher)) return 1;  // HRR with another hash
    SSL_SESSION* s = SSL_SESSION_new();
    if (!s || SSL_SESSION_set1_master_key(s, p.key.data(), p.key.size()) != 1 ||
        SSL_SESSION_set_cipher(s, cipher) != 1 ||
        SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION) != 1) {
        SSL_SESSION_free(s);
        return 0;
    }
    *session = s;
    *id = reinterpret_cast<const unsigned char*>(p.identity.data());
    *idlen = p.identity.size();
    return 1;
}

Unexpected<Error> tls_error(DeviceErrc code, std::string detail) {
    return fail(Error{code, std::move(detail)});
}

Result<void, Error> set_ciphers(SSL_CTX* ctx, const TlsOptions& options) {
    const std::string ciphers =
        !options.cipher_list.empty()
            ? options.cipher_list
            : "PSK-AES128-CCM8:PSK-AES128-CCM:PSK-AES128-GCM-SHA256:PSK-AES256-GCM-SHA384:"
              "PSK-AES128-CBC-SHA256:PSK-CHACHA20-POLY1305:ECDHE-PSK-AES128-CBC-SHA256:"
              "ECDHE-PSK-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256:"
              "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
              "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-CCM8:ECDHE-ECDSA-AES128-CCM";
    if (SSL_CTX_set_cipher_list(ctx, ciphers.c_str()) != 1) {
        return tls_error(DeviceErrc::tls_ciphers, "cipher_list: " + openssl_errors());
    }
    // TLS 1.3: AES-128-GCM first (our external PSK session is bound to SHA-256).
    const std::string suites = !options.ciphersuites.empty()
                                   ? options.ciphersuites
                                   : "TLS_AES_128_GCM_SHA256:TLS_AES_128_CCM_SHA256:"
                                     "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384";
    if (SSL_CTX_set_ciphersuites(ctx, suites.c_str()) != 1) {
        return tls_error(DeviceErrc::tls_ciphers, "ciphersuites: " + openssl_errors());
    }
    return {};
}

Result<void, Error> set_credentials(SSL_CTX* ctx, const TlsOptions& options) {
    if (!options.certificate_file.empty()) {
        if (SSL_CTX_use_certificate_chain_file(ctx, options.certificate_file.c_str()) != 1) {
            return tls_error(DeviceErrc::tls_credentials,
                             "certificate " + options.certificate_file + ": " + openssl_errors());
        }
        const std::string& key =
            options.private_key_file.empty() ? options.certificate_file : options.private_key_file;
        if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) {
            return tls_error(DeviceErrc::tls_credentials,
                             "private key " + key + ": " + openssl_errors());
        }
        if (SSL_CTX_check_private_key(ctx) != 1) {
            return tls_error(DeviceErrc::tls_credentials,
                             "private key does not match the certificate: " + openssl_errors());
        }
    }
    if (!options.ca_file.empty()) {
        if (SSL_CTX_load_verify_locations(ctx, options.ca_file.c_str(), nullptr) != 1) {
            return tls_error(DeviceErrc::tls_credentials,
                             "ca " + options.ca_file + ": " + openssl_errors());
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    }
    if (!options.psk_identity.empty() || options.psk_per_connection) {
        SSL_CTX_set_psk_client_callback(ctx, psk_client_callback);
        SSL_CTX_set_psk_use_session_callback(ctx, psk_use_session_callback);
    }
    return {};
}

Result<void, Error> set_alpn(SSL_CTX* ctx, const TlsOptions& options) {
    if (options.alpn.empty()) return {};
    std::string wire;
    for (const auto& p : options.alpn) {
        if (p.empty() || p.size() > 255)
            return tls_error(DeviceErrc::tls_alpn, "bad ALPN protocol name");
        wire += static_cast<char>(p.size());
        wire += p;
    }
    if (SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(wire.data()),
                                static_cast<unsigned int>(wire.size())) != 0) {
        return tls_error(DeviceErrc::tls_alpn, "ALPN: " + openssl_errors());
    }
    return {};
}

}  // namespace

IoResult TcpStream::read(std::uint8_t* data, std::size_t size) {
    while (true) {
        const ssize_t n = ::read(fd_, data, size);
        if (n > 0) return {IoStatus::ok, static_cast<std::size_t>(n), 0, {}};
        if (n == 0) return {IoStatus::eof, 0, 0, {}};
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return {IoStatus::want_read, 0, 0, {}};
        return {IoStatus::error, 0, errno, std::strerror(errno)};
    }
}

IoResult TcpStream::write(const std::uint8_t* data, std::size_t size) {
    while (true) {
        const ssize_t n = ::send(fd_, data, size, MSG_NOSIGNAL);
        if (n >= 0) return {IoStatus::ok, static_cast<std::size_t>(n), 0, {}};
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return {IoStatus::want_write, 0, 0, {}};
        return {IoStatus::error, 0, errno, std::strerror(errno)};
    }
}

Result<std::shared_ptr<TlsClientContext>, Error> TlsClientContext::create(
    const TlsOptions& options) {
    std::shared_ptr<TlsClientContext> self(new TlsClientContext());
    self->options_ = options;
    ERR_clear_error();
    self->ctx_ = SSL_CTX_new(TLS_client_method());
    if (!self->ctx_) return tls_error(DeviceErrc::tls_context, "SSL_CTX_new: " + openssl_errors());
    SSL_CTX* ctx = self->ctx_;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (options.version == TlsVersion::tls1_2) SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
    if (options.version == TlsVersion::tls1_3) SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    // Idle connections give their buffers back: the bench holds 100k of them.
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
    for (auto* step : {set_ciphers, set_credentials, set_alpn}) {
        if (auto done = step(ctx, options); !done) return fail(std::move(done).error());
    }
    return self;
}

TlsClientContext::~TlsClientContext() {
    if (ctx_) SSL_CTX_free(ctx_);
}

Result<std::unique_ptr<TlsStream>, Error> TlsStream::create(
    std::shared_ptr<TlsClientContext> context, int fd, const std::string& host,
    std::optional<Psk> psk) {
    std::unique_ptr<TlsStream> self(new TlsStream());
    ERR_clear_error();
    self->ssl_ = SSL_new(context->native());
    if (!self->ssl_) return tls_error(DeviceErrc::tls_connection, "SSL_new: " + openssl_errors());
    self->context_ = std::move(context);
    const auto& o = self->context_->options();
    self->psk_ = psk ? std::move(*psk) : Psk{o.psk_identity, o.psk_key};
    SSL_set_app_data(self->ssl_, self.get());
    SSL_set_fd(self->ssl_, fd);
    SSL_set_connect_state(self->ssl_);
    const std::string name = !o.server_name.empty() ? o.server_name : host;
    if (!is_ip_literal(name)) SSL_set_tlsext_host_name(self->ssl_, name.c_str());
    if (!o.ca_file.empty()) {
        X509_VERIFY_PARAM* param = SSL_get0_param(self->ssl_);
        if (is_ip_literal(name)) {
            X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
        } else {
            SSL_set1_host(self->ssl_, name.c_str());
        }
    }
    return self;
}

TlsStream::~TlsStream() {
    if (ssl_) SSL_free(ssl_);
}

IoResult TlsStream::translate(int ret, const char* what) {
    const int err = SSL_get_error(ssl_, ret);
    switch (err) {
        case SSL_ERROR_WANT_READ:
            return {IoStatus::want_read, 0, 0, {}};
        case SSL_ERROR_WANT_WRITE:
            return {IoStatus::want_write, 0, 0, {}};
        case SSL_ERROR_ZERO_RETURN:
            return {IoStatus::eof, 0, 0, "close_notify"};
        case SSL_ERROR_SYSCALL: {
            const int e = errno;
            std::string detail = openssl_errors();
            if (ret == 0 || e == 0) return {IoStatus::eof, 0, 0, detail};
            return {IoStatus::error, 0, e, std::string(what) + ": " + std::strerror(e)};
        }
        default: {
            std::string detail = openssl_errors();
            if (detail.empty()) detail = "SSL error " + std::to_string(err);
            // EOF without close_notify shows up as an SSL error in OpenSSL 3: report it as EOF.
            if (detail.find("unexpected eof") != std::string::npos) {
                return {IoStatus::eof, 0, 0, detail};
            }
            return {IoStatus::error, 0, 0, std::string(what) + ": " + detail};
        }
    }
}

IoResult TlsStream::handshake() {
    ERR_clear_error();
    errno = 0;
    const int ret = SSL_do_handshake(ssl_);
    if (ret == 1) return {};
    auto r = translate(ret, "handshake");
    if (r.status == IoStatus::eof) {
        r.status = IoStatus::error;
        if (r.detail.empty()) r.detail = "handshake: connection closed by the peer";
    }
    if (r.status == IoStatus::error) {
        const long verify = SSL_get_verify_result(ssl_);
        if (verify != X509_V_OK) {
            r.detail += std::string(" (verify: ") + X509_verify_cert_error_string(verify) + ")";
        }
    }
    return r;
}

IoResult TlsStream::read(std::uint8_t* data, std::size_t size) {
    ERR_clear_error();
    errno = 0;
    std::size_t n = 0;
    const int ret = SSL_read_ex(ssl_, data, size, &n);
    if (ret == 1) return {IoStatus::ok, n, 0, {}};
    return translate(ret, "read");
}

IoResult TlsStream::write(const std::uint8_t* data, std::size_t size) {
    ERR_clear_error();
    errno = 0;
    std::size_t n = 0;
    const int ret = SSL_write_ex(ssl_, data, size, &n);
    if (ret == 1) return {IoStatus::ok, n, 0, {}};
    return translate(ret, "write");
}

void TlsStream::close_notify() {
    ERR_clear_error();
    SSL_shutdown(ssl_);  // sends close_notify; we do not wait for the peer's
    ERR_clear_error();
}

std::string TlsStream::describe() const {
    std::string out = SSL_get_version(ssl_);
    if (const SSL_CIPHER* c = SSL_get_current_cipher(ssl_)) {
        out += " ";
        out += SSL_CIPHER_get_name(c);
    }
    const unsigned char* alpn = nullptr;
    unsigned int alpn_len = 0;
    SSL_get0_alpn_selected(ssl_, &alpn, &alpn_len);
    if (alpn_len > 0) {
        out += " alpn=" + std::string(reinterpret_cast<const char*>(alpn), alpn_len);
    }
    return out;
}

}  // namespace lwgate::device
