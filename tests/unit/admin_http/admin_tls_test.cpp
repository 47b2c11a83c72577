// AdminServer with a TLS context (admin.tls): https:// in its URL, a request answered over a TLS
// 1.2+ session, nothing for a client that speaks plain HTTP, and a stop/start that keeps the
// context usable. A self-signed certificate made in memory; loopback only.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

#include "admin_http/admin_server.hpp"
#include "support/loopback_http.hpp"
#include "unit/admin/no_backend.hpp"

namespace lwgate::admin {
namespace {

config::AdminConfig on_loopback() {
    config::AdminConfig c;
    c.host = "127.0.0.1";
    c.port = 0;
    c.listen = "127.0.0.1:0";
    return c;
}

// A server context with a fresh P-256 key and a self-signed certificate for it.
std::shared_ptr<SSL_CTX> self_signed_context() {
    std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
    std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
    X509_set_pubkey(cert.get(), key.get());
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
    X509_set_issuer_name(cert.get(), name);
    X509_sign(cert.get(), key.get(), EVP_sha256());
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
    EXPECT_EQ(SSL_CTX_use_certificate(ctx.get(), cert.get()), 1);
    EXPECT_EQ(SSL_CTX_use_PrivateKey(ctx.get(), key.get()), 1);
    return ctx;
}

const std::string kRequest = "GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

// The answer to one request over TLS (no verification: the test only checks the transport), or
// "" when the handshake fails.
std::string https_get(std::uint16_t port) {
    std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                          SSL_CTX_free);
    std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
    const int fd = loopback::connect(port);
    SSL_set_fd(ssl.get(), fd);
    std::string reply;
    if (SSL_connect(ssl.get()) == 1) {
        EXPECT_GE(SSL_version(ssl.get()), TLS1_2_VERSION);
        SSL_write(ssl.get(), kRequest.data(), static_cast<int>(kRequest.size()));
        char buffer[4096];
        for (int n; (n = SSL_read(ssl.get(), buffer, sizeof buffer)) > 0;)
            reply.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return reply;
}

std::string plain_get(std::uint16_t port) {
    return loopback::exchange(port, kRequest);
}

TEST(AdminTlsServer, AnswersOverTlsOnly) {
    NoBackend backend;
    AdminServer server(on_loopback(), backend, self_signed_context());
    auto started = server.start();
    ASSERT_TRUE(started) << started.error().message();
    EXPECT_EQ(server.url().rfind("https://127.0.0.1:", 0), 0u) << server.url();
    const auto port = loopback::port_of(server.url());
    EXPECT_EQ(https_get(port).rfind("HTTP/1.1 ", 0), 0u);
    EXPECT_EQ(plain_get(port).find("HTTP/1."), std::string::npos) << "an answer in clear";
}

TEST(AdminTlsServer, StopAndStartAgainKeepsTheContext) {
    NoBackend backend;
    AdminServer server(on_loopback(), backend, self_signed_context());
    ASSERT_TRUE(server.start());
    server.stop();
    ASSERT_TRUE(server.start());
    EXPECT_EQ(https_get(loopback::port_of(server.url())).rfind("HTTP/1.1 ", 0), 0u);
}

}  // namespace
}  // namespace lwgate::admin
