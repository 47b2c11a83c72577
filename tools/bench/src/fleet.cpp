#include "fleet.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <optional>
#include <queue>
#include <stdexcept>
#include <system_error>

#include "coap_lite.hpp"
#include "lwgate/coap/signaling.hpp"
#include "lwgate/coap/tcp_codec.hpp"
#include "lwgate/device/content_format.hpp"
#include "lwgate/device/hex.hpp"
#include "lwgate/device/requests.hpp"
#include "lwgate/device/socket.hpp"
#include "lwgate/device/stream.hpp"
#include "udp_core.hpp"  // now_ns

namespace lwgate::bench {

namespace code = coap::code;
namespace option = coap::option;
namespace content_format = device::content_format;
using device::IoStatus;
using lite::MessageView;
using lite::Span;

namespace {

constexpr std::size_t max_frame = 64 * 1024;
constexpr std::uint64_t ms = 1'000'000ull;

enum class State : std::uint8_t { idle, connecting, handshaking, up };
enum class Pending : std::uint8_t { none, register_, update, uplink };

std::string endpoint_name(const std::string& prefix, std::size_t index) {
    return prefix + std::to_string(index);
}

device::Address source_address(std::size_t index, unsigned count, bool second_set) {
    count = std::max(1u, count);
    const auto a = static_cast<std::uint32_t>(index % count + (second_set ? count : 0));
    return device::Address::ipv4((127u << 24) | (1u << 16) | ((a >> 8) << 8) | ((a & 0xff) + 1), 0);
}

}  // namespace

std::string psk_key_hex(std::size_t index) {
    std::uint8_t big_endian[8];
    for (int i = 0; i < 8; ++i)
        big_endian[i] = static_cast<std::uint8_t>(index >> (56 - 8 * i));
    return "6c776762656e6368" + device::to_hex(big_endian);  // "lwgbench"
}

struct Fleet::Shared {
    FleetOptions options;
    std::shared_ptr<device::TlsClientContext> tls;
    std::atomic<bool> stop{false};
    std::atomic<std::size_t> uplink_window{0};
    std::atomic<std::uint64_t> storm_generation{0};
    std::atomic<std::size_t> silent_count{0};
    std::atomic<std::uint64_t> half_open_closed{0}, half_open_max_ns{0};
    std::atomic<std::uint64_t> connected{0}, connections{0}, registered{0}, observed{0}, pings{0},
        reads{0}, refusals{0}, aborts{0}, closed_by_peer{0}, connect_errors{0}, register_errors{0},
        updated{0}, update_retries{0}, update_failures{0}, storm_updated{0}, storm_reobserved{0};
    device::Address target;
    std::vector<std::uint8_t> payload;
    std::string links = "</1/0>,</3/0>";
    coap::Bytes csm = coap::encode(coap::make_csm(1152, false));
};

struct Device {
    std::uint32_t index = 0;
    int fd = -1;
    State state = State::idle;
    Pending pending = Pending::none;
    bool registered = false;  // has a registration (location rd/<index>)
    bool ever_registered = false;
    bool observed = false;  // an Observe arrived on some connection
    bool storm_wait_update = false, storm_wait_observe = false;
    bool want_out = false;  // EPOLLOUT armed
    bool uplinking = false;
    bool silent = false;        // half-open: nothing read or sent
    bool retry_update = false;  // an Update answered 5.03 waits for its Max-Age
    std::uint32_t hop = 0;      // FleetOptions::ports: the shift from its first port
    // One shared port: the connection was closed by lwgate (its instance died), and it
    // reconnects from an address of the second set (see next_port).
    bool second_source = false;
    std::uint64_t silent_since = 0;
    std::uint16_t mid = 0;
    std::uint32_t seq = 0;
    std::uint32_t observe_seq = 0;
    std::uint64_t pending_token = 0;
    std::uint64_t pending_ns = 0;
    std::uint64_t retry_at = 0;              // 0: none
    std::unique_ptr<device::Stream> stream;  // TCP or TLS, once connected
    std::vector<std::uint8_t> in;            // a partial frame
    std::vector<std::uint8_t> out;           // bytes not yet written
};

struct Fleet::Worker {
    Worker(Shared& shared, unsigned id, unsigned count);
    ~Worker();
    void run();

