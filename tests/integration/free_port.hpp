// Free loopback ports for tests: no fixed number in a test.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>

namespace lwgate::integration {

// A port (SOCK_DGRAM or SOCK_STREAM) the kernel just handed out and released: free, and no
// fixed number in a test. 0 if none could be had.
inline std::uint16_t free_port(int type) {
    const int fd = ::socket(AF_INET, type, 0);
    if (fd < 0) return 0;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
    ::close(fd);
    return ok ? ntohs(addr.sin_port) : 0;
}
inline std::uint16_t free_udp_port() {
    return free_port(SOCK_DGRAM);
}
inline std::uint16_t free_tcp_port() {
    return free_port(SOCK_STREAM);
}

}  // namespace lwgate::integration
