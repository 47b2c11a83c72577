// A hand-driven TCP connection to a gateway's port (127.0.0.1), for what no well-behaved client
// sends: requests that stall, trickle, never end or are too large, or nothing at all.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "gateway_fixture.hpp"

namespace lwgate::integration {

// A hand-driven connection to the admin port, for what no well-behaved client sends: requests
// that stall, trickle, never end or are too large.
class RawClient {
  public:
    explicit RawClient(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(port);
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0)
            ADD_FAILURE() << "connect to the admin port failed: " << std::strerror(errno);
    }
    ~RawClient() { ::close(fd_); }
    RawClient(const RawClient&) = delete;
    RawClient& operator=(const RawClient&) = delete;

    // False once the gateway closed the connection, or when nothing could be written for 2 s
    // (the gateway neither reads nor closes).
    bool send(std::string_view bytes) {
        while (!bytes.empty()) {
            pollfd p{fd_, POLLOUT, 0};
            if (::poll(&p, 1, 2000) != 1) return false;
            const auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
            if (n <= 0) return false;
            bytes.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }

    // What arrives until the gateway closes the connection or `timeout` passes.
    std::string read_until_close(Millis timeout) {
        const auto deadline = SteadyClock::now() + timeout;
        while (!closed_) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(until(deadline).count())) != 1) break;
            char buffer[4096];
            const auto n = ::recv(fd_, buffer, sizeof buffer, 0);
            if (n <= 0) {
                closed_ = true;
            } else {
                received_.append(buffer, static_cast<std::size_t>(n));
            }
        }
        return received_;
    }
    bool closed_within(Millis timeout) {
        read_until_close(timeout);
        return closed_;
    }
    bool closed() const { return closed_; }

  private:
    int fd_;
    bool closed_ = false;
    std::string received_;
};

}  // namespace lwgate::integration
