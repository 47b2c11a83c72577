#include "admin_http/admin_server.hpp"

#include <chrono>
#include <optional>
#include <thread>

#include <spdlog/spdlog.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "admin/api.hpp"
#include "admin_http/http_connection.hpp"
#include "admin_http/http_limits.hpp"

namespace lwgate::admin {

namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

// Boost.Asio's context around the caller's SSL_CTX, with a reference of its own (it frees one).
std::optional<net::ssl::context> boost_context(const std::shared_ptr<ssl_ctx_st>& tls) {
    if (!tls) return std::nullopt;
    SSL_CTX_up_ref(tls.get());
    return std::optional<net::ssl::context>(std::in_place, tls.get());
}

}  // namespace

struct AdminServer::Impl {
    Impl(const std::string& token, Backend& backend, const std::shared_ptr<ssl_ctx_st>& ssl)
        : tls(boost_context(ssl)),
          api(token, backend),
          mailbox(std::make_shared<Mailbox>(io)),
          context{api,
                  probes,
                  operators,
                  mailbox,
                  std::make_shared<std::atomic<std::size_t>>(0),
                  std::make_shared<std::atomic<std::size_t>>(0),
                  tls ? &*tls : nullptr} {}

    Result<void, Error> bind(const std::string& host, std::uint16_t port);
    void accept();
    void admit(tcp::socket socket);
    void shut_down();
    void let_answers_out();

    // In this order so that, after shut_down(), the pools' dropped requests (which hold
    // connections, whose sockets belong to `io`) go before `io`, and `io` before `api` and `tls`.
    std::optional<net::ssl::context> tls;
    Api api;
    net::io_context io;
    // While a worker prepares an answer no operation is pending on `io`: without this it would
    // run out of work and return, and the answer would never be written.
    net::executor_work_guard<net::io_context::executor_type> busy{io.get_executor()};
    std::shared_ptr<Mailbox> mailbox;
    net::thread_pool probes{http_limits::probe_threads};
    net::thread_pool operators{http_limits::operator_threads};
    ServerContext context;
    tcp::acceptor acceptor{io};
    net::steady_timer retry{io};
    std::chrono::steady_clock::time_point last_refusal_log{};
    std::size_t refused_since_log = 0;
    std::thread thread;
};

// The detail is the system's words only: start() says which setting it was.
Result<void, Error> AdminServer::Impl::bind(const std::string& host, std::uint16_t port) {
    boost::system::error_code ec;
    tcp::resolver resolver(io);
    const auto found = resolver.resolve(host, std::to_string(port), tcp::resolver::passive, ec);
    if (ec) return fail(Error{AdminErrc::cannot_resolve, ec.message()});
    for (const auto& entry : found) {
        acceptor.close(ec);
        acceptor.open(entry.endpoint().protocol(), ec);
        if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
        if (!ec) acceptor.bind(entry.endpoint(), ec);
        if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
        if (!ec) return {};
    }
    acceptor.close();
    if (!ec) return fail(Error{AdminErrc::cannot_resolve, "no address"});
    return fail(Error{AdminErrc::cannot_bind, ec.message()});
}

void AdminServer::Impl::accept() {
    acceptor.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
        if (!acceptor.is_open()) return;
        if (!ec) {
            admit(std::move(socket));
            return accept();
        }
        // Out of descriptors (EMFILE) leaves the connection in the backlog: accepting again at
        // once would spin.
        spdlog::warn("admin API: accept failed: {}", ec.message());
        retry.expires_after(std::chrono::milliseconds(100));
        retry.async_wait([this](boost::system::error_code) { accept(); });
    });
}

// Beyond the cap a connection is closed before anything is read from it: it costs one accept.
void AdminServer::Impl::admit(tcp::socket socket) {
    if (context.open->load() < http_limits::max_connections) {
        if (context.tls) {
            std::make_shared<HttpConnection<TlsStream>>(std::move(socket), context)->start();
        } else {
            std::make_shared<HttpConnection<PlainStream>>(std::move(socket), context)->start();
        }
        return;
    }
    boost::system::error_code ignored;
    socket.close(ignored);
    ++refused_since_log;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_refusal_log < std::chrono::minutes(1)) return;
    spdlog::warn("admin API: {} connection(s) refused: {} open, the limit", refused_since_log,
                 http_limits::max_connections);
    last_refusal_log = now;
    refused_since_log = 0;
}

// A drain stops the process right after its request is taken; its 202 (and any other answer
// under way) should still reach the client. Nothing new is accepted meanwhile.
void AdminServer::Impl::let_answers_out() {
    net::post(io, [this] {
        boost::system::error_code ignored;
        acceptor.close(ignored);
        retry.cancel();
    });
    const auto give_up = std::chrono::steady_clock::now() + http_limits::shutdown_grace;
    while (context.answering->load() > 0 && std::chrono::steady_clock::now() < give_up)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

void AdminServer::Impl::shut_down() {
    let_answers_out();
    busy.reset();
    io.stop();
    if (thread.joinable()) thread.join();
    // Requests still running finish their collection (2 s at most); queued ones are dropped.
    probes.stop();
    operators.stop();
    probes.join();
    operators.join();
    mailbox->close();
}

AdminServer::AdminServer(const config::AdminConfig& config, Backend& backend,
                         std::shared_ptr<ssl_ctx_st> tls)
    : config_(config), backend_(backend), tls_(std::move(tls)) {}

AdminServer::~AdminServer() {
    stop();
}

Result<void, Error> AdminServer::start() {
    impl_ = std::make_unique<Impl>(config_.token, backend_, tls_);
    if (auto bound = impl_->bind(config_.host, config_.port); !bound) {
        impl_.reset();
        Error error = std::move(bound).error();
        error.detail = "cannot bind admin.listen " + config_.listen + ": " + error.detail;
        return fail(std::move(error));
    }
    port_ = impl_->acceptor.local_endpoint().port();
    impl_->accept();
    impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
    return {};
}

void AdminServer::stop() {
    if (!impl_) return;
    impl_->shut_down();
    impl_.reset();
}

std::string AdminServer::url() const {
    const bool v6 = config_.host.find(':') != std::string::npos;
    return std::string(tls_ ? "https://" : "http://") +
           (v6 ? "[" + config_.host + "]" : config_.host) + ":" + std::to_string(port_);
}

}  // namespace lwgate::admin
