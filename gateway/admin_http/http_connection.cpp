#include "admin_http/http_connection.hpp"

#include <limits>
#include <string_view>
#include <type_traits>
#include <utility>

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
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

// The client went, its time ran out or its TLS session broke: nothing to answer, or no one to
// answer to. (A TLS client that closes without close_notify reads as stream_truncated.)
bool gone(beast::error_code ec) {
    return ec == http::error::end_of_stream || ec == http::error::partial_message ||
           ec == beast::error::timeout || ec == net::error::operation_aborted ||
           ec == net::error::connection_reset || ec.category() == net::error::get_ssl_category() ||
           ec.category() == net::ssl::error::get_stream_category();
}

// A TLS stream needs the server's context; a plain one only the socket.
template <class Stream>
Stream make_stream(tcp::socket socket, ServerContext& context) {
    if constexpr (std::is_same_v<Stream, TlsStream>) {
        return Stream(std::move(socket), *context.tls);
    } else {
        return Stream(std::move(socket));
    }
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

template <class Stream>
HttpConnection<Stream>::HttpConnection(tcp::socket socket, ServerContext& context)
    : context_(context),
      open_(context.open),
      answering_(context.answering),
      stream_(make_stream<Stream>(std::move(socket), context)),
      // Holds the headers whole (the parser needs them contiguous) and what is read after them.
      buffer_(2 * http_limits::max_header_bytes),
      answer_deadline_(stream_.get_executor()),
      client_(peer_name(tcp_layer().socket())) {
    ++*open_;
}

template <class Stream>
HttpConnection<Stream>::~HttpConnection() {
    answered();
    --*open_;
}

template <class Stream>
void HttpConnection<Stream>::answered() {
    if (!counted_) return;
    counted_ = false;
    --*answering_;
}

template <class Stream>
void HttpConnection<Stream>::start() {
    // Counted from the accept, the handshake included: a client that connects and says nothing,
    // or never finishes its handshake, is closed after it as with plain HTTP.
    tcp_layer().expires_after(http_limits::request_timeout);
    if constexpr (kTls) {
        stream_.async_handshake(
            net::ssl::stream_base::server,
            [self = this->shared_from_this()](ErrorCode ec) { self->on_handshake(ec); });
    } else {
        read_header();
    }
}

template <class Stream>
void HttpConnection<Stream>::on_handshake(ErrorCode ec) {
    if (ec) {
        // Plain HTTP to the HTTPS port ends here too: there is no TLS to answer it over.
        spdlog::debug("admin {}: TLS handshake failed: {}", client_, ec.message());
        return close();
    }
    secured_ = true;
    read_header();
}

// Between requests: the next one's first byte must come within the idle timeout, and then the
// whole request within the request timeout.
template <class Stream>
void HttpConnection<Stream>::wait_for_request() {
    if (buffer_.size() > 0) {  // pipelined: already here
        tcp_layer().expires_after(http_limits::request_timeout);
        return read_header();
    }
    tcp_layer().expires_after(http_limits::idle_timeout);
    stream_.async_read_some(buffer_.prepare(http_limits::max_header_bytes),
                            [self = this->shared_from_this()](ErrorCode ec, std::size_t n) {
                                if (ec) return self->close();
                                self->buffer_.commit(n);
                                self->tcp_layer().expires_after(http_limits::request_timeout);
                                self->read_header();
                            });
}

template <class Stream>
void HttpConnection<Stream>::read_header() {
    parser_.emplace();
    parser_->header_limit(http_limits::max_header_bytes);
    // The body's limit is set once the token is checked: a Content-Length over it must not
    // answer 413 to a client that has no right to any answer but 401. (Not boost::none: Beast
    // 1.74 compares a Content-Length with it as if none were smaller than any number.)
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](ErrorCode ec, std::size_t) { self->on_header(ec); });
}

template <class Stream>
void HttpConnection<Stream>::on_header(ErrorCode ec) {
    if (gone(ec)) return close();
    if (ec == http::error::header_limit)
        return refuse(431, "the request line and headers exceed " +
                               std::to_string(http_limits::max_header_bytes) + " bytes");
    if (ec) return refuse(400, "malformed request: " + ec.message());
    const auto& req = parser_->get();
    version_ = req.version() == 10 ? 10 : 11;
    const auto target = view(req.target());
    const auto path = target.substr(0, target.find('?'));
    auto refused = Api::needs_token(view(req.method_string()), path)
                       ? context_.api.refuse(view(req[http::field::authorization]))
                       : std::nullopt;
    if (refused) {
        context_.api.log_unauthorized(client_, view(req.method_string()), path,
                                      view(req[http::field::authorization]).empty()
                                          ? "missing bearer token"
                                          : "wrong bearer token",
                                      Clock::now());
        return answer(*refused, true);  // the body, if any, is never read
    }
    if (parser_->is_done()) return dispatch();
    body_limit_ =
        Api::body_limit(view(req.method_string()), path).value_or(http_limits::max_body_bytes);
    if (parser_->content_length() && *parser_->content_length() > body_limit_)
        return refuse(413, "the body exceeds " + std::to_string(body_limit_) + " bytes");
    parser_->body_limit(body_limit_);
    if (!beast::iequals(req[http::field::expect], "100-continue")) return read_body();
    static constexpr std::string_view go_on = "HTTP/1.1 100 Continue\r\n\r\n";
    net::async_write(stream_, net::buffer(go_on.data(), go_on.size()),
                     [self = this->shared_from_this()](ErrorCode write_ec, std::size_t) {
                         if (write_ec) return self->close();
                         self->read_body();
                     });
}

