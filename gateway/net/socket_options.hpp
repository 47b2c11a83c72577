// TCP socket options for device connections: TCP keepalive (a second line of defence behind
// CoAP Pings, which middleboxes cannot strip) and TCP_USER_TIMEOUT, so a peer that stops
// acknowledging our writes is detected by the kernel even while we have nothing to Ping about.
#pragma once

#include <system_error>

#include <asio/ip/tcp.hpp>

#include "config/config.hpp"

namespace lwgate::net {

std::error_code apply_tcp_options(asio::ip::tcp::socket& socket, const config::TcpConfig& options);

}  // namespace lwgate::net
