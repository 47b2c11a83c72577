#include "net/handshake_rejection.hpp"

#include <openssl/err.h>
#include <asio/ssl/error.hpp>

namespace lwgate::net {

namespace {

int rejection_index() {
    static const int index = SSL_get_ex_new_index(
        0, nullptr, nullptr, nullptr, [](void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
            delete static_cast<HandshakeRejection*>(ptr);
        });
    return index;
}

HandshakeRejection& noted(SSL* ssl) {
    auto* rejection = static_cast<HandshakeRejection*>(SSL_get_ex_data(ssl, rejection_index()));
    if (!rejection) {
        rejection = new HandshakeRejection();
        SSL_set_ex_data(ssl, rejection_index(), rejection);
    }
    return *rejection;
}

std::string common_name(X509* cert) {
    X509_NAME* subject = cert ? X509_get_subject_name(cert) : nullptr;
    if (!subject) return {};
    char buf[256];
    const int n = X509_NAME_get_text_by_NID(subject, NID_commonName, buf, sizeof buf);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

}  // namespace

void note_unknown_psk_identity(SSL* ssl, std::string_view identity) {
    if (!ssl) return;
    noted(ssl).unknown_psk_identity = std::string(identity.substr(0, max_noted_identity));
}

int note_certificate_verdict(int preverify_ok, X509_STORE_CTX* store) {
    if (preverify_ok) return preverify_ok;
    auto* ssl =
        static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
    if (!ssl) return preverify_ok;
    auto& rejection = noted(ssl);
    if (rejection.certificate_rejected) return preverify_ok;  // the first reason is the one
    rejection.certificate_rejected = true;
    rejection.certificate_cn = common_name(X509_STORE_CTX_get0_cert(store));
    rejection.certificate_error = X509_verify_cert_error_string(X509_STORE_CTX_get_error(store));
    return preverify_ok;
}

const HandshakeRejection* noted_rejection(SSL* ssl) {
    return ssl ? static_cast<const HandshakeRejection*>(SSL_get_ex_data(ssl, rejection_index()))
               : nullptr;
}

bool is_certificate_error(const std::error_code& ec) {
    if (ec.category() != asio::error::get_ssl_category()) return false;
    const auto reason = ERR_GET_REASON(static_cast<unsigned long>(ec.value()));
    return reason == SSL_R_CERTIFICATE_VERIFY_FAILED ||
           reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE;
}

}  // namespace lwgate::net