template <class Stream>
void HttpConnection<Stream>::read_body() {
    http::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](ErrorCode ec, std::size_t) { self->on_body(ec); });
}

template <class Stream>
void HttpConnection<Stream>::on_body(ErrorCode ec) {
    if (ec == http::error::body_limit)
        return refuse(413, "the body exceeds " + std::to_string(body_limit_) + " bytes");
    if (gone(ec)) return close();
    if (ec) return refuse(400, "malformed request: " + ec.message());
    dispatch();
}

// The request runs on a worker: the Api blocks while the shards are asked. Health and metrics
// have workers of their own.
template <class Stream>
void HttpConnection<Stream>::dispatch() {
    tcp_layer().expires_never();  // the answer's time is the Api's to bound
    auto request = api_request(parser_->get(), client_);
    auto& pool = Api::is_probe(request.method, request.path) ? context_.probes : context_.operators;
    const auto serial = ++serial_;
    awaiting_ = true;
    if (!counted_) ++*answering_;
    counted_ = true;
    net::post(pool, [self = this->shared_from_this(), request = std::move(request),
                     serial]() mutable { self->run(std::move(request), serial); });
}

// On a worker thread.
template <class Stream>
void HttpConnection<Stream>::run(ApiRequest request, std::uint64_t serial) {
    auto mailbox = context_.mailbox;
    // Weak: a shard that never answers must not keep the connection open.
    auto later = [weak = this->weak_from_this(), mailbox, serial](Reply reply) {
        mailbox->post([weak, serial, reply = std::move(reply)]() mutable {
            if (auto self = weak.lock()) self->deliver(serial, std::move(reply));
        });
    };
    auto outcome = context_.api.handle(request, std::move(later));
    mailbox->post(
        [self = this->shared_from_this(), serial, outcome = std::move(outcome)]() mutable {
            if (auto* reply = std::get_if<Reply>(&outcome)) return self->deliver(serial, *reply);
            self->defer(serial, std::get<Deferred>(std::move(outcome)));
        });
}

template <class Stream>
void HttpConnection<Stream>::defer(std::uint64_t serial, Deferred deferred) {
    if (!awaiting_ || serial != serial_) return;  // answered already
    answer_deadline_.expires_after(deferred.deadline);
    answer_deadline_.async_wait([self = this->shared_from_this(), serial,
                                 fallback = std::move(deferred.fallback)](ErrorCode ec) {
        if (!ec) self->deliver(serial, fallback);
    });
}

template <class Stream>
void HttpConnection<Stream>::deliver(std::uint64_t serial, Reply reply) {
    if (!awaiting_ || serial != serial_) return;
    awaiting_ = false;
    answer_deadline_.cancel();
    answer(reply, !parser_->get().keep_alive());
}

template <class Stream>
void HttpConnection<Stream>::refuse(int status, std::string message) {
    spdlog::debug("admin {}: {} {}", client_, status, message);
    answer(error_reply(status, std::move(message)), true);
}

template <class Stream>
void HttpConnection<Stream>::answer(const Reply& reply, bool then_close) {
    response_ = {};
    response_.version(version_);
    response_.result(static_cast<unsigned>(reply.status));
    response_.set(http::field::content_type, reply.content_type);
    if (reply.challenge) response_.set(http::field::www_authenticate, "Bearer");
    if (!reply.allow.empty()) response_.set(http::field::allow, reply.allow);
    for (const auto& [name, value] : reply.headers)
        response_.set(name, value);
    response_.body() = reply.body;
    response_.keep_alive(!then_close);
    response_.prepare_payload();
    tcp_layer().expires_after(http_limits::write_timeout);
    http::async_write(stream_, response_,
                      [self = this->shared_from_this(), then_close](ErrorCode ec, std::size_t) {
                          self->answered();
                          if (ec || then_close) return self->close();
                          self->wait_for_request();
                      });
}

template <class Stream>
void HttpConnection<Stream>::close() {
    if constexpr (kTls) {
        if (secured_) {
            // close_notify, so that the client can tell the end of the answer from a cut; one
            // that does not answer it is cut after the idle timeout.
            secured_ = false;
            tcp_layer().expires_after(http_limits::idle_timeout);
            return stream_.async_shutdown(
                [self = this->shared_from_this()](ErrorCode) { self->close_socket(); });
        }
    }
    close_socket();
}

template <class Stream>
void HttpConnection<Stream>::close_socket() {
    ErrorCode ignored;
    tcp_layer().socket().shutdown(tcp::socket::shutdown_send, ignored);
    tcp_layer().close();
}

template class HttpConnection<PlainStream>;
template class HttpConnection<TlsStream>;

}  // namespace lwgate::admin
