#include "net/socket_options.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace lwgate::net {

namespace {

std::error_code set_int(int fd, int level, int name, int value) {
    if (::setsockopt(fd, level, name, &value, sizeof value) != 0) {
        return {errno, std::system_category()};
    }
    return {};
}

int seconds(config::Duration d) {
    return static_cast<int>(std::max<long long>(1, (d.count() + 999) / 1000));
}

}  // namespace

std::error_code apply_tcp_options(asio::ip::tcp::socket& socket, const config::TcpConfig& o) {
    const int fd = socket.native_handle();
    std::error_code ec;
    if (o.nodelay && (ec = set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1))) return ec;
    if (o.keepalive) {
        if ((ec = set_int(fd, SOL_SOCKET, SO_KEEPALIVE, 1))) return ec;
        if ((ec = set_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, seconds(o.keepalive_idle)))) return ec;
        if ((ec = set_int(fd, IPPROTO_TCP, TCP_KEEPINTVL, seconds(o.keepalive_interval))))
            return ec;
        if ((ec = set_int(fd, IPPROTO_TCP, TCP_KEEPCNT, static_cast<int>(o.keepalive_count)))) {
            return ec;
        }
    }
    if (o.user_timeout.count() > 0) {
        ec = set_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, static_cast<int>(o.user_timeout.count()));
    }
    return ec;
}

}  // namespace lwgate::net
