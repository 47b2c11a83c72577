// One admin API connection (Boost.Beast on the admin server's io_context): reads a request
// within the limits of http_limits.hpp, checks the bearer token from the headers before any
// body is read, runs the request on a worker pool and writes the answer. Waiting (slow
// clients, keep-alive, a Ping waiting for its Pong) costs a timer, never a thread.
//
// Plain HTTP or, with admin.tls, HTTPS only: the same code over a TCP or a TLS stream, whose
// timeouts are the TCP stream's, so every limit bounds the TLS handshake and records too.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "admin/api.hpp"
#include "admin_http/http_limits.hpp"

namespace lwgate::admin {

// Posts into the server's io_context from other threads (worker pools, a shard finishing a
// Ping) for as long as the server runs; afterwards what is posted is dropped, so a late Pong
// never touches a destroyed io_context.
class Mailbox {
  public:
    explicit Mailbox(boost::asio::io_context& io) : io_(&io) {}
    void post(std::function<void()> fn);
    void close();

  private:
    std::mutex mutex_;
    boost::asio::io_context* io_;
};

// What every connection shares, owned by the server.
struct ServerContext {
    Api& api;
    boost::asio::thread_pool& probes;     // health, metrics
    boost::asio::thread_pool& operators;  // everything else
    std::shared_ptr<Mailbox> mailbox;
    // Connections, for the cap; shared because a connection may outlive the server's other
    // parts while it shuts down.
    std::shared_ptr<std::atomic<std::size_t>> open;
    // Requests taken on whose answer is not written yet: stopping waits for them, briefly.
    std::shared_ptr<std::atomic<std::size_t>> answering;
    // admin.tls: every connection starts with a TLS handshake. Null: plain HTTP.
    boost::asio::ssl::context* tls = nullptr;
};

using PlainStream = boost::beast::tcp_stream;
using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

template <class Stream>
class HttpConnection : public std::enable_shared_from_this<HttpConnection<Stream>> {
  public:
    HttpConnection(boost::asio::ip::tcp::socket socket, ServerContext& context);
    ~HttpConnection();
    HttpConnection(const HttpConnection&) = delete;
    HttpConnection& operator=(const HttpConnection&) = delete;

    void start();

  private:
    using Parser = boost::beast::http::request_parser<boost::beast::http::string_body>;
    using ErrorCode = boost::beast::error_code;
    static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

    boost::beast::tcp_stream& tcp_layer() { return boost::beast::get_lowest_layer(stream_); }
    void on_handshake(ErrorCode ec);
    void wait_for_request();
    void read_header();
    void on_header(ErrorCode ec);
    void read_body();
    void on_body(ErrorCode ec);
    void dispatch();
    void run(ApiRequest request, std::uint64_t serial);
    void defer(std::uint64_t serial, Deferred deferred);
    void deliver(std::uint64_t serial, Reply reply);
    void refuse(int status, std::string message);
    void answer(const Reply& reply, bool then_close);
    void close();
    void close_socket();
    void answered();

    ServerContext& context_;
    std::shared_ptr<std::atomic<std::size_t>> open_;
    std::shared_ptr<std::atomic<std::size_t>> answering_;
    Stream stream_;
    boost::beast::flat_buffer buffer_;
    std::optional<Parser> parser_;
    boost::beast::http::response<boost::beast::http::string_body> response_;
    boost::asio::steady_timer answer_deadline_;
    std::string client_;        // "127.0.0.1:54321"
    std::uint64_t serial_ = 0;  // the request being answered: a late answer to another is dropped
    bool awaiting_ = false;     // serial_ has no answer yet
    bool counted_ = false;      // in answering_
    unsigned version_ = 11;     // of the request: HTTP/1.0 or 1.1
    std::uint64_t body_limit_ = http_limits::max_body_bytes;  // of the request being read
    bool secured_ = false;      // TLS: the handshake is done and no close_notify sent yet
};

extern template class HttpConnection<PlainStream>;
extern template class HttpConnection<TlsStream>;

}  // namespace lwgate::admin