    // connection
    void start_connect(Device& d, std::uint64_t now);
    void on_connected(Device& d);
    void on_up(Device& d);
    void on_event(Device& d, std::uint32_t events);
    void read_stream(Device& d);
    void read_udp(Device& d);
    void consume(Device& d, const std::uint8_t* data, std::size_t len);
    void close_device(Device& d, bool reset);
    void fail(Device& d, std::uint64_t retry_after_ns, bool peer_closed);
    void schedule(Device& d, std::uint64_t at);
    void set_out_interest(Device& d, bool want);

    // messages
    void handle(Device& d, const MessageView& m);
    void handle_request(Device& d, const MessageView& m);
    void handle_response(Device& d, const MessageView& m);
    void send_register(Device& d);
    void send_update(Device& d);
    void send_uplink(Device& d);
    std::uint64_t next_token(Device& d);
    device::Address target(const Device& d) const;
    void next_port(Device& d, bool peer_closed);
    // The device's place in this fleet (uplink window, go_silent count from its start).
    std::size_t local(const Device& d) const { return d.index - s.options.first_index; }
    // Appends a message built by `build` to the device's output (UDP: sends it).
    template <class F>
    void emit(Device& d, F&& build);
    void flush(Device& d);

    // control
    void storm(std::uint64_t now);
    void update_uplinks();

    Shared& s;
    unsigned id;
    int epoll_fd = -1;
    std::vector<Device> devices;
    std::size_t next_connect = 0;
    double connect_budget = 0;
    std::uint64_t last_budget_ns = 0;
    using Timer = std::pair<std::uint64_t, std::uint32_t>;
    std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers;
    std::uint64_t seen_storm = 0;
    std::size_t seen_silent = 0;
    std::size_t seen_window = 0;
    std::vector<std::uint8_t> rbuf = std::vector<std::uint8_t>(max_frame);
    std::uint8_t scratch[max_frame + 64];

