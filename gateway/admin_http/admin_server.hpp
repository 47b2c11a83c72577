// The admin API's HTTP server: Boost.Beast on an io_context and a thread of its own, so slow,
// idle or waiting clients cost timers rather than threads; requests run on two small worker
// pools (health and metrics apart), and collecting data never blocks a shard (see Backend).
// Limits: http_limits.hpp. What each request does: Api. With a TLS context it speaks HTTPS
// only, under the same limits.
#pragma once

#include <memory>
#include <string>

#include "admin/admin_error.hpp"
#include "admin/backend.hpp"
#include "config/config.hpp"
#include "lwgate/util/result.hpp"

// OpenSSL's SSL_CTX, declared only: this header is included next to standalone Asio (app/), which
// cannot share a translation unit with Boost.Asio.
struct ssl_ctx_st;

namespace lwgate::admin {

class AdminServer {
  public:
    // `tls`: admin.tls's context (the caller makes it from the files, net::make_https_context)
    // and the server serves HTTPS only; null: plain HTTP.
    AdminServer(const config::AdminConfig& config, Backend& backend,
                std::shared_ptr<ssl_ctx_st> tls = nullptr);
    ~AdminServer();
    AdminServer(const AdminServer&) = delete;
    AdminServer& operator=(const AdminServer&) = delete;

    // Binds (port 0: any free port) and starts serving. AdminErrc::cannot_resolve or cannot_bind
    // on failure.
    Result<void, Error> start();
    void stop();
    std::string url() const;  // "http://127.0.0.1:8484", "https://[::1]:8484"

  private:
    struct Impl;

    config::AdminConfig config_;
    Backend& backend_;
    std::shared_ptr<ssl_ctx_st> tls_;
    std::unique_ptr<Impl> impl_;
    int port_ = 0;
};

}  // namespace lwgate::admin
