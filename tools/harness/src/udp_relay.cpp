#include "lwgate/harness/udp_relay.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <utility>
#include <vector>

#include "lwgate/harness/error.hpp"
#include "posix_util.hpp"

namespace lwgate::harness {

namespace {

int bound_udp_socket() {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw HarnessError("udp relay: socket: " + detail::errno_text(errno));
    const auto a = device::Address::ipv4(INADDR_LOOPBACK, 0);
    if (::bind(fd, a.get(), a.length) != 0) {
        const int err = errno;
        ::close(fd);
        throw HarnessError("udp relay: bind: " + detail::errno_text(err));
    }
    return fd;
}

// RFC 7252 §3: version 1, type CON (0), a request code (0.01-0.31).
bool confirmable_request(const std::uint8_t* d, ssize_t n) {
    return n >= 4 && (d[0] >> 6) == 1 && ((d[0] >> 4) & 3) == 0 && d[1] >= 1 && d[1] <= 31;
}

}  // namespace

UdpRelay::UdpRelay(std::uint16_t target_port) : target_port_(target_port) {
    front_ = bound_udp_socket();
    port_ = device::local_port(front_);
    wake_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_ < 0) {
        detail::close_fd(front_);
        throw HarnessError("udp relay: eventfd: " + detail::errno_text(errno));
    }
    thread_ = std::thread([this] { run(); });
}

UdpRelay::~UdpRelay() {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_, &one, sizeof one);
    if (thread_.joinable()) thread_.join();
    detail::close_fd(wake_);
    detail::close_fd(front_);
}

UdpRelay::Answers UdpRelay::answers() const {
    std::lock_guard lock(answers_mutex_);
    return answers_;
}

bool UdpRelay::wait_answers(const std::function<bool(const Answers&)>& pred,
                            std::chrono::milliseconds timeout) const {
    std::unique_lock lock(answers_mutex_);
    return answers_changed_.wait_for(lock, timeout, [&] { return pred(answers_); });
}

void UdpRelay::run() {
    // lwgate's address (ip, port) -> the socket that speaks for it to the core, and back.
    std::map<std::pair<std::uint32_t, std::uint16_t>, int> back_of;
    std::vector<std::pair<int, sockaddr_in>> backs;
    const auto target = device::Address::ipv4(INADDR_LOOPBACK, target_port_);
    std::uint8_t buf[65536];
    while (true) {
        std::vector<pollfd> fds{{wake_, POLLIN, 0}, {front_, POLLIN, 0}};
        for (const auto& b : backs)
            fds.push_back(pollfd{b.first, POLLIN, 0});
        if (::poll(fds.data(), fds.size(), -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (fds[0].revents) break;
        if (fds[1].revents & POLLIN) {
            sockaddr_in from{};
            socklen_t len = sizeof from;
            ssize_t n;
            while ((n = ::recvfrom(front_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from),
                                   &len)) >= 0) {
                const auto key = std::make_pair(from.sin_addr.s_addr, from.sin_port);
                auto it = back_of.find(key);
                if (it == back_of.end()) {
                    int fd = -1;
                    try {
                        fd = bound_udp_socket();
                    } catch (const HarnessError&) {
                        len = sizeof from;
                        continue;  // dropped, as a full network would
                    }
                    it = back_of.emplace(key, fd).first;
                    backs.emplace_back(fd, from);
                }
                if (n >= 4 && (buf[0] >> 6) == 1) {
                    const int type = (buf[0] >> 4) & 3;  // CON 0, NON 1, ACK 2, RST 3
                    const bool response = buf[1] >= 64;  // 2.00 and up
                    {
                        std::lock_guard lock(answers_mutex_);
                        if (type == 2 && buf[1] == 0) ++answers_.empty_acks;
                        if (type == 2 && response) ++answers_.piggybacked;
                        if (type < 2 && response) ++answers_.separate;
                    }
                    answers_changed_.notify_all();
                }
                ::sendto(it->second, buf, static_cast<std::size_t>(n), 0, target.get(),
                         target.length);
                len = sizeof from;
            }
        }
        for (std::size_t i = 2; i < fds.size(); ++i) {
            if (!(fds[i].revents & POLLIN)) continue;
            const auto& [fd, lwgate] = backs[i - 2];
            ssize_t n;
            while ((n = ::recv(fd, buf, sizeof buf, 0)) >= 0) {
                const auto* to = reinterpret_cast<const sockaddr*>(&lwgate);
                ::sendto(front_, buf, static_cast<std::size_t>(n), 0, to, sizeof lwgate);
                if (duplicate_requests_ && confirmable_request(buf, n)) {
                    ::sendto(front_, buf, static_cast<std::size_t>(n), 0, to, sizeof lwgate);
                    ++duplicated_;
                }
            }
        }
    }
    for (auto& b : backs)
        ::close(b.first);
}

}  // namespace lwgate::harness
