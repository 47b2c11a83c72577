#include "keepalive_peer.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <variant>

#include "loopback_address.hpp"
#include "lwgate/coap/signaling.hpp"
#include "lwgate/coap/tcp_codec.hpp"

namespace lwgate::bench {
namespace {

int connect_loopback(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    auto addr = loopback_address(port);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return -1;
    }
    const int one = 1;  // a device's stack sends a Pong at once, as lwgate sends its Ping
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

}  // namespace

struct KeepalivePeer::Tls {
    SSL_CTX* ctx = nullptr;
    SSL* ssl = nullptr;
    ~Tls() {
        if (ssl) SSL_free(ssl);
        if (ctx) SSL_CTX_free(ctx);
    }
};

KeepalivePeer::KeepalivePeer(std::uint16_t port, std::optional<PeerPsk> psk) {
    fd_ = connect_loopback(port);
    if (fd_ < 0) return;
    if (psk) {
        tls_ = new Tls;
        tls_->ctx = new_psk_client_context(psk->cipher);
        tls_->ssl = SSL_new(tls_->ctx);
        SSL_set_fd(tls_->ssl, fd_);
        offer_psk(&*psk);
        const bool shook = SSL_connect(tls_->ssl) == 1;
        offer_psk(nullptr);
        if (!shook) return;
    }
    coap::Bytes csm;
    coap::encode_into(coap::make_csm(1152, false), csm);
    ok_ = write_all(csm.data(), csm.size());
    if (ok_) thread_ = std::thread([this] { run(); });
}

KeepalivePeer::~KeepalivePeer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    delete tls_;
    if (fd_ >= 0) ::close(fd_);
}

std::uint16_t KeepalivePeer::local_port() const {
    sockaddr_in addr{};
    socklen_t len = sizeof addr;
    if (fd_ < 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return 0;
    return ntohs(addr.sin_port);
}

bool KeepalivePeer::write_all(const std::uint8_t* data, std::size_t size) {
    if (tls_) return SSL_write(tls_->ssl, data, static_cast<int>(size)) == static_cast<int>(size);
    while (size > 0) {
        const auto n = ::send(fd_, data, size, MSG_NOSIGNAL);
        if (n <= 0) return false;
        data += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

// Bytes read, 0 when nothing came within the poll interval, -1 once the connection ended.
long KeepalivePeer::read_some(std::uint8_t* data, std::size_t size) {
    if (!tls_ || SSL_pending(tls_->ssl) == 0) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) return 0;  // woken to look at stop_
    }
    const long n =
        tls_ ? SSL_read(tls_->ssl, data, static_cast<int>(size)) : ::recv(fd_, data, size, 0);
    return n > 0 ? n : -1;
}

void KeepalivePeer::run() {
    coap::TcpDecoder decoder(1 << 16);
    std::uint8_t buffer[4096];
    while (!stop_) {
        const long n = read_some(buffer, sizeof buffer);
        if (n < 0) break;
        coap::ByteView in(buffer, static_cast<std::size_t>(n));
        while (!in.empty()) {
            auto step = decoder.feed(in);
            in = in.subspan(step.consumed);
            if (!step.result && step.consumed == 0) break;
            if (!step.result) continue;
            const auto* message = std::get_if<coap::Message>(&*step.result);
            if (!message || message->code() != coap::code::ping) continue;
            coap::Bytes pong;
            coap::encode_into(coap::make_pong(*message), pong);
            if (!write_all(pong.data(), pong.size())) break;
            ++pongs_;
        }
    }
    closed_ = !stop_;
}

}  // namespace lwgate::bench
