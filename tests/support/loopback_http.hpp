// Plain sockets to a server on 127.0.0.1, for tests of the admin HTTP server, in unit tests and
// against the real gateway: its port from the URL it reports, a connected socket that gives up
// reading after 10 s, reading until the server closes, and one whole exchange.
#pragma once

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdint>
#include <string>

namespace lwgate::loopback {

// "http://127.0.0.1:PORT" -> PORT.
inline std::uint16_t port_of(const std::string& url) {
    return static_cast<std::uint16_t>(std::stoi(url.substr(url.rfind(':') + 1)));
}

// A connected socket, or -1 (a test failure) when nothing listens.
inline int connect(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const timeval timeout{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0) return fd;
    ADD_FAILURE() << "connect to 127.0.0.1:" << port << " failed";
    ::close(fd);
    return -1;
}

// Everything the peer sends until it closes (or 10 s pass without a byte); closes `fd`.
inline std::string read_until_closed(int fd) {
    std::string reply;
    char buffer[4096];
    for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;)
        reply.append(buffer, static_cast<std::size_t>(n));
    ::close(fd);
    return reply;
}

// Sends `request` as it is and reads until the server closes.
inline std::string exchange(std::uint16_t port, const std::string& request) {
    const int fd = connect(port);
    if (fd < 0) return {};
    ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    return read_until_closed(fd);
}

}  // namespace lwgate::loopback
