// One bound listening socket (coap+tcp or coaps+tcp). Accepting runs on the control thread and
// puts each new socket straight onto the io_context of the shard chosen by the sink, so the
// shards never touch an acceptor. Accept errors such as EMFILE pause accepting briefly instead
// of spinning.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include "config/config.hpp"

namespace lwgate::net {

class TlsServerContext;

class Listener {
  public:
    // Picks the io_context (shard) the next accepted socket will live on.
    using ChooseContext = std::function<asio::io_context&()>;
    using OnAccept = std::function<void(Listener&, asio::ip::tcp::socket&&)>;

    Listener(asio::io_context& control, config::ListenerConfig config, TlsServerContext* tls,
             ChooseContext choose, OnAccept on_accept);

    std::error_code open();  // bind and listen; port 0 picks a free port
    void start();
    void stop();

    const config::ListenerConfig& config() const { return config_; }
    TlsServerContext* tls() const { return tls_; }
    bool is_tls() const { return tls_ != nullptr; }
    std::uint16_t port() const { return port_; }
    std::string bound_uri() const;  // with the real port
    // Accepting (started, not stopped, not pausing after an accept error). Any thread (admin).
    bool up() const { return up_.load(std::memory_order_relaxed); }

  private:
    void accept();

    asio::io_context& control_;
    config::ListenerConfig config_;
    TlsServerContext* tls_;
    ChooseContext choose_;
    OnAccept on_accept_;
    asio::ip::tcp::acceptor acceptor_;
    asio::steady_timer backoff_;
    std::uint16_t port_ = 0;
    bool stopped_ = false;
    std::atomic<bool> up_{false};
};

using ListenerPtr = std::unique_ptr<Listener>;

}  // namespace lwgate::net