    std::mutex stats_mutex;
    UplinkStats stats;
    std::uint64_t stats_since = now_ns();
    std::thread thread;
};

Fleet::Worker::Worker(Shared& shared, unsigned id_, unsigned count) : s(shared), id(id_) {
    epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
    for (std::size_t i = id; i < s.options.count; i += count) {
        devices.emplace_back();
        devices.back().index = static_cast<std::uint32_t>(s.options.first_index + i);
        devices.back().mid = static_cast<std::uint16_t>(i * 7919);
    }
    thread = std::thread([this] { run(); });
}

Fleet::Worker::~Worker() {
    if (thread.joinable()) thread.join();
    for (auto& d : devices)
        close_device(d, false);
    ::close(epoll_fd);
}

// ---- connection ---------------------------------------------------------------------------

void Fleet::Worker::set_out_interest(Device& d, bool want) {
    if (d.want_out == want || d.fd < 0) return;
    d.want_out = want;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | (want ? EPOLLOUT : 0u);
    ev.data.u64 = static_cast<std::uint64_t>(&d - devices.data());
    epoll_ctl(epoll_fd, EPOLL_CTL_MOD, d.fd, &ev);
}

void Fleet::Worker::start_connect(Device& d, std::uint64_t now) {
    const bool udp = s.options.transport == DeviceTransport::udp;
    const auto source = source_address(d.index, s.options.source_addresses, d.second_source);
    d.fd = device::start_connect(target(d), &source, udp ? SOCK_DGRAM : SOCK_STREAM).fd;
    if (d.fd < 0) {
        s.connect_errors.fetch_add(1, std::memory_order_relaxed);
        schedule(d, now + 1000 * ms);
        return;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | (udp ? 0u : EPOLLOUT);
    ev.data.u64 = static_cast<std::uint64_t>(&d - devices.data());
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, d.fd, &ev);
    d.want_out = !udp;
    d.in.clear();
    d.out.clear();
    if (udp) {
        on_up(d);
    } else {
        d.state = State::connecting;
    }
}

device::Address Fleet::Worker::target(const Device& d) const {
    const auto& ports = s.options.ports;
    if (ports.empty()) return s.target;
    return device::Address::ipv4(INADDR_LOOPBACK, ports[(d.index + d.hop) % ports.size()]);
}

void Fleet::Worker::next_port(Device& d, bool peer_closed) {
    const std::size_t n = s.options.ports.size();
    if (n < 2) {
        // SO_REUSEPORT picks an instance by a hash of the connection's addresses and ports. The
        // kernel hands the ports of the closed connections out again first, so from the same
        // source address they would hash as before: all to the socket that took the dead
        // listener's slot in the reuseport group. Devices behind NATs come back from new
        // public ports; a fresh address stands in for that.
        d.second_source = d.second_source || peer_closed;
        return;
    }
    d.hop += peer_closed ? static_cast<std::uint32_t>(1 + (d.index / n) % (n - 1)) : 1;
}

void Fleet::Worker::on_connected(Device& d) {
    if (device::connect_error(d.fd) != 0) {
        next_port(d, false);
        s.connect_errors.fetch_add(1, std::memory_order_relaxed);
        fail(d, 1000 * ms, false);
        return;
    }
    if (s.options.transport != DeviceTransport::tls) {
        d.stream = std::make_unique<device::TcpStream>(d.fd);
        on_up(d);
        return;
    }
    device::Psk psk{endpoint_name(s.options.prefix, d.index),
                    *device::parse_hex(psk_key_hex(d.index))};
    auto created = device::TlsStream::create(s.tls, d.fd, "127.0.0.1", std::move(psk));
    if (!created) {
        s.connect_errors.fetch_add(1, std::memory_order_relaxed);
        fail(d, 1000 * ms, false);
        return;
    }
    d.stream = std::move(created).value();
    d.state = State::handshaking;
    on_event(d, EPOLLOUT);
}

void Fleet::Worker::on_up(Device& d) {
    d.state = State::up;
    d.retry_update = false;  // the Update below replaces a pending retry
    s.connected.fetch_add(1, std::memory_order_relaxed);
    s.connections.fetch_add(1, std::memory_order_relaxed);
    if (s.options.transport != DeviceTransport::udp) {
        d.out.insert(d.out.end(), s.csm.begin(), s.csm.end());
    }
    if (!s.options.register_devices) {
        if (local(d) < s.uplink_window.load()) send_uplink(d);
    } else if (d.registered) {
        send_update(d);
    } else {
        send_register(d);
    }
    flush(d);
}

void Fleet::Worker::close_device(Device& d, bool reset) {
    if (d.fd < 0) return;
    if (d.state == State::up) s.connected.fetch_sub(1, std::memory_order_relaxed);
    d.stream.reset();
    if (reset) device::reset_on_close(d.fd);
    epoll_ctl(epoll_fd, EPOLL_CTL_DEL, d.fd, nullptr);
    ::close(d.fd);
    d.fd = -1;
    d.state = State::idle;
    d.want_out = false;
    d.pending = Pending::none;
    d.in.clear();
    d.in.shrink_to_fit();
    d.out.clear();
    d.out.shrink_to_fit();
}

void Fleet::Worker::fail(Device& d, std::uint64_t retry_after_ns, bool peer_closed) {
    if (peer_closed) {
        s.closed_by_peer.fetch_add(1, std::memory_order_relaxed);
        next_port(d, true);
        // Its observations must come back on the next connection (cluster: kill -9).
        d.storm_wait_observe = d.storm_wait_observe || d.observed;
    }
    close_device(d, false);
    schedule(d, now_ns() + retry_after_ns);
}

void Fleet::Worker::schedule(Device& d, std::uint64_t at) {
    d.retry_at = at;
    timers.emplace(at, static_cast<std::uint32_t>(&d - devices.data()));
}

void Fleet::Worker::on_event(Device& d, std::uint32_t events) {
    if (d.fd < 0) return;
    if (d.silent) {
        // Only hang-ups are watched: the gateway declared the connection half-open.
        if (events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP)) {
            const std::uint64_t took = now_ns() - d.silent_since;
            std::uint64_t seen = s.half_open_max_ns.load();
            while (took > seen && !s.half_open_max_ns.compare_exchange_weak(seen, took)) {
            }
            s.half_open_closed.fetch_add(1, std::memory_order_relaxed);
            close_device(d, false);
            d.silent = false;
        }
        return;
    }
    if (d.state == State::connecting) {
        if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) on_connected(d);
        return;
    }
    if (d.state == State::handshaking) {
        const auto r = d.stream->handshake();
        if (r.status == IoStatus::ok || r.status == IoStatus::want_read ||
            r.status == IoStatus::want_write) {
            set_out_interest(d, r.status == IoStatus::want_write);
            if (r.status == IoStatus::ok) on_up(d);
        } else {
            s.connect_errors.fetch_add(1, std::memory_order_relaxed);
            fail(d, 1000 * ms, false);
        }
        return;
    }
    if (events & EPOLLOUT) flush(d);
    if (d.fd < 0) return;
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) {
        if (d.stream) {
            read_stream(d);
        } else {
            read_udp(d);
        }
    }
    if (d.fd >= 0) flush(d);
}

