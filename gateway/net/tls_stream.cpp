#include "net/tls_stream.hpp"

#include <cerrno>
#include <cstdint>

#include <sys/socket.h>

#include <openssl/bio.h>
#include <openssl/err.h>

namespace lwgate::net {

namespace {

// A BIO over the socket descriptor. OpenSSL's own socket BIO writes with write(2), which raises
// SIGPIPE on a connection the peer reset; send() with MSG_NOSIGNAL does not.
int fd_of(BIO* bio) {
    return static_cast<int>(reinterpret_cast<std::intptr_t>(BIO_get_data(bio)));
}

bool is_retry(int err) {
    return err == EAGAIN || err == EWOULDBLOCK;
}

int socket_write(BIO* bio, const char* data, int size) {
    BIO_clear_retry_flags(bio);
    ssize_t n;
    do {  // retried at once: after EINTR an edge-triggered wait might not fire again
        n = ::send(fd_of(bio), data, static_cast<std::size_t>(size), MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && is_retry(errno)) BIO_set_retry_write(bio);
    return static_cast<int>(n);
}

int socket_read(BIO* bio, char* data, int size) {
    BIO_clear_retry_flags(bio);
    ssize_t n;
    do {
        n = ::recv(fd_of(bio), data, static_cast<std::size_t>(size), 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && is_retry(errno)) BIO_set_retry_read(bio);
    // OpenSSL asks BIO_eof() to tell a TCP close from an error (unexpected EOF).
    if (n == 0) BIO_set_flags(bio, BIO_FLAGS_IN_EOF);
    return static_cast<int>(n);
}

long socket_ctrl(BIO* bio, int cmd, long, void*) {
    switch (cmd) {
        case BIO_CTRL_FLUSH:  // nothing buffered here
            return 1;
        case BIO_CTRL_EOF:
            return BIO_test_flags(bio, BIO_FLAGS_IN_EOF) != 0 ? 1 : 0;
        default:  // no kTLS, no pending bytes, no descriptor handover
            return 0;
    }
}

int socket_create(BIO* bio) {
    BIO_set_init(bio, 1);
    return 1;
}

// Built once, shared by every stream and thread (BIO_METHOD is read-only after set-up).
const BIO_METHOD* socket_method() {
    static BIO_METHOD* method = [] {
        BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "lwgate socket");
        if (m) {
            BIO_meth_set_write(m, socket_write);
            BIO_meth_set_read(m, socket_read);
            BIO_meth_set_ctrl(m, socket_ctrl);
            BIO_meth_set_create(m, socket_create);
        }
        return m;
    }();
    return method;
}

}  // namespace

TlsStream::TlsStream(Socket&& socket, SSL_CTX* context) : socket_(std::move(socket)) {
    std::error_code ignored;
    socket_.non_blocking(true, ignored);
    ERR_clear_error();
    const BIO_METHOD* method = socket_method();
    BIO* bio = method ? BIO_new(method) : nullptr;
    ssl_ = bio ? SSL_new(context) : nullptr;
    if (!ssl_) {
        BIO_free(bio);
        ERR_clear_error();
        return;
    }
    BIO_set_data(bio, reinterpret_cast<void*>(static_cast<std::intptr_t>(socket_.native_handle())));
    SSL_set_bio(ssl_, bio, bio);  // one BIO for both directions; the SSL object owns it
    SSL_set_accept_state(ssl_);
}

TlsStream::~TlsStream() {
    SSL_free(ssl_);  // null-safe
}

TlsStream::TlsStream(TlsStream&& other) noexcept
    : socket_(std::move(other.socket_)),
      ssl_(std::exchange(other.ssl_, nullptr)),
      read_wants_write_(other.read_wants_write_) {}

TlsStream::Step TlsStream::failed(int ret, int saved_errno) {
    Step s;
    switch (SSL_get_error(ssl_, ret)) {
        case SSL_ERROR_WANT_READ:
            s.want = Want::read;
            break;
        case SSL_ERROR_WANT_WRITE:
            s.want = Want::write;
            break;
        case SSL_ERROR_ZERO_RETURN:
            s.ec = asio::error::eof;
            break;
        case SSL_ERROR_SYSCALL:
            // errno from our BIO; none when OpenSSL saw the TCP close where it expected a record.
            if (saved_errno != 0) {
                s.ec = std::error_code(saved_errno, asio::error::get_system_category());
            } else {
                s.ec = asio::ssl::error::stream_truncated;
            }
            break;
        default: {
            const unsigned long e = ERR_get_error();
            if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
                ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
                s.ec = asio::ssl::error::stream_truncated;
            } else if (e != 0) {
                s.ec = std::error_code(static_cast<int>(e), asio::error::get_ssl_category());
            } else {
                s.ec = asio::ssl::error::unspecified_system_error;
            }
            break;
        }
    }
    ERR_clear_error();  // SSL_get_error() of the next call on this thread reads the queue
    return s;
}

TlsStream::Step TlsStream::handshake_step() {
    if (!ssl_) return {Want::nothing, std::make_error_code(std::errc::not_enough_memory), 0};
    ERR_clear_error();
    errno = 0;
    const int ret = SSL_do_handshake(ssl_);
    if (ret == 1) return {};
    return failed(ret, errno);
}

std::size_t TlsStream::read_some(asio::mutable_buffer buffer, std::error_code& ec) {
    ec.clear();
    read_wants_write_ = false;
    if (!ssl_) {
        ec = std::make_error_code(std::errc::not_enough_memory);
        return 0;
    }
    ERR_clear_error();
    errno = 0;
    std::size_t n = 0;
    const int ret = SSL_read_ex(ssl_, buffer.data(), buffer.size(), &n);
    if (ret == 1) return n;
    const Step s = failed(ret, errno);
    if (s.want != Want::nothing) {
        read_wants_write_ = s.want == Want::write;
        ec = asio::error::would_block;
    } else {
        ec = s.ec;
    }
    return 0;
}

TlsStream::Step TlsStream::write_step(const void* data, std::size_t size) {
    if (!ssl_) return {Want::nothing, std::make_error_code(std::errc::not_enough_memory), 0};
    if (size == 0) return {};
    ERR_clear_error();
    errno = 0;
    std::size_t n = 0;
    // Without SSL_MODE_ENABLE_PARTIAL_WRITE this returns only once every byte is out; after
    // WANT_WRITE it resumes when called again with the same buffer.
    const int ret = SSL_write_ex(ssl_, data, size, &n);
    if (ret == 1) return {Want::nothing, {}, n};
    return failed(ret, errno);
}

TlsStream::Step TlsStream::shutdown_step() {
    if (!ssl_) return {Want::nothing, std::make_error_code(std::errc::not_enough_memory), 0};
    ERR_clear_error();
    errno = 0;
    const int ret = SSL_shutdown(ssl_);
    if (ret >= 0) return {};  // 0: ours sent, the peer's not yet received; 1: both
    return failed(ret, errno);
}

}  // namespace lwgate::net
