#include "floor_forwarder.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "floor_relay.hpp"
#include "lwgate/device/socket.hpp"

namespace lwgate::bench {

namespace {

struct Connection;

// What an epoll event points at: the listener (conn == nullptr) or one socket of a connection.
struct Endpoint {
    Connection* conn = nullptr;
    bool udp = false;
};

struct Connection final : FloorRelay::Sink {
    static constexpr std::size_t max_unwritten = 1 << 20;

    int epoll = -1;
    int tcp = -1;
    int udp = -1;
    bool closed = false;
    bool want_write = false;
    FloorRelay relay;
    std::vector<std::uint8_t> out;  // frames for the device not yet written
    Endpoint tcp_end{this, false};
    Endpoint udp_end{this, true};

    ~Connection() {
        if (tcp >= 0) ::close(tcp);
        if (udp >= 0) ::close(udp);
    }

    void to_device(lite::Span frame) override {
        // A device that stops reading is dropped rather than queued for without bound.
        if (out.size() + frame.size() > max_unwritten) {
            closed = true;
            return;
        }
        out.insert(out.end(), frame.begin(), frame.end());
    }
    void to_core(lite::Span datagram) override {
        // Connected UDP socket; a full send buffer drops the datagram, as UDP may.
        (void)::send(udp, datagram.data(), datagram.size(), MSG_DONTWAIT);
    }

    void flush() {
        while (!out.empty()) {
            const ssize_t n = ::send(tcp, out.data(), out.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) break;
                closed = true;
                return;
            }
            out.erase(out.begin(), out.begin() + n);
        }
        const bool want = !out.empty();
        if (want != want_write) {
            want_write = want;
            epoll_event ev{};
            ev.events = EPOLLIN | (want ? EPOLLOUT : 0u);
            ev.data.ptr = &tcp_end;
            ::epoll_ctl(epoll, EPOLL_CTL_MOD, tcp, &ev);
        }
    }

    void on_tcp(std::uint32_t events, std::uint8_t* buffer, std::size_t size) {
        if (events & EPOLLIN) {
            const ssize_t n = ::recv(tcp, buffer, size, MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
                closed = true;
                return;
            }
            if (n > 0 && !relay.from_device(lite::Span(buffer, static_cast<std::size_t>(n)), *this))
                closed = true;
        } else if (events & (EPOLLERR | EPOLLHUP)) {
            closed = true;
        }
        if (!closed) flush();
    }

    void on_udp(std::uint8_t* buffer, std::size_t size) {
        const ssize_t n = ::recv(udp, buffer, size, MSG_DONTWAIT);
        if (n <= 0) return;
        relay.from_core(lite::Span(buffer, static_cast<std::size_t>(n)), *this);
        if (!closed) flush();
    }
};

class Loop {
  public:
    Loop() : epoll_(::epoll_create1(EPOLL_CLOEXEC)) {}
    ~Loop() { ::close(epoll_); }
    int epoll() const { return epoll_; }

    // Takes a connected device socket: opens its UDP socket toward the core and watches both.
    void adopt(int tcp, std::uint16_t core_port) {
        auto c = std::make_unique<Connection>();
        c->epoll = epoll_;
        c->tcp = tcp;
        const int one = 1;
        ::setsockopt(tcp, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        const auto core = device::Address::ipv4(INADDR_LOOPBACK, core_port);
        c->udp = device::start_connect(core, nullptr, SOCK_DGRAM).fd;
        if (c->udp < 0) return;
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.ptr = &c->tcp_end;
        ::epoll_ctl(epoll_, EPOLL_CTL_ADD, tcp, &ev);
        ev.data.ptr = &c->udp_end;
        ::epoll_ctl(epoll_, EPOLL_CTL_ADD, c->udp, &ev);
        // From here on the epoll set owns the connection: only this loop's thread touches it,
        // and frees it when it closes. The process ends by SIGKILL, so nothing else frees it.
        (void)c.release();
    }

    // Runs forever. `accept` is called for listener events (loop 0 only).
    template <class Accept>
    void run(Accept&& accept) {
        std::vector<std::uint8_t> buffer(FloorRelay::max_frame);
        epoll_event events[256];
        std::vector<Connection*> closing;
        for (;;) {
            const int n = ::epoll_wait(epoll_, events, 256, -1);
            for (int i = 0; i < n; ++i) {
                auto* end = static_cast<Endpoint*>(events[i].data.ptr);
                if (end->conn == nullptr) {
                    accept();
                    continue;
                }
                Connection* c = end->conn;
                if (c->closed) continue;
                if (end->udp) {
                    c->on_udp(buffer.data(), buffer.size());
                } else {
                    c->on_tcp(events[i].events, buffer.data(), buffer.size());
                }
                if (c->closed) closing.push_back(c);
            }
            // Freed after the batch: a later event of the same batch may name the connection.
            for (Connection* c : closing)
                delete c;  // closing its sockets takes them out of the epoll set
            closing.clear();
        }
    }

  private:
    int epoll_;
};

}  // namespace

int run_floor_forwarder(std::uint16_t port, std::uint16_t core_port, unsigned threads) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the bench
    ::signal(SIGPIPE, SIG_IGN);
    const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    const auto a = device::Address::ipv4(INADDR_LOOPBACK, port);
    if (::bind(listener, a.get(), a.length) != 0 || ::listen(listener, 4096) != 0) {
        std::perror("floor forwarder: listen");
        return 2;
    }
    threads = std::max(1u, threads);
    std::vector<std::unique_ptr<Loop>> loops;
    for (unsigned i = 0; i < threads; ++i)
        loops.push_back(std::make_unique<Loop>());
    Endpoint listener_end;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = &listener_end;
    ::epoll_ctl(loops[0]->epoll(), EPOLL_CTL_ADD, listener, &ev);
    std::size_t next = 0;
    auto accept = [&] {
        for (;;) {
            const int s = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (s < 0) return;
            loops[next++ % loops.size()]->adopt(s, core_port);
        }
    };
    std::vector<std::thread> workers;
    for (unsigned i = 1; i < threads; ++i)
        workers.emplace_back([&, i] { loops[i]->run([] {}); });
    loops[0]->run(accept);
    return 0;
}

}  // namespace lwgate::bench
