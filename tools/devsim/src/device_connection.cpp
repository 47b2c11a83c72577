// Sockets, TLS, reading and writing, closing, and RFC 8323 signaling.
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <string>
#include <variant>

#include "device_impl.hpp"
#include "lwgate/coap/signaling.hpp"
#include "lwgate/device/framing.hpp"
#include "lwgate/device/socket.hpp"

namespace lwgate::devsim {

using detail::Connection;
using detail::Phase;
namespace code = coap::code;

using device::IoStatus;

namespace {

struct Dialed {
    int fd = -1;  // connecting; -1 on failure
    int error = 0;
    std::string text;  // why it failed
};

// A socket connecting to the server, from local_address if one is set.
Dialed dial(const DeviceOptions& opts) {
    const auto peer = device::resolve(opts.host, opts.port);
    if (!peer) return {-1, 0, peer.error().detail};
    std::optional<device::Address> source;
    if (!opts.local_address.empty()) {
        if (auto local = device::resolve(opts.local_address, 0)) source = *local;
    }
    if (!opts.local_address.empty() && (!source || source->family() != peer->family())) {
        return {-1, 0,
                "local_address " + opts.local_address + ": not an address of the server's family"};
    }
    const auto c = device::start_connect(*peer, source ? &*source : nullptr);
    if (c.fd >= 0) return {c.fd, 0, {}};
    return {-1, c.error,
            std::string(c.step) + " " + opts.host + ":" + std::to_string(opts.port) + ": " +
                device::errno_text(c.error)};
}

}  // namespace

void DeviceSimulator::Impl::start_connect(SteadyClock::time_point deadline, ResultCallback done) {
    if (shut_down) {
        done(Result{Status::connection_closed, {}, "simulator destroyed"});
        return;
    }
    if (open_connection()) {
        done(Result{Status::ok, {}, {}});
        return;
    }
    connect_waiters.push_back(std::move(done));
    if (conn) return;  // a connect is in progress: it completes every waiter

    const auto fail_now = [this](Status status, CloseReason reason, int err, std::string text) {
        update_shared([&] {
            shared_state = ConnectionState::closed;
            shared_last_close = CloseInfo{reason, err, text, 0, SteadyClock::now()};
            ++shared_closes;
        });
        auto waiters = std::exchange(connect_waiters, {});
        for (auto& w : waiters)
            w(Result{status, {}, text});
    };

    const auto dialed = dial(opts);
    if (dialed.fd < 0) {
        fail_now(Status::connect_failed, CloseReason::connect_failed, dialed.error, dialed.text);
        return;
    }
    const int fd = dialed.fd;
    if (opts.transport == Transport::tls && !tls_context) {
        auto created = device::TlsClientContext::create(opts.tls);
        if (!created) {
            ::close(fd);
            fail_now(Status::tls_failed, CloseReason::tls_failed, 0, created.error().detail);
            return;
        }
        tls_context = std::move(created).value();
    }

    conn = std::make_unique<Connection>(opts.max_message_size);
    Connection& c = *conn;
    c.fd = fd;
    c.phase = Phase::tcp_connecting;
    update_shared([&] {
        shared_state = ConnectionState::connecting;
        shared_silent = false;
        shared_local_port = 0;
    });
    c.interest = EPOLLOUT;
    c.watch = loop.watch(fd, c.interest, [this, &c](std::uint32_t ev) {
        enter();
        on_io(c, ev);
    });
    c.timer = loop.call_at(deadline, [this, &c] {
        enter();
        c.timer = 0;
        fail_connect(
            c, Status::timeout, CloseReason::connect_timeout, 0,
            c.phase == Phase::tls_handshaking ? "TLS handshake timed out" : "connect timed out");
    });
}

void DeviceSimulator::Impl::fail_connect(Connection& c, Status status, CloseReason reason, int err,
                                         std::string text) {
    if (conn.get() != &c) return;
    if (c.timer) loop.cancel(c.timer);
    c.timer = 0;
    auto owned = std::move(conn);
    final_close(*owned, /*reset=*/false);
    graveyard.push_back(std::move(owned));
    update_shared([&] {
        shared_state = ConnectionState::closed;
        shared_last_close = CloseInfo{reason, err, text, 0, SteadyClock::now()};
        ++shared_closes;
    });
    emit(Event::Kind::closed, std::string("connect failed: ") + to_string(reason) + " " + text);
    auto waiters = std::exchange(connect_waiters, {});
    for (auto& w : waiters)
        w(Result{status, {}, text});
}

void DeviceSimulator::Impl::on_io(Connection& c, std::uint32_t events) {
    switch (c.phase) {
        case Phase::tcp_connecting: {
            const int so_error = device::connect_error(c.fd);
            if (so_error == 0 && !(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
            if (so_error != 0) {
                fail_connect(c, Status::connect_failed, CloseReason::connect_failed, so_error,
                             "connect " + opts.host + ":" + std::to_string(opts.port) + ": " +
                                 device::errno_text(so_error));
                return;
            }
            if (opts.transport == Transport::tls) {
                auto created = device::TlsStream::create(tls_context, c.fd, opts.host);
                if (!created) {
                    fail_connect(c, Status::tls_failed, CloseReason::tls_failed, 0,
                                 created.error().detail);
                    return;
                }
                c.stream = std::move(created).value();
                c.phase = Phase::tls_handshaking;
                do_handshake(c);
            } else {
                c.stream = std::make_unique<device::TcpStream>(c.fd);
                on_open(c);
            }
            return;
        }
        case Phase::tls_handshaking:
            do_handshake(c);
            return;
        case Phase::open:
            if (c.silent) return;
            if ((events & EPOLLOUT) && c.read_wants_write) {
                c.read_wants_write = false;
                do_read(c);
                if (c.phase != Phase::open) return;
            }
            if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
                if (c.write_wants_read) {
                    c.write_wants_read = false;
                    flush(c);
                    if (c.phase != Phase::open) return;
                }
                do_read(c);
                if (c.phase != Phase::open) return;
            }
            if (events & EPOLLOUT) flush(c);
            return;
        case Phase::closing:
            if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) flush(c);
            return;
        case Phase::lingering:
            drain_lingering(c);
            return;
        case Phase::closed:
            return;
    }
}

void DeviceSimulator::Impl::do_handshake(Connection& c) {
    const auto r = c.stream->handshake();
    switch (r.status) {
        case IoStatus::ok:
            c.description = c.stream->describe();
            on_open(c);
            return;
        case IoStatus::want_read:
            c.handshake_wants_write = false;
            update_interest(c);
            return;
        case IoStatus::want_write:
            c.handshake_wants_write = true;
            update_interest(c);
            return;
        default:
            fail_connect(c, Status::tls_failed, CloseReason::tls_failed, r.error,
                         "TLS handshake: " + r.detail);
    }
}

void DeviceSimulator::Impl::on_open(Connection& c) {
    if (c.timer) loop.cancel(c.timer);
    c.timer = 0;
    c.phase = Phase::open;
    c.last_rx = c.last_tx = SteadyClock::now();
    const std::uint16_t port = device::local_port(c.fd);
    update_shared([&] {
        c.number = ++stats.connections;
        shared_state = ConnectionState::connected;
        shared_gateway_csm.reset();
        shared_local_port = port;
    });
    emit(Event::Kind::connected, "connected " + opts.host + ":" + std::to_string(opts.port) +
                                     " local_port=" + std::to_string(port) +
                                     " transport=" + c.description);
    if (opts.send_csm) {
        send_on(c, coap::make_csm(opts.max_message_size, opts.csm_block_wise_transfer));
    }
    update_interest(c);
    arm_ping_timer();
    auto waiters = std::exchange(connect_waiters, {});
    for (auto& w : waiters)
        w(Result{Status::ok, {}, {}});
}

void DeviceSimulator::Impl::update_interest(Connection& c) {
    std::uint32_t want = 0;
    switch (c.phase) {
        case Phase::tcp_connecting:
            want = EPOLLOUT;
            break;
        case Phase::tls_handshaking:
            want = c.handshake_wants_write ? EPOLLOUT : EPOLLIN;
            break;
        case Phase::open: {
            const bool tx_pending = c.tx_off < c.tx.size();
            want = EPOLLIN;
            if ((tx_pending && !c.write_wants_read) || c.read_wants_write) want |= EPOLLOUT;
            break;
        }
        case Phase::closing:
            want = EPOLLOUT;
            break;
        case Phase::lingering:
            want = EPOLLIN;
            break;
        case Phase::closed:
            return;
    }
    if (c.silent && c.phase == Phase::open) {
        // A half-open device reads nothing; even errors would spin a level-triggered poll.
        if (c.watch) loop.unwatch(c.watch);
        c.watch = 0;
        return;
    }
    if (!c.watch) {
        c.interest = want;
        c.watch = loop.watch(c.fd, want, [this, &c](std::uint32_t ev) {
            enter();
            on_io(c, ev);
        });
        return;
    }
    if (want != c.interest) {
        c.interest = want;
        loop.modify(c.watch, want);
    }
}

void DeviceSimulator::Impl::do_read(Connection& c) {
    std::uint8_t buf[16384];
    // Level-triggered: drain until the stream wants more input (TLS may hold decrypted data
    // the socket no longer signals).
    for (int round = 0; round < 1024; ++round) {
        const auto r = c.stream->read(buf, sizeof buf);
        switch (r.status) {
            case IoStatus::ok:
                c.last_rx = SteadyClock::now();
                update_shared([&] { stats.bytes_in += r.bytes; });
                feed(c, coap::ByteView(buf, r.bytes));
                if (c.phase != Phase::open || c.silent) return;
                continue;
            case IoStatus::want_read:
                return;
            case IoStatus::want_write:
                c.read_wants_write = true;
                update_interest(c);
                return;
            case IoStatus::eof:
                close_connection(c, CloseReason::peer_closed, CloseMode::immediate, 0, r.detail);
                return;
            case IoStatus::error:
                close_connection(c, CloseReason::peer_reset, CloseMode::immediate, r.error,
                                 r.detail);
                return;
        }
    }
}

void DeviceSimulator::Impl::drain_lingering(Connection& c) {
    std::uint8_t buf[16384];
    while (true) {
        const ssize_t n = ::read(c.fd, buf, sizeof buf);
        if (n > 0) continue;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        break;  // EOF or error: done
    }
    retire(c, /*reset=*/false);
}

void DeviceSimulator::Impl::retire(Connection& c, bool reset) {
    final_close(c, reset);
    for (auto it = lingering.begin(); it != lingering.end(); ++it) {
        if (it->get() == &c) {
            graveyard.push_back(std::move(*it));
            lingering.erase(it);
            break;
        }
    }
}

void DeviceSimulator::Impl::feed(Connection& c, coap::ByteView bytes) {
    device::decode_frames(c.decoder, bytes, [&](coap::DecodeResult&& result) {
        on_decoded(c, std::move(result));
        return c.phase == Phase::open && !c.silent;
    });
}

void DeviceSimulator::Impl::on_decoded(Connection& c, coap::DecodeResult&& result) {
    if (auto* failure = std::get_if<coap::DecodeFailure>(&result)) {
        update_shared([&] { ++stats.decode_errors; });
        const std::string what = coap::make_error_code(failure->error).message();
        if (failure->fatal) {
            abort_connection(c, std::nullopt, "framing lost: " + what);
            return;
        }
        if (failure->has_header && coap::is_request(failure->code)) {
            update_shared([&] { ++stats.responses_sent; });
            if (failure->error == coap::CodecError::message_too_large) {
                coap::Message r(code::request_entity_too_large, failure->token);
                r.add_uint_option(coap::option::size1, opts.max_message_size);
                send_on(c, r);
            } else {
                coap::Message r(code::bad_request, failure->token);
                r.set_payload(what);
                send_on(c, r);
            }
        } else if (failure->has_header && coap::is_signaling(failure->code)) {
            abort_connection(c, std::nullopt, "bad signaling message: " + what);
        }
        return;
    }
    coap::Message m = std::get<coap::Message>(std::move(result));
    if (m.code() == code::empty) return;  // keepalive
    if (coap::is_signaling(m.code())) {
        on_signal(c, m);
    } else if (coap::is_request(m.code())) {
        on_request(c, std::move(m));
    } else if (coap::is_response(m.code())) {
        on_response(c, std::move(m));
    }
    // Other classes (1, 6) are ignored.
}

void DeviceSimulator::Impl::on_signal(Connection& c, const coap::Message& m) {
    auto parsed = coap::parse_signal(m);
    if (auto* error = std::get_if<coap::SignalError>(&parsed)) {
        if (m.code() == code::csm && error->option != 0) {
            abort_connection(c, error->option, "unsupported critical CSM option");
        } else {
            abort_connection(c, std::nullopt,
                             "bad signaling message " + coap::code_to_string(m.code()));
        }
        return;
    }
    const auto& signal = std::get<coap::Signal>(parsed);
    const auto now = SteadyClock::now();
    update_shared([&] { push_record(signal_records, ReceivedSignal{c.number, now, m, signal}); });

    if (const auto* csm = std::get_if<coap::Csm>(&signal)) {
        c.peer.apply(*csm);
        c.peer_csm = true;
        update_shared([&] {
            ++stats.csms_received;
            shared_gateway_csm = c.peer;
        });
        emit(Event::Kind::csm_received,
             "csm max_message_size=" + std::to_string(c.peer.max_message_size) +
                 " block_wise_transfer=" + (c.peer.block_wise_transfer ? "1" : "0"));
    } else if (std::get_if<coap::Ping>(&signal)) {
        update_shared([&] {
            ++stats.pings_received;
            if (opts.answer_pings) ++stats.pongs_sent;
        });
        emit(Event::Kind::ping_received, "ping token=" + m.token().to_hex());
        if (opts.answer_pings) send_on(c, coap::make_pong(m));
    } else if (std::get_if<coap::Pong>(&signal)) {
        update_shared([&] { ++stats.pongs_received; });
        if (auto ping = pending.take_pong(m, detail::PendingSet::PongMatch::any_pong_is_life)) {
            complete(*ping, Result{Status::ok, m, {}});
        }
    } else if (const auto* release = std::get_if<coap::Release>(&signal)) {
        update_shared([&] { ++stats.releases_received; });
        emit(Event::Kind::release_received,
             "release hold_off=" +
                 (release->hold_off_seconds ? std::to_string(*release->hold_off_seconds) : "-") +
                 " alternative_address=" + release->alternative_address.value_or("-"));
        if (opts.close_on_release) {
            close_connection(c, CloseReason::release_received, CloseMode::graceful, 0,
                             release->diagnostic);
        }
    } else if (const auto* abort = std::get_if<coap::Abort>(&signal)) {
        update_shared([&] { ++stats.aborts_received; });
        emit(Event::Kind::abort_received, "abort diagnostic='" + abort->diagnostic + "'");
        close_connection(c, CloseReason::abort_received, CloseMode::immediate, 0,
                         abort->diagnostic);
    }
}

bool DeviceSimulator::Impl::send_on(Connection& c, const coap::Message& m) {
    if (c.phase != Phase::open || c.silent) return false;
    coap::encode_into(m, c.tx);
    flush(c);
    return true;
}

bool DeviceSimulator::Impl::send_bytes_on(Connection& c, coap::ByteView bytes) {
    if (c.phase != Phase::open || c.silent) return false;
    c.tx.insert(c.tx.end(), bytes.begin(), bytes.end());
    flush(c);
    return true;
}

void DeviceSimulator::Impl::flush(Connection& c) {
    if (!c.stream) return;
    std::uint64_t written = 0;
    while (c.tx_off < c.tx.size()) {
        const auto r = c.stream->write(c.tx.data() + c.tx_off, c.tx.size() - c.tx_off);
        if (r.status == IoStatus::ok) {
            c.tx_off += r.bytes;
            written += r.bytes;
            continue;
        }
        if (r.status == IoStatus::want_write) break;
        if (r.status == IoStatus::want_read) {
            c.write_wants_read = true;
            break;
        }
        if (written) update_shared([&] { stats.bytes_out += written; });
        if (c.phase == Phase::open) {
            close_connection(c, CloseReason::peer_reset, CloseMode::immediate, r.error, r.detail);
        } else {
            retire(c, false);
        }
        return;
    }
    if (written) {
        c.last_tx = SteadyClock::now();
        update_shared([&] { stats.bytes_out += written; });
    }
    if (c.tx_off == c.tx.size()) {
        c.tx.clear();
        c.tx_off = 0;
    } else if (c.tx_off > 65536 && c.tx_off * 2 > c.tx.size()) {
        c.tx.erase(c.tx.begin(), c.tx.begin() + static_cast<std::ptrdiff_t>(c.tx_off));
        c.tx_off = 0;
    }
    if (c.phase == Phase::closing && c.tx.empty()) {
        send_fin(c);
        return;
    }
    update_interest(c);
}

void DeviceSimulator::Impl::abort_connection(Connection& c,
                                             std::optional<std::uint16_t> bad_csm_option,
                                             std::string diagnostic) {
    if (c.phase != Phase::open) return;
    const bool was_silent = c.silent;
    c.silent = false;
    send_on(c, coap::make_abort(bad_csm_option, diagnostic));
    c.silent = was_silent;
    update_shared([&] { ++stats.aborts_sent; });
    close_connection(c, CloseReason::abort_sent, CloseMode::graceful, 0, diagnostic);
}

void DeviceSimulator::Impl::close_connection(Connection& c, CloseReason reason, CloseMode mode,
                                             int err, std::string text) {
    if (conn.get() != &c) {
        // Not the current connection (lingering): just finish it.
        retire(c, mode == CloseMode::reset);
        return;
    }
    auto owned = std::move(conn);
    if (ping_timer) loop.cancel(ping_timer);
    ping_timer = 0;
    observations.clear();
    block1_receives.clear();
    const std::size_t number = c.number;
    update_shared([&] {
        shared_state = ConnectionState::closed;
        shared_silent = false;
        shared_last_close = CloseInfo{reason, err, text, number, SteadyClock::now()};
        ++shared_closes;
    });
    emit(Event::Kind::closed, std::string("closed reason=") + to_string(reason) +
                                  (text.empty() ? "" : " detail='" + text + "'"));
    fail_all_pending(Status::connection_closed,
                     std::string("connection closed: ") + to_string(reason));
    auto waiters = std::exchange(connect_waiters, {});
    for (auto& w : waiters)
        w(Result{Status::connection_closed, {}, to_string(reason)});

    if (mode == CloseMode::graceful && c.fd >= 0 &&
        (c.phase == Phase::open || c.phase == Phase::closing)) {
        c.silent = false;
        c.phase = Phase::closing;
        if (c.timer) loop.cancel(c.timer);
        Connection* raw = &c;
        c.timer = loop.call_at(SteadyClock::now() + opts.linger_timeout, [this, raw] {
            enter();
            raw->timer = 0;
            // Still flushing: the peer does not take our data; give up with RST. Lingering: the
            // peer never sent its FIN; close normally.
            retire(*raw, raw->phase == Phase::closing);
        });
        lingering.push_back(std::move(owned));
        flush(c);  // sends the FIN once everything queued is out
        return;
    }
    final_close(c, mode == CloseMode::reset);
    graveyard.push_back(std::move(owned));
}

void DeviceSimulator::Impl::send_fin(Connection& c) {
    if (c.stream) c.stream->close_notify();
    ::shutdown(c.fd, SHUT_WR);
    c.phase = Phase::lingering;
    auto waiters = std::exchange(c.on_fin, {});
    for (auto& w : waiters)
        w(Result{Status::ok, {}, {}});
    update_interest(c);
    // Input may already be waiting (or the peer's FIN): the level-triggered watch reports it.
}

void DeviceSimulator::Impl::final_close(Connection& c, bool reset) {
    if (c.phase == Phase::closed) return;
    if (c.watch) loop.unwatch(c.watch);
    c.watch = 0;
    if (c.timer) loop.cancel(c.timer);
    c.timer = 0;
    if (c.fd >= 0) {
        if (reset) device::reset_on_close(c.fd);
        ::close(c.fd);
        c.fd = -1;
    }
    c.phase = Phase::closed;
    auto waiters = std::exchange(c.on_fin, {});
    for (auto& w : waiters)
        w(Result{Status::ok, {}, {}});
}

void DeviceSimulator::Impl::set_silent(bool silent) {
    if (!conn || conn->phase != Phase::open) return;
    conn->silent = silent;
    update_shared([&] { shared_silent = silent; });
    update_interest(*conn);
    if (!silent) {
        flush(*conn);
        arm_ping_timer();
    }
}

void DeviceSimulator::Impl::arm_ping_timer() {
    if (opts.ping_interval.count() <= 0 || ping_timer) return;
    Connection* c = open_connection();
    if (!c) return;
    const auto due = std::max(c->last_rx, c->last_tx) + opts.ping_interval;
    ping_timer = loop.call_at(due, [this] {
        enter();
        ping_timer = 0;
        Connection* c = open_connection();
        if (!c || c->silent) return;
        const auto now = SteadyClock::now();
        if (now - std::max(c->last_rx, c->last_tx) >= opts.ping_interval) {
            coap::Message ping = coap::make_ping(make_token());
            if (send_on(*c, ping)) update_shared([&] { ++stats.pings_sent; });
        }
        arm_ping_timer();
    });
}

void DeviceSimulator::Impl::shutdown() {
    if (shut_down) return;
    shut_down = true;
    if (ping_timer) loop.cancel(ping_timer);
    ping_timer = 0;
    if (deadline_timer) loop.cancel(deadline_timer);
    deadline_timer = 0;
    fail_all_pending(Status::connection_closed, "simulator destroyed");
    auto waiters = std::exchange(connect_waiters, {});
    for (auto& w : waiters)
        w(Result{Status::connection_closed, {}, "simulator destroyed"});
    if (conn) {
        Connection& c = *conn;
        if (c.phase == Phase::open) ::shutdown(c.fd, SHUT_WR);
        final_close(c, false);
        const std::size_t number = c.number;
        update_shared([&] {
            shared_state = ConnectionState::closed;
            shared_last_close = CloseInfo{CloseReason::shutdown, 0, {}, number, SteadyClock::now()};
            ++shared_closes;
        });
        conn.reset();
    }
    for (auto& l : lingering)
        final_close(*l, false);
    lingering.clear();
    graveyard.clear();
}

}  // namespace lwgate::devsim
