#include "net/listener.hpp"

#include <sys/socket.h>

#include <spdlog/spdlog.h>
#include <asio/detail/socket_option.hpp>
#include <asio/ip/address.hpp>

namespace lwgate::net {

Listener::Listener(asio::io_context& control, config::ListenerConfig config, TlsServerContext* tls,
                   ChooseContext choose, OnAccept on_accept)
    : control_(control),
      config_(std::move(config)),
      tls_(tls),
      choose_(std::move(choose)),
      on_accept_(std::move(on_accept)),
      acceptor_(control),
      backoff_(control) {}

std::error_code Listener::open() {
    std::error_code ec;
    auto address = asio::ip::make_address(config_.endpoint.host, ec);
    if (ec) {
        asio::ip::tcp::resolver resolver(control_);
        auto results = resolver.resolve(config_.endpoint.host, "", ec);
        if (ec || results.empty()) return ec ? ec : asio::error::host_not_found;
        address = results.begin()->endpoint().address();
    }
    const asio::ip::tcp::endpoint endpoint(address, config_.endpoint.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec && config_.reuse_port) {
        // Before bind: the kernel only lets sockets that all asked for it share the port.
        acceptor_.set_option(asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true),
                             ec);
    }
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return ec;
    port_ = acceptor_.local_endpoint(ec).port();
    return ec;
}

std::string Listener::bound_uri() const {
    const char* scheme = tls_ ? "coaps+tcp" : "coap+tcp";
    const auto& host = config_.endpoint.host;
    const bool v6 = host.find(':') != std::string::npos;
    return std::string(scheme) + "://" + (v6 ? "[" + host + "]" : host) + ":" +
           std::to_string(port_);
}

void Listener::start() {
    up_.store(true, std::memory_order_relaxed);
    accept();
}

void Listener::stop() {
    stopped_ = true;
    up_.store(false, std::memory_order_relaxed);
    std::error_code ignored;
    backoff_.cancel();
    acceptor_.close(ignored);
}

void Listener::accept() {
    if (stopped_) return;
    acceptor_.async_accept(
        choose_(), [this](const std::error_code& ec, asio::ip::tcp::socket socket) {
            if (stopped_ || ec == asio::error::operation_aborted) return;
            if (ec) {
                // EMFILE/ENFILE/ENOBUFS: the condition persists; retrying at once would spin.
                spdlog::warn("accept on {} failed: {}; pausing 100ms", bound_uri(), ec.message());
                up_.store(false, std::memory_order_relaxed);
                backoff_.expires_after(std::chrono::milliseconds(100));
                backoff_.async_wait([this](const std::error_code& e) {
                    if (e) return;
                    up_.store(!stopped_, std::memory_order_relaxed);
                    accept();
                });
                return;
            }
            up_.store(true, std::memory_order_relaxed);
            on_accept_(*this, std::move(socket));
            accept();
        });
}

}  // namespace lwgate::net
