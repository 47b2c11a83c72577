#include "admin_http/http_connection.hpp"

#include <limits>
#include <string_view>
#include <utility>

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "admin/router.hpp"
#include "admin_http/http_limits.hpp"

namespace lwgate::admin {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

std::string_view view(beast::string_view text) {
    return {text.data(), text.size()};
}

// "127.0.0.1:54321" or "[::1]:54321".
std::string peer_name(const tcp::socket& socket) {
    beast::error_code ec;
    const auto peer = socket.remote_endpoint(ec);
    if (ec) return "?";
    const auto address = peer.address().to_string();
    return (peer.address().is_v6() ? "[" + address + "]" : address) + ":" +
           std::to_string(peer.port());
}

ApiRequest api_request(const http::request<http::string_body>& req, std::string client) {
    const auto target = view(req.target());
    const auto question = target.find('?');
    ApiRequest out;
    out.method = std::string(view(req.method_string()));
    out.path = std::string(target.substr(0, question));
    if (question != std::string_view::npos) out.query = parse_query(target.substr(question + 1));
    out.body = req.body();
    out.client = std::move(client);
    return out;
}

}  // namespace

void Mailbox::post(std::function<void()> fn) {
    std::lock_guard lock(mutex_);
    if (io_) net::post(*io_, std::move(fn));
}

void Mailbox::close() {
    std::lock_guard lock(mutex_);
    io_ = nullptr;
}

HttpConnection::HttpConnection(tcp::socket socket, ServerContext& context)
    : context_(context),
      open_(context.open),
      answering_(context.answering),
      stream_(std::move(socket)),
      // Holds the headers whole (the parser needs them contiguous) and what is read after them.
      buffer_(2 * http_limits::max_header_bytes),
      answer_deadline_(stream_.get_executor()),
      client_(peer_name(stream_.socket())) {
    ++*open_;
}

HttpConnection::~HttpConnection() {
    answered();
    --*open_;
}

void HttpConnection::answered() {
    if (!counted_) return;
    counted_ = false;
    --*answering_;
}

void HttpConnection::start() {
    stream_.expires_after(http_limits::request_timeout);
    read_header();
}

// Between requests: the next one's first byte must come within the idle timeout, and then the
// whole request within the request timeout.
void HttpConnection::wait_for_request() {
    if (buffer_.size() > 0) {  // pipelined: already here
        stream_.expires_after(http_limits::request_timeout);
        return read_header();
    }
    stream_.expires_after(http_limits::idle_timeout);
    stream_.async_read_some(buffer_.prepare(http_limits::max_header_bytes),
                            [self = shared_from_this()](ErrorCode ec, std::size_t n) {
                                if (ec) return self->close();
                                self->buffer_.commit(n);
                                self->stream_.expires_after(http_limits::request_timeout);
                                self->read_header();
                            });
}

void HttpConnection::read_header() {
    parser_.emplace();
    parser_->header_limit(http_limits::max_header_bytes);
    // The body's limit is set once the token is checked: a Content-Length over it must not
    // answer 413 to a client that has no right to any answer but 401. (Not boost::none: Beast
    // 1.74 compares a Content-Length with it as if none were smaller than any number.)
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](ErrorCode ec, std::size_t) { self->on_header(ec); });
}

void HttpConnection::on_header(ErrorCode ec) {
    if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
        ec == beast::error::timeout || ec == net::error::operation_aborted ||
        ec == net::error::connection_reset)
        return close();  // nothing to answer, or no one to answer to
    if (ec == http::error::header_limit)
        return refuse(431, "the request line and headers exceed " +
                               std::to_string(http_limits::max_header_bytes) + " bytes");
    if (ec) return refuse(400, "malformed request: " + ec.message());
    const auto& req = parser_->get();
    version_ = req.version() == 10 ? 10 : 11;
    if (auto refused = context_.api.refuse(view(req[http::field::authorization]))) {
        spdlog::debug("admin {} {}: {}", client_, view(req.method_string()), refused->body);
        return answer(*refused, true);  // the body, if any, is never read
    }
    if (parser_->is_done()) return dispatch();
    if (parser_->content_length() && *parser_->content_length() > http_limits::max_body_bytes)
        return refuse(413,
                      "the body exceeds " + std::to_string(http_limits::max_body_bytes) + " bytes");
    parser_->body_limit(http_limits::max_body_bytes);
    if (!beast::iequals(req[http::field::expect], "100-continue")) return read_body();
    static constexpr std::string_view go_on = "HTTP/1.1 100 Continue\r\n\r\n";
    net::async_write(stream_, net::buffer(go_on.data(), go_on.size()),
                     [self = shared_from_this()](ErrorCode write_ec, std::size_t) {
                         if (write_ec) return self->close();
                         self->read_body();
                     });
}

