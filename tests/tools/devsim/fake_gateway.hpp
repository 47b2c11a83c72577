// A scripted stand-in for the gateway, for the device simulator's self-tests: a listening socket
// on 127.0.0.1 port 0 and, per accepted connection, a blocking RFC 8323 peer built on the
// project's codec (the server-side twin of harness::DeviceClient, which can only connect).
// Every wait polls against a deadline; nothing sleeps.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>

#include "lwgate/coap/code.hpp"
#include "lwgate/coap/message.hpp"
#include "lwgate/coap/option.hpp"
#include "lwgate/coap/signaling.hpp"
#include "lwgate/coap/tcp_codec.hpp"
#include "lwgate/device/framing.hpp"
#include "lwgate/device/socket.hpp"
#include "lwgate/harness/device_client.hpp"

namespace lwgate::devsim::testing {

using Millis = std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;
using harness::CloseState;

inline int remaining_ms(SteadyClock::time_point deadline) {
    const auto left = std::chrono::ceil<Millis>(deadline - SteadyClock::now()).count();
    return left < 0 ? 0 : static_cast<int>(left);
}

// One accepted connection.
class FakeConnection {
  public:
    explicit FakeConnection(int fd, std::size_t max_receive = 8u * 1024 * 1024)
        : fd_(fd), decoder_(max_receive, max_receive) {}
    ~FakeConnection() {
        if (fd_ >= 0) ::close(fd_);
    }
    FakeConnection(const FakeConnection&) = delete;
    FakeConnection& operator=(const FakeConnection&) = delete;

    bool send(const coap::Message& m) { return send_raw(coap::encode(m)); }
    bool send_raw(coap::ByteView bytes) {
        std::size_t off = 0;
        const auto deadline = SteadyClock::now() + Millis(5'000);
        while (off < bytes.size()) {
            const ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
            if (n > 0) {
                off += static_cast<std::size_t>(n);
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                pollfd p{fd_, POLLOUT, 0};
                if (::poll(&p, 1, remaining_ms(deadline)) <= 0) return false;
                continue;
            }
            return false;
        }
        return true;
    }

    // The next message (inbox first). nullopt on timeout, close or decode failure.
    std::optional<coap::Message> receive(Millis timeout = Millis(3'000)) {
        const auto deadline = SteadyClock::now() + timeout;
        while (true) {
            if (!inbox_.empty()) {
                auto m = std::move(inbox_.front());
                inbox_.pop_front();
                return m;
            }
            if (!read_some(deadline)) return std::nullopt;
        }
    }

    // The first message satisfying `match`; the others stay in the inbox, in order.
    std::optional<coap::Message> receive_until(
        const std::function<bool(const coap::Message&)>& match, Millis timeout = Millis(3'000)) {
        const auto deadline = SteadyClock::now() + timeout;
        std::size_t checked = 0;
        while (true) {
            for (; checked < inbox_.size(); ++checked) {
                if (match(inbox_[checked])) {
                    auto m = std::move(inbox_[checked]);
                    inbox_.erase(inbox_.begin() + static_cast<std::ptrdiff_t>(checked));
                    return m;
                }
            }
            if (!read_some(deadline)) return std::nullopt;
        }
    }

    // Sends a request and returns the response carrying its token.
    std::optional<coap::Message> exchange(const coap::Message& request,
                                          Millis timeout = Millis(3'000)) {
        if (!send(request)) return std::nullopt;
        const coap::Token token = request.token();
        return receive_until(
            [&](const coap::Message& m) {
                return coap::is_response(m.code()) && m.token() == token;
            },
            timeout);
    }

    CloseState wait_closed(Millis timeout) {
        const auto deadline = SteadyClock::now() + timeout;
        while (close_state_ == CloseState::still_open) {
            if (!read_some(deadline) && close_state_ == CloseState::still_open &&
                SteadyClock::now() >= deadline) {
                break;
            }
        }
        return close_state_;
    }
    CloseState close_state() const { return close_state_; }
    const std::optional<coap::DecodeFailure>& decode_failure() const { return failure_; }
    std::size_t inbox_size() const { return inbox_.size(); }

    void close_with_reset() {
        device::reset_on_close(fd_);
        ::close(fd_);
        fd_ = -1;
    }
    void shutdown_write() { ::shutdown(fd_, SHUT_WR); }

    // The device's IPv4 source address ("127.0.0.2"), empty if unknown.
    std::string peer_address() const {
        sockaddr_in peer{};
        socklen_t length = sizeof peer;
        char text[INET_ADDRSTRLEN] = {};
        if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&peer), &length) != 0 ||
            ::inet_ntop(AF_INET, &peer.sin_addr, text, sizeof text) == nullptr) {
            return {};
        }
        return text;
    }

  private:
    // One read (after waiting for readability); decodes into the inbox. False on timeout,
    // close or decode failure.
    bool read_some(SteadyClock::time_point deadline) {
        if (fd_ < 0 || close_state_ != CloseState::still_open || failure_) return false;
        pollfd p{fd_, POLLIN, 0};
        const int r = ::poll(&p, 1, remaining_ms(deadline));
        if (r <= 0) return false;
        std::uint8_t buf[65536];
        const ssize_t n = ::read(fd_, buf, sizeof buf);
        if (n == 0) {
            close_state_ = CloseState::closed_fin;
            return false;
        }
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) return true;
            close_state_ = CloseState::reset;
            return false;
        }
        const coap::ByteView in(buf, static_cast<std::size_t>(n));
        device::decode_frames(decoder_, in, [this](coap::DecodeResult&& result) {
            if (auto* m = std::get_if<coap::Message>(&result)) {
                inbox_.push_back(std::move(*m));
                return true;
            }
            failure_ = std::get<coap::DecodeFailure>(result);
            return false;
        });
        return !failure_;
    }

    int fd_;
    coap::TcpDecoder decoder_;
    std::deque<coap::Message> inbox_;
    CloseState close_state_ = CloseState::still_open;
    std::optional<coap::DecodeFailure> failure_;
};

class FakeGateway {
  public:
    FakeGateway() {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0) throw std::runtime_error("socket");
        const int one = 1;
        ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = 0;
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            ::listen(fd_, 64) != 0) {
            throw std::runtime_error("bind/listen");
        }
        port_ = device::local_port(fd_);
    }
    ~FakeGateway() { ::close(fd_); }
    FakeGateway(const FakeGateway&) = delete;
    FakeGateway& operator=(const FakeGateway&) = delete;

    std::uint16_t port() const { return port_; }

    std::unique_ptr<FakeConnection> accept(Millis timeout = Millis(3'000)) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return nullptr;
        const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) return nullptr;
        const int one = 1;
        ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        return std::make_unique<FakeConnection>(c);
    }

  private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
};

}  // namespace lwgate::devsim::testing
