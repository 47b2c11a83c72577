// Connecting a device's socket: addresses, a non-blocking connect, and the socket facts devices
// report (local port) or use to leave (RST instead of FIN). Blocking or not is the caller's
// business: the harness polls, devsim and the bench run epoll loops.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>

#include "lwgate/device/device_error.hpp"
#include "lwgate/util/result.hpp"

namespace lwgate::device {

// An IPv4 or IPv6 socket address.
struct Address {
    sockaddr_storage storage{};
    socklen_t length = 0;

    static Address ipv4(std::uint32_t host_order_address, std::uint16_t port);
    int family() const { return storage.ss_family; }
    const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
};

// A name or an IP literal through getaddrinfo (blocking: tests use literals): the first address,
// or DeviceErrc::resolve with getaddrinfo's words.
Result<Address, Error> resolve(const std::string& host, std::uint16_t port);

// A non-blocking socket whose connect has started (TCP: with TCP_NODELAY), bound to `source`
// first if given. On failure fd is -1 and `step` ("socket", "bind", "connect") and `error`
// (errno) say why.
struct Connecting {
    int fd = -1;
    const char* step = "";
    int error = 0;
};
Connecting start_connect(const Address& peer, const Address* source = nullptr,
                         int type = SOCK_STREAM);
// Once a connecting socket is writable: 0, or the errno the connect failed with.
int connect_error(int fd);
// The local port of a bound socket; 0 if unknown.
std::uint16_t local_port(int fd);
// SO_LINGER {on, 0}: the close(2) that follows sends RST instead of FIN.
void reset_on_close(int fd);
std::string errno_text(int error);

}  // namespace lwgate::device