void Fleet::Worker::read_stream(Device& d) {
    const bool tls = s.options.transport == DeviceTransport::tls;
    while (d.fd >= 0) {
        const auto r = d.stream->read(rbuf.data(), rbuf.size());
        if (r.status == IoStatus::ok) {
            consume(d, rbuf.data(), r.bytes);
            // A short plain read emptied the socket; TLS may still hold decrypted records.
            if (!tls && r.bytes < rbuf.size()) return;
            continue;
        }
        if (r.status == IoStatus::want_read) return;
        if (r.status == IoStatus::want_write) {
            set_out_interest(d, true);
            return;
        }
        fail(d, 200 * ms, true);
        return;
    }
}

void Fleet::Worker::read_udp(Device& d) {
    while (d.fd >= 0) {
        const ssize_t n = ::recv(d.fd, rbuf.data(), rbuf.size(), 0);
        if (n < 0) return;  // EAGAIN, or an ICMP error of an earlier datagram
        auto m = lite::parse_udp(Span(rbuf.data(), static_cast<std::size_t>(n)));
        if (!m) continue;
        if (m->type == lite::Type::con && coap::code_class(m->code) != 0 && m->code != 0) {
            // A separate response: acknowledge it.
            std::uint8_t ack[4] = {0x60, 0, static_cast<std::uint8_t>(m->mid >> 8),
                                   static_cast<std::uint8_t>(m->mid)};
            ::send(d.fd, ack, sizeof ack, 0);
        }
        if (m->code == code::empty) continue;
        handle(d, *m);
    }
}

void Fleet::Worker::consume(Device& d, const std::uint8_t* data, std::size_t len) {
    Span in(data, len);
    if (!d.in.empty()) {
        d.in.insert(d.in.end(), data, data + len);
        in = Span(d.in.data(), d.in.size());
    }
    std::size_t off = 0;
    while (off < in.size() && d.fd >= 0) {
        const long frame = lite::tcp_frame_length(in.subspan(off), max_frame);
        if (frame < 0) {
            s.aborts.fetch_add(1, std::memory_order_relaxed);
            fail(d, 1000 * ms, false);
            return;
        }
        if (frame == 0) break;
        if (auto m = lite::parse_tcp(in.subspan(off, static_cast<std::size_t>(frame))))
            handle(d, *m);
        off += static_cast<std::size_t>(frame);
    }
    if (d.fd < 0) return;
    if (d.in.empty()) {
        if (off < in.size()) d.in.assign(in.begin() + static_cast<long>(off), in.end());
    } else {
        d.in.erase(d.in.begin(), d.in.begin() + static_cast<long>(off));
    }
}

