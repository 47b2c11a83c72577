// A scripted stand-in for the LwM2M core behind the gateway, for the device simulator's
// self-tests against the real lwgate: one UDP socket on 127.0.0.1 port 0 speaking RFC 7252
// CoAP over UDP (header, token, then the same options/payload encoding the project's codec
// produces). Every wait polls against a deadline.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <variant>

#include "lwgate/coap/message.hpp"
#include "lwgate/coap/tcp_codec.hpp"
#include "lwgate/device/socket.hpp"

namespace lwgate::devsim::testing {

enum class UdpType : std::uint8_t { con = 0, non = 1, ack = 2, rst = 3 };

struct UdpMessage {
    UdpType type = UdpType::con;
    std::uint16_t message_id = 0;
    coap::Message message;
};

// RFC 7252 §3 framing around the codec's option/payload encoding.
inline coap::Bytes udp_encode(UdpType type, std::uint16_t message_id, const coap::Message& m) {
    coap::Message tokenless = m;
    tokenless.set_token({});
    const coap::Bytes tcp = coap::encode(tokenless);
    const unsigned len_nibble = tcp[0] >> 4;
    const std::size_t ext = len_nibble == 13 ? 1 : len_nibble == 14 ? 2 : len_nibble == 15 ? 4 : 0;
    const std::size_t body_at = 1 + ext + 1;  // length byte, extended length, code
    const auto token = m.token().bytes();
    coap::Bytes out(4 + token.size() + (tcp.size() - body_at));
    out[0] = static_cast<std::uint8_t>(0x40 | (static_cast<unsigned>(type) << 4) | token.size());
    out[1] = m.code();
    out[2] = static_cast<std::uint8_t>(message_id >> 8);
    out[3] = static_cast<std::uint8_t>(message_id);
    std::copy(token.begin(), token.end(), out.begin() + 4);
    std::copy(tcp.begin() + static_cast<std::ptrdiff_t>(body_at), tcp.end(),
              out.begin() + 4 + static_cast<std::ptrdiff_t>(token.size()));
    return out;
}

inline std::optional<UdpMessage> udp_decode(coap::ByteView d) {
    if (d.size() < 4 || (d[0] >> 6) != 1) return std::nullopt;
    const std::size_t tkl = d[0] & 0x0f;
    if (tkl > 8 || d.size() < 4 + tkl) return std::nullopt;
    UdpMessage out;
    out.type = static_cast<UdpType>((d[0] >> 4) & 3);
    out.message_id = static_cast<std::uint16_t>((d[2] << 8) | d[3]);
    auto parsed = coap::parse_body(d[1], coap::Token(d.subspan(4, tkl)), d.subspan(4 + tkl));
    if (!std::holds_alternative<coap::Message>(parsed)) return std::nullopt;
    out.message = std::get<coap::Message>(std::move(parsed));
    return out;
}

class FakeCore {
  public:
    FakeCore() {
        fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0) throw std::runtime_error("socket");
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            throw std::runtime_error("bind");
        }
        port_ = device::local_port(fd_);
    }
    ~FakeCore() { ::close(fd_); }
    FakeCore(const FakeCore&) = delete;
    FakeCore& operator=(const FakeCore&) = delete;

    std::uint16_t port() const { return port_; }

    // The next datagram that decodes; remembers its sender for send().
    std::optional<UdpMessage> receive(std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (true) {
            const auto left = std::chrono::ceil<std::chrono::milliseconds>(
                                  deadline - std::chrono::steady_clock::now())
                                  .count();
            pollfd p{fd_, POLLIN, 0};
            if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) return std::nullopt;
            std::uint8_t buf[65536];
            socklen_t len = sizeof peer_;
            const ssize_t n =
                ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&peer_), &len);
            if (n <= 0) continue;
            if (auto m = udp_decode(coap::ByteView(buf, static_cast<std::size_t>(n)))) return m;
        }
    }

    void send(UdpType type, std::uint16_t message_id, const coap::Message& m) {
        const auto bytes = udp_encode(type, message_id, m);
        ::sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&peer_),
                 sizeof peer_);
    }
    // Piggybacked response to a CON request.
    void reply(const UdpMessage& request, coap::Message response) {
        response.set_token(request.message.token());
        send(UdpType::ack, request.message_id, response);
    }
    void ack(const UdpMessage& m) { send(UdpType::ack, m.message_id, coap::Message()); }

  private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
    sockaddr_in peer_{};
};

}  // namespace lwgate::devsim::testing
