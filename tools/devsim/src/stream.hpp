// Byte streams over a non-blocking connected socket: plain TCP and a TLS client (OpenSSL).
// Private to the simulator. The socket descriptor is owned by the caller (Connection).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <variant>

#include "lwgate/devsim/device_simulator.hpp"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace lwgate::devsim::detail {

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

// An SSL_CTX built from TlsOptions, shared by the connections of one simulator.
class TlsClientContext {
  public:
    // Returns the context or an error text.
    static std::variant<std::shared_ptr<TlsClientContext>, std::string> create(
        const TlsOptions& options);
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
    // `host` is used for SNI / verification unless options().server_name is set.
    static std::variant<std::unique_ptr<TlsStream>, std::string> create(
        std::shared_ptr<TlsClientContext> context, int fd, const std::string& host);
    ~TlsStream() override;

    IoResult handshake() override;
    IoResult read(std::uint8_t* data, std::size_t size) override;
    IoResult write(const std::uint8_t* data, std::size_t size) override;
    void close_notify() override;
    std::string describe() const override;

  private:
    TlsStream() = default;
    IoResult translate(int ret, const char* what);

    std::shared_ptr<TlsClientContext> context_;
    SSL* ssl_ = nullptr;
};

}  // namespace lwgate::devsim::detail