// ---- messages -------------------------------------------------------------------------------

std::uint64_t Fleet::Worker::next_token(Device& d) {
    return lite::make_token(d.index, ++d.seq);
}

template <class F>
void Fleet::Worker::emit(Device& d, F&& build) {
    lite::Builder b(scratch, sizeof scratch);
    build(b);
    const std::size_t n = b.finish();
    if (n == 0) return;
    if (s.options.transport == DeviceTransport::udp) {
        ::send(d.fd, scratch, n, 0);
        return;
    }
    d.out.insert(d.out.end(), scratch, scratch + n);
}

void Fleet::Worker::flush(Device& d) {
    if (d.fd < 0 || d.out.empty() || d.state != State::up) return;
    std::size_t done = 0;
    while (done < d.out.size()) {
        const auto r = d.stream->write(d.out.data() + done, d.out.size() - done);
        if (r.status == IoStatus::ok) {
            done += r.bytes;
            continue;
        }
        if (r.status == IoStatus::want_write || r.status == IoStatus::want_read) break;
        fail(d, 200 * ms, true);
        return;
    }
    d.out.erase(d.out.begin(), d.out.begin() + static_cast<long>(done));
    set_out_interest(d, !d.out.empty());
}

void Fleet::Worker::send_register(Device& d) {
    d.pending = Pending::register_;
    d.pending_token = next_token(d);
    d.pending_ns = now_ns();
    const bool udp = s.options.transport == DeviceTransport::udp;
    const coap::Message reg = device::make_register(
        {endpoint_name(s.options.prefix, d.index), s.options.lifetime, "1.1", udp ? "U" : "T"},
        s.links);
    emit(d, [&](lite::Builder& b) {
        if (udp) {
            b.udp(lite::Type::con, code::post, d.mid++, d.pending_token);
        } else {
            b.tcp(code::post, d.pending_token);
        }
        b.body(reg);
    });
    if (udp) schedule(d, d.pending_ns + 2000 * ms);  // retransmit until registered
}

void Fleet::Worker::send_update(Device& d) {
    d.pending = Pending::update;
    d.pending_token = next_token(d);
    d.pending_ns = now_ns();
    const coap::Message update = device::make_update("/rd/" + std::to_string(d.index));
    emit(d, [&](lite::Builder& b) {
        b.tcp(code::post, d.pending_token);
        b.body(update);
    });
}

void Fleet::Worker::send_uplink(Device& d) {
    d.uplinking = true;
    d.pending = Pending::uplink;
    d.pending_token = next_token(d);
    d.pending_ns = now_ns();
    emit(d, [&](lite::Builder& b) {
        b.tcp(code::post, d.pending_token);
        if (s.options.proxy_uri.empty()) b.option(option::uri_path, "dp");
        b.uint_option(option::content_format, content_format::senml_json);
        if (!s.options.proxy_uri.empty()) b.option(option::proxy_uri, s.options.proxy_uri);
        b.payload(Span(s.payload.data(), s.payload.size()));
    });
}

void Fleet::Worker::handle(Device& d, const MessageView& m) {
    switch (m.code) {
        case code::csm:
        case code::pong:
            return;
        case code::ping:
            s.pings.fetch_add(1, std::memory_order_relaxed);
            emit(d, [&](lite::Builder& b) { b.tcp(code::pong, m.token); });
            return;
        case code::release: {
            s.refusals.fetch_add(1, std::memory_order_relaxed);
            const auto hold_off = m.uint_option(coap::signal_option::hold_off).value_or(1);
            close_device(d, false);
            schedule(d, now_ns() + std::min<std::uint64_t>(hold_off, 30) * 1000 * ms);
            return;
        }
        case code::abort:
            s.aborts.fetch_add(1, std::memory_order_relaxed);
            fail(d, 1000 * ms, false);
            return;
        default:
            break;
    }
    if (coap::code_class(m.code) == 0) {
        handle_request(d, m);
    } else {
        handle_response(d, m);
    }
}

