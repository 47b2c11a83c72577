// Server side of one TLS connection in which OpenSSL reads and writes the non-blocking socket
// itself (a small BIO of our own over recv/send), driven by the socket's readiness
// (async_wait) whenever OpenSSL answers WANT_READ or WANT_WRITE.
//
// Why not asio::ssl::stream: it feeds OpenSSL through a memory BIO pair and keeps two 17 KiB
// buffers per stream plus the pair's own, for the connection's whole life. Here OpenSSL owns
// the only buffers, and with SSL_MODE_RELEASE_BUFFERS (tls_context.cpp) it frees them whenever
// a read finds the socket empty and a write is complete, so an idle connection holds none:
// only the SSL object and its session.
//
// Threading and lifetime: like the socket, a stream is used from one thread (the shard's
// io_context) and must outlive its operations (DownstreamSession's handlers hold the session).
// At most one read, one write or shutdown, and no read or write before the handshake completed;
// reads and writes may overlap. Move only while no operation is pending.
//
// Errors (never exceptions): asio::error::eof for the peer's close_notify,
// asio::ssl::error::stream_truncated for a TCP close without close_notify, system errors
// (connection_reset, ...) as they come, TLS failures in asio::error::get_ssl_category() with
// OpenSSL's packed error code (its message names the alert or reason).
#pragma once

#include <cstddef>
#include <system_error>
#include <utility>

#include <openssl/ssl.h>
#include <asio/buffer.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/ssl/error.hpp>

namespace lwgate::net {

class TlsStream {
  public:
    using Socket = asio::ip::tcp::socket;

    // The socket is made non-blocking. An SSL object that cannot be created (out of memory)
    // makes the handshake fail; nothing throws.
    TlsStream(Socket&& socket, SSL_CTX* context);
    ~TlsStream();
    TlsStream(TlsStream&& other) noexcept;
    TlsStream& operator=(TlsStream&&) = delete;
    TlsStream(const TlsStream&) = delete;
    TlsStream& operator=(const TlsStream&) = delete;

    Socket& lowest_layer() { return socket_; }
    Socket& next_layer() { return socket_; }
    SSL* native_handle() { return ssl_; }

    // handler(std::error_code): the server handshake.
    template <class Handler>
    void async_handshake(Handler&& handler) {
        drive([this] { return handshake_step(); },
              [h = std::forward<Handler>(handler)](const std::error_code& ec, std::size_t) mutable {
                  h(ec);
              },
              true);
    }

    // Reactor-style reading: read_some() never blocks; on asio::error::would_block,
    // async_wait_readable() waits for what OpenSSL needs (usually readability, writability when
    // it must send first, e.g. an alert) and then read_some() is to be tried again. Loop until
    // would_block: OpenSSL may hold decrypted bytes that the socket no longer shows.
    std::size_t read_some(asio::mutable_buffer buffer, std::error_code& ec);
    // handler(std::error_code)
    template <class Handler>
    void async_wait_readable(Handler&& handler) {
        socket_.async_wait(read_wants_write_ ? Socket::wait_write : Socket::wait_read,
                           std::forward<Handler>(handler));
    }

    // handler(std::error_code, std::size_t): writes the whole buffer or fails. The buffer must
    // stay valid and unchanged until the handler runs (OpenSSL retries with the same bytes).
    template <class Handler>
    void async_write(asio::const_buffer buffer, Handler&& handler) {
        drive([this, buffer] { return write_step(buffer.data(), buffer.size()); },
              std::forward<Handler>(handler), true);
    }

    // handler(std::error_code): sends our close_notify; does not wait for the peer's (read on:
    // it arrives as eof). Only after a completed handshake and with no write in flight.
    template <class Handler>
    void async_shutdown(Handler&& handler) {
        drive([this] { return shutdown_step(); },
              [h = std::forward<Handler>(handler)](const std::error_code& ec, std::size_t) mutable {
                  h(ec);
              },
              true);
    }

  private:
    enum class Want { nothing, read, write };
    struct Step {
        Want want = Want::nothing;
        std::error_code ec;
        std::size_t bytes = 0;
    };

    Step handshake_step();
    Step write_step(const void* data, std::size_t size);
    Step shutdown_step();
    // Classifies a failed OpenSSL call (ret <= 0) and empties the thread's error queue.
    Step failed(int ret, int saved_errno);

    // Runs `step` until it no longer waits for the socket, then calls handler(ec, bytes): posted
    // when still inside the initiating call, directly from a completed wait otherwise.
    template <class StepFn, class Handler>
    void drive(StepFn step, Handler&& handler, bool initiating) {
        const Step s = step();
        if (s.want != Want::nothing) {
            socket_.async_wait(s.want == Want::read ? Socket::wait_read : Socket::wait_write,
                               [this, step, h = std::forward<Handler>(handler)](
                                   const std::error_code& ec) mutable {
                                   if (ec) {  // closed or cancelled: do not touch the SSL object
                                       h(ec, std::size_t{0});
                                       return;
                                   }
                                   drive(step, std::move(h), false);
                               });
            return;
        }
        if (initiating) {
            asio::post(socket_.get_executor(), [h = std::forward<Handler>(handler), ec = s.ec,
                                                n = s.bytes]() mutable { h(ec, n); });
        } else {
            handler(s.ec, s.bytes);
        }
    }

    Socket socket_;
    SSL* ssl_ = nullptr;
    bool read_wants_write_ = false;
};

}  // namespace lwgate::net