void HttpConnection::read_body() {
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](ErrorCode ec, std::size_t) { self->on_body(ec); });
}

void HttpConnection::on_body(ErrorCode ec) {
    if (ec == http::error::body_limit)
        return refuse(413,
                      "the body exceeds " + std::to_string(http_limits::max_body_bytes) + " bytes");
    if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
        ec == beast::error::timeout || ec == net::error::operation_aborted ||
        ec == net::error::connection_reset)
        return close();
    if (ec) return refuse(400, "malformed request: " + ec.message());
    dispatch();
}

// The request runs on a worker: the Api blocks while the shards are asked. Health and metrics
// have workers of their own.
void HttpConnection::dispatch() {
    stream_.expires_never();  // the answer's time is the Api's to bound
    auto request = api_request(parser_->get(), client_);
    auto& pool = Api::is_probe(request.method, request.path) ? context_.probes : context_.operators;
    const auto serial = ++serial_;
    awaiting_ = true;
    if (!counted_) ++*answering_;
    counted_ = true;
    net::post(pool, [self = shared_from_this(), request = std::move(request), serial]() mutable {
        self->run(std::move(request), serial);
    });
}

// On a worker thread.
void HttpConnection::run(ApiRequest request, std::uint64_t serial) {
    auto mailbox = context_.mailbox;
    // Weak: a shard that never answers must not keep the connection open.
    auto later = [weak = weak_from_this(), mailbox, serial](Reply reply) {
        mailbox->post([weak, serial, reply = std::move(reply)]() mutable {
            if (auto self = weak.lock()) self->deliver(serial, std::move(reply));
        });
    };
    auto outcome = context_.api.handle(request, std::move(later));
    mailbox->post([self = shared_from_this(), serial, outcome = std::move(outcome)]() mutable {
        if (auto* reply = std::get_if<Reply>(&outcome)) return self->deliver(serial, *reply);
        self->defer(serial, std::get<Deferred>(std::move(outcome)));
    });
}

void HttpConnection::defer(std::uint64_t serial, Deferred deferred) {
    if (!awaiting_ || serial != serial_) return;  // answered already
    answer_deadline_.expires_after(deferred.deadline);
    answer_deadline_.async_wait(
        [self = shared_from_this(), serial, fallback = std::move(deferred.fallback)](ErrorCode ec) {
            if (!ec) self->deliver(serial, fallback);
        });
}

void HttpConnection::deliver(std::uint64_t serial, Reply reply) {
    if (!awaiting_ || serial != serial_) return;
    awaiting_ = false;
    answer_deadline_.cancel();
    answer(reply, !parser_->get().keep_alive());
}

void HttpConnection::refuse(int status, std::string message) {
    spdlog::debug("admin {}: {} {}", client_, status, message);
    answer(error_reply(status, std::move(message)), true);
}

void HttpConnection::answer(const Reply& reply, bool then_close) {
    response_ = {};
    response_.version(version_);
    response_.result(static_cast<unsigned>(reply.status));
    response_.set(http::field::content_type, reply.content_type);
    if (reply.challenge) response_.set(http::field::www_authenticate, "Bearer");
    if (!reply.allow.empty()) response_.set(http::field::allow, reply.allow);
    response_.body() = reply.body;
    response_.keep_alive(!then_close);
    response_.prepare_payload();
    stream_.expires_after(http_limits::write_timeout);
    http::async_write(stream_, response_,
                      [self = shared_from_this(), then_close](ErrorCode ec, std::size_t) {
                          self->answered();
                          if (ec || then_close) return self->close();
                          self->wait_for_request();
                      });
}

void HttpConnection::close() {
    ErrorCode ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
}

}  // namespace lwgate::admin