void Fleet::Worker::handle_request(Device& d, const MessageView& m) {
    std::uint8_t answer = code::changed;
    std::optional<std::uint32_t> observe;
    bool with_payload = false;
    if (m.code == code::get) {
        answer = code::content;
        with_payload = true;
        if (m.uint_option(option::observe) == 0u) {
            observe = ++d.observe_seq;
            if (!d.observed) {
                d.observed = true;
                s.observed.fetch_add(1, std::memory_order_relaxed);
            }
            if (d.storm_wait_observe) {
                d.storm_wait_observe = false;
                s.storm_reobserved.fetch_add(1, std::memory_order_relaxed);
            }
        } else {
            s.reads.fetch_add(1, std::memory_order_relaxed);
        }
    }
    const bool udp = s.options.transport == DeviceTransport::udp;
    emit(d, [&](lite::Builder& b) {
        if (udp) {
            const bool con = m.type == lite::Type::con;
            b.udp(con ? lite::Type::ack : lite::Type::non, answer, con ? m.mid : d.mid++, m.token);
        } else {
            b.tcp(answer, m.token);
        }
        if (observe) b.uint_option(option::observe, *observe);
        if (with_payload) {
            b.uint_option(option::content_format, content_format::text_plain);
            b.payload(Span(s.payload.data(), s.payload.size()));
        }
    });
}

void Fleet::Worker::handle_response(Device& d, const MessageView& m) {
    if (d.pending == Pending::none || m.token_u64() != d.pending_token) return;
    const Pending kind = d.pending;
    d.pending = Pending::none;
    const std::uint64_t now = now_ns();
    switch (kind) {
        case Pending::register_:
            if (m.code == code::created) {
                d.registered = true;
                d.retry_at = 0;
                if (!d.ever_registered) {
                    d.ever_registered = true;
                    s.registered.fetch_add(1, std::memory_order_relaxed);
                }
                if (d.storm_wait_update) {
                    d.storm_wait_update = false;
                    s.storm_updated.fetch_add(1, std::memory_order_relaxed);
                }
                if (local(d) < s.uplink_window.load()) send_uplink(d);
            } else {
                if (s.register_errors.fetch_add(1, std::memory_order_relaxed) < 3) {
                    std::fprintf(stderr, "lwgate-bench: %s%u: Register answered %u.%02u '%.*s'\n",
                                 s.options.prefix.c_str(), d.index, coap::code_class(m.code),
                                 coap::code_detail(m.code), static_cast<int>(m.payload.size()),
                                 reinterpret_cast<const char*>(m.payload.data()));
                }
                // As a client should: a 5.03 (a cluster move that takes long, an overloaded
                // gateway) after its Max-Age, anything else after a second.
                std::uint64_t after = 1;
                if (m.code == code::service_unavailable)
                    after = std::min<std::uint64_t>(m.uint_option(option::max_age).value_or(1), 5);
                if (s.options.transport != DeviceTransport::udp)
                    schedule(d, now + after * 1000 * ms);
            }
            break;
        case Pending::update:
            if (m.code == code::service_unavailable) {
                // A cluster move in progress: lwgate asks to come back after Max-Age.
                s.update_retries.fetch_add(1, std::memory_order_relaxed);
                d.retry_update = true;
                const auto age = m.uint_option(option::max_age).value_or(1);
                schedule(d, now + std::min<std::uint64_t>(age, 5) * 1000 * ms);
            } else if (m.code == code::changed) {
                s.updated.fetch_add(1, std::memory_order_relaxed);
                if (d.storm_wait_update) {
                    d.storm_wait_update = false;
                    s.storm_updated.fetch_add(1, std::memory_order_relaxed);
                }
                if (local(d) < s.uplink_window.load()) send_uplink(d);
            } else {
                if (s.update_failures.fetch_add(1, std::memory_order_relaxed) < 3) {
                    std::fprintf(stderr, "lwgate-bench: %s%u: Update answered %u.%02u '%.*s'\n",
                                 s.options.prefix.c_str(), d.index, coap::code_class(m.code),
                                 coap::code_detail(m.code), static_cast<int>(m.payload.size()),
                                 reinterpret_cast<const char*>(m.payload.data()));
                }
                d.registered = false;  // 4.04: the registration is gone, register again
                send_register(d);
            }
            break;
        case Pending::uplink: {
            std::lock_guard lock(stats_mutex);
            if (coap::code_class(m.code) == 2) {
                ++stats.ok;
                stats.latency.record(now - d.pending_ns);
            } else {
                ++stats.failed;
            }
            d.uplinking = false;
            if (local(d) < s.uplink_window.load()) send_uplink(d);
            break;
        }
        case Pending::none:
            break;
    }
}

