#include "lwgate/device/socket.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace lwgate::device {

Address Address::ipv4(std::uint32_t host_order_address, std::uint16_t port) {
    Address a;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage);
    v4->sin_family = AF_INET;
    v4->sin_addr.s_addr = htonl(host_order_address);
    v4->sin_port = htons(port);
    a.length = sizeof *v4;
    return a;
}

Result<Address, Error> resolve(const std::string& host, std::uint16_t port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* res = nullptr;
    const int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
    if (rc != 0 || !res) {
        return fail(Error{DeviceErrc::resolve, "resolve " + host + ": " + ::gai_strerror(rc)});
    }
    Address a;
    std::memcpy(&a.storage, res->ai_addr, res->ai_addrlen);
    a.length = res->ai_addrlen;
    ::freeaddrinfo(res);
    return a;
}

Connecting start_connect(const Address& peer, const Address* source, int type) {
    const int fd = ::socket(peer.family(), type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return {-1, "socket", errno};
    const int one = 1;
    if (type == SOCK_STREAM) {
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        // The port is chosen at connect(), per destination: many connections fit one source.
        if (source) ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    }
    const char* step = "bind";
    if (!source || ::bind(fd, source->get(), source->length) == 0) {
        step = "connect";
        if (::connect(fd, peer.get(), peer.length) == 0 || errno == EINPROGRESS) {
            return {fd, "", 0};
        }
    }
    const int error = errno;
    ::close(fd);
    return {-1, step, error};
}

int connect_error(int fd) {
    int error = 0;
    socklen_t len = sizeof error;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0) return errno;
    return error;
}

std::uint16_t local_port(int fd) {
    sockaddr_storage local{};
    socklen_t len = sizeof local;
    if (fd < 0 || ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0) return 0;
    if (local.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&local)->sin_port);
    if (local.ss_family == AF_INET6) {
        return ntohs(reinterpret_cast<sockaddr_in6*>(&local)->sin6_port);
    }
    return 0;
}

void reset_on_close(int fd) {
    const linger lg{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

std::string errno_text(int error) {
    return std::strerror(error);
}

}  // namespace lwgate::device
