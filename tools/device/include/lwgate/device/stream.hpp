// A device's byte stream over a connected non-blocking socket, plain (TcpStream) or TLS
// (TlsStream, OpenSSL: PSK, TLS 1.3 external PSK or a client certificate), so that its read/write
// loop is the same for both. The socket is the caller's: streams never close it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lwgate/device/device_error.hpp"
#include "lwgate/util/result.hpp"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace lwgate::device {

enum class IoStatus { ok, want_read, want_write, eof, error };

struct IoResult {
    IoStatus status = IoStatus::ok;
    std::size_t bytes = 0;
    int error = 0;       // errno for socket errors
    std::string detail;  // OpenSSL error text for TLS errors
};

class Stream {
  public:
    virtual ~Stream() = default;
    // Drives the handshake; ok when it is complete.
    virtual IoResult handshake() { return {}; }
    virtual IoResult read(std::uint8_t* data, std::size_t size) = 0;
    virtual IoResult write(const std::uint8_t* data, std::size_t size) = 0;
    // TLS: queue a close_notify (best effort, never blocks).
    virtual void close_notify() {}
    // "tcp" or e.g. "TLSv1.3 TLS_AES_128_GCM_SHA256 alpn=coap".
    virtual std::string describe() const { return "tcp"; }
};

class TcpStream final : public Stream {
  public:
    explicit TcpStream(int fd) : fd_(fd) {}
    IoResult read(std::uint8_t* data, std::size_t size) override;
    IoResult write(const std::uint8_t* data, std::size_t size) override;

  private:
    int fd_;
};

enum class TlsVersion { any, tls1_2, tls1_3 };

struct Psk {
    std::string identity;
    std::vector<std::uint8_t> key;  // raw key bytes (see parse_hex)
};

struct TlsOptions {
    // External PSK, used when psk_identity is non-empty.
    std::string psk_identity;
    std::vector<std::uint8_t> psk_key;
    // Each TlsStream::create() brings its own Psk (a fleet sharing one context).
    bool psk_per_connection = false;
    // Client certificate (PEM chain) and key, used when certificate_file is non-empty.
    std::string certificate_file;
    std::string private_key_file;
    // CA bundle (PEM) to verify the server with, including its name/IP (server_name, else host).
    // Empty = no server verification (PSK only, or certificates in tests).
    std::string ca_file;
    std::string server_name;  // SNI and verification name; default: host unless it is an IP
    TlsVersion version = TlsVersion::any;
    // Overrides of OpenSSL's lists. Empty = the RFC 7925 profile and friends (PSK-AES128-CCM8,
    // PSK-AES128-GCM-SHA256, ... plus ECDHE certificate suites) / TLS_AES_128_GCM_SHA256:...
    std::string cipher_list;                // TLS 1.2
    std::string ciphersuites;               // TLS 1.3
    std::vector<std::string> alpn{"coap"};  // RFC 8323 §8.2; empty = no ALPN extension
};

// An SSL_CTX built from TlsOptions, shared by many connections.
class TlsClientContext {
  public:
    // The context, or which step failed (DeviceErrc) with OpenSSL's words in the detail.
    static Result<std::shared_ptr<TlsClientContext>, Error> create(const TlsOptions& options);
    ~TlsClientContext();
    TlsClientContext(const TlsClientContext&) = delete;
    TlsClientContext& operator=(const TlsClientContext&) = delete;

    SSL_CTX* native() const { return ctx_; }
    const TlsOptions& options() const { return options_; }

  private:
    TlsClientContext() = default;
    SSL_CTX* ctx_ = nullptr;
    TlsOptions options_;
};

class TlsStream final : public Stream {
  public:
    // `host` is used for SNI / verification unless options().server_name is set; `psk`, when
    // given, replaces the context's. Fails with DeviceErrc::tls_connection.
    static Result<std::unique_ptr<TlsStream>, Error> create(
        std::shared_ptr<TlsClientContext> context, int fd, const std::string& host,
        std::optional<Psk> psk = std::nullopt);
    ~TlsStream() override;

    IoResult handshake() override;
    IoResult read(std::uint8_t* data, std::size_t size) override;
    IoResult write(const std::uint8_t* data, std::size_t size) override;
    void close_notify() override;
    std::string describe() const override;
    const Psk& psk() const { return psk_; }

  private:
    TlsStream() = default;
    IoResult translate(int ret, const char* what);

    std::shared_ptr<TlsClientContext> context_;
    SSL* ssl_ = nullptr;
    Psk psk_;
};

}  // namespace lwgate::device