// ---- control and loop ---------------------------------------------------------------------

void Fleet::Worker::storm(std::uint64_t now) {
    // Every connection goes at once (RST), then every device reconnects at once.
    for (auto& d : devices) {
        d.storm_wait_update = d.registered;
        d.storm_wait_observe = d.observed;
        close_device(d, true);
        d.retry_at = 0;
    }
    for (auto& d : devices)
        start_connect(d, now);
    next_connect = devices.size();
}

void Fleet::Worker::update_uplinks() {
    const std::size_t window = s.uplink_window.load();
    for (auto& d : devices) {
        if (local(d) >= window) break;
        if (d.state == State::up && d.pending == Pending::none &&
            (d.registered || !s.options.register_devices)) {
            send_uplink(d);
            flush(d);
        }
    }
}

void Fleet::Worker::run() {
    epoll_event events[256];
    while (!s.stop.load(std::memory_order_relaxed)) {
        const std::uint64_t now = now_ns();
        if (const auto g = s.storm_generation.load(); g != seen_storm) {
            seen_storm = g;
            storm(now);
        }
        if (const auto k = s.silent_count.load(); k != seen_silent) {
            seen_silent = k;
            for (auto& d : devices) {
                if (local(d) >= k) break;
                if (d.fd < 0 || d.silent) continue;
                d.silent = true;
                d.silent_since = now;
                d.retry_at = 0;
                epoll_event ev{};
                ev.events = EPOLLRDHUP;
                ev.data.u64 = static_cast<std::uint64_t>(&d - devices.data());
                epoll_ctl(epoll_fd, EPOLL_CTL_MOD, d.fd, &ev);
            }
        }
        if (const auto w = s.uplink_window.load(); w != seen_window) {
            seen_window = w;
            update_uplinks();
        }
        // Paced first connections.
        if (next_connect < devices.size()) {
            const double rate = s.options.connect_rate / std::max(1u, s.options.threads);
            if (last_budget_ns == 0) last_budget_ns = now;
            connect_budget += rate * static_cast<double>(now - last_budget_ns) / 1e9;
            last_budget_ns = now;
            connect_budget = std::min(connect_budget, rate * 0.05 + 1);
            while (connect_budget >= 1 && next_connect < devices.size()) {
                start_connect(devices[next_connect++], now);
                connect_budget -= 1;
            }
        }
        while (!timers.empty() && timers.top().first <= now) {
            const auto [at, i] = timers.top();
            timers.pop();
            Device& d = devices[i];
            if (d.retry_at != at) continue;
            d.retry_at = 0;
            if (d.fd < 0) {
                start_connect(d, now);
            } else if (d.retry_update && d.state == State::up && d.pending == Pending::none) {
                d.retry_update = false;
                send_update(d);
                flush(d);
            } else if (!d.registered && d.state == State::up &&
                       (d.pending == Pending::none ||
                        s.options.transport == DeviceTransport::udp)) {
                send_register(d);  // UDP retransmission, or a retry after a failed Register
                flush(d);
            }
        }
        int timeout = 20;
        if (next_connect < devices.size()) timeout = 1;
        if (!timers.empty()) {
            const auto due = (timers.top().first - std::min(timers.top().first, now)) / ms;
            timeout = std::min<int>(timeout, static_cast<int>(due));
        }
        const int n = epoll_wait(epoll_fd, events, 256, timeout);
        for (int i = 0; i < n; ++i) {
            Device& d = devices[events[i].data.u64];
            on_event(d, events[i].events);
        }
    }
}

