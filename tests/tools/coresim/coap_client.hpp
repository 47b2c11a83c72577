// Runs Debian's coap-client-openssl (libcoap3-bin) against the simulator, with a hard time limit.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include "lwgate/harness/process.hpp"

namespace lwgate::coresim::testing {

inline constexpr const char* kCoapClient = "coap-client-openssl";

// coap-client-openssl ARGS... (stdout: the response payload, or the code for a 4.xx/5.xx).
inline harness::ProcessResult coap_client(std::vector<std::string> args,
                                          harness::Millis timeout = harness::Millis{10'000}) {
    args.insert(args.begin(), kCoapClient);
    return harness::run_process(args, timeout);
}

// A UDP port that was free a moment ago (the kernel's choice for port 0), for coap-client's
// "-p" so that several invocations share one source address, as one device would.
inline std::uint16_t free_udp_port() {
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

}  // namespace lwgate::coresim::testing