// ---- Fleet ----------------------------------------------------------------------------------

Fleet::Fleet(FleetOptions options) : options_(std::move(options)) {
    shared_ = std::make_shared<Shared>();
    shared_->options = options_;
    shared_->options.threads = std::max(1u, options_.threads);
    shared_->target = device::Address::ipv4(INADDR_LOOPBACK, options_.port);
    shared_->payload.assign(options_.payload, 'x');
    if (options_.transport == DeviceTransport::tls) {
        device::TlsOptions tls;
        // TLS 1.2 PSK with the RFC 7925 suite first, as constrained devices use it.
        tls.version = device::TlsVersion::tls1_2;
        tls.cipher_list = "PSK-AES128-CCM8:PSK-AES128-GCM-SHA256";
        tls.psk_per_connection = true;
        auto created = device::TlsClientContext::create(tls);
        if (!created) throw std::runtime_error(created.error().message());
        shared_->tls = std::move(created).value();
    }
    for (unsigned i = 0; i < shared_->options.threads; ++i)
        workers_.push_back(std::make_unique<Worker>(*shared_, i, shared_->options.threads));
}

Fleet::~Fleet() {
    shared_->stop = true;
    workers_.clear();
}

FleetCounters Fleet::counters() const {
    const Shared& s = *shared_;
    FleetCounters c;
    c.connected = s.connected.load();
    c.connections = s.connections.load();
    c.registered = s.registered.load();
    c.observed = s.observed.load();
    c.pings = s.pings.load();
    c.reads = s.reads.load();
    c.refusals = s.refusals.load();
    c.aborts = s.aborts.load();
    c.closed_by_peer = s.closed_by_peer.load();
    c.connect_errors = s.connect_errors.load();
    c.register_errors = s.register_errors.load();
    c.updated = s.updated.load();
    c.update_retries = s.update_retries.load();
    c.storm_updated = s.storm_updated.load();
    c.storm_reobserved = s.storm_reobserved.load();
    c.half_open_closed = s.half_open_closed.load();
    c.half_open_max_ns = s.half_open_max_ns.load();
    return c;
}

void Fleet::set_uplink_window(std::size_t window) {
    shared_->uplink_window = window;
}

UplinkStats Fleet::take_uplink_stats() {
    UplinkStats total;
    const std::uint64_t now = now_ns();
    for (auto& w : workers_) {
        std::lock_guard lock(w->stats_mutex);
        total.latency.merge(w->stats.latency);
        total.ok += w->stats.ok;
        total.failed += w->stats.failed;
        total.seconds = std::max(total.seconds, static_cast<double>(now - w->stats_since) / 1e9);
        w->stats = UplinkStats{};
        w->stats_since = now;
    }
    return total;
}

void Fleet::storm() {
    shared_->storm_generation.fetch_add(1);
}

void Fleet::go_silent(std::size_t count) {
    shared_->silent_count = count;
}

void print_fleet_errors(const FleetCounters& c) {
    std::printf(
        "  device-side errors: connect %llu, closed by peer %llu, aborts %llu, "
        "refusals (7.04) %llu, register failures %llu, Updates answered 5.03 %llu\n",
        static_cast<unsigned long long>(c.connect_errors),
        static_cast<unsigned long long>(c.closed_by_peer),
        static_cast<unsigned long long>(c.aborts), static_cast<unsigned long long>(c.refusals),
        static_cast<unsigned long long>(c.register_errors),
        static_cast<unsigned long long>(c.update_retries));
}

}  // namespace lwgate::bench
