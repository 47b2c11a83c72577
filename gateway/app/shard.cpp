#include "app/shard.hpp"

#include <spdlog/spdlog.h>
#include <asio/post.hpp>

#include "connection/downstream_session.hpp"
#include "log/fields.hpp"
#include "net/tls_context.hpp"

namespace lwgate::app {

using session::CloseReason;

namespace {

std::string endpoint_text(const asio::ip::tcp::socket& socket, bool remote) {
    std::error_code ec;
    const auto ep = remote ? socket.remote_endpoint(ec) : socket.local_endpoint(ec);
    if (ec) return "?";
    const auto address = ep.address().to_string();
    return (ep.address().is_v6() ? "[" + address + "]" : address) + ":" + std::to_string(ep.port());
}

}  // namespace

Shard::Shard(unsigned index, unsigned shard_count, session::SessionSettings settings,
             std::atomic<std::int64_t>& open_connections, const config::Config& config,
             lwm2m::Directory& directory, const TimeSource& time)
    : index_(index),
      time_(time),
      settings_(std::move(settings)),
      open_connections_(open_connections),
      work_(asio::make_work_guard(io_)),
      read_buffer_(64 * 1024),
      rng_(std::random_device{}()),
      summary_timer_(io_),
      bridge_(std::make_unique<lwm2m::Bridge>(index, shard_count, io_, config, directory, time)) {
    security_log_.on_summary_due([this](TimePoint at) { arm_summary(at); });
    bridge_->set_security_log(security_log_);
    // One probe per process is enough to know whether the core answers.
    if (index == 0 && config.upstream.probe_interval != Duration::zero())
        core_prober_ = std::make_unique<upstream::CoreProber>(io_, config.upstream, time);
}

void Shard::arm_summary(TimePoint at) {
    summary_timer_.expires_at(at);
    summary_timer_.async_wait([this](const std::error_code& ec) {
        if (!ec) security_log_.write_summaries(time_.now());
    });
}

std::optional<std::string> Shard::endpoint_of(std::uint64_t conn) const {
    return bridge_->router().registered_endpoint(conn);
}

Result<void, Error> Shard::start_bridge(const std::vector<Shard*>& shards) {
    std::vector<lwm2m::Bridge*> peers;
    for (auto* s : shards)
        peers.push_back(&s->bridge());
    bridge_->set_peers(std::move(peers));
    auto started = bridge_->start([this](std::uint64_t id) { return find_session(id); });
    if (started && core_prober_) {
        // Health then judges the core by failed uplinks alone, as with probe_interval 0.
        if (auto probing = core_prober_->start(); !probing) {
            spdlog::warn("the core is not probed (upstream.probe_interval): {}",
                         probing.error().message());
            core_prober_.reset();
        }
    }
    return started;
}

session::SessionBase* Shard::find_session(std::uint64_t id) {
    auto it = sessions_.find(id);
    return it == sessions_.end() ? nullptr : it->second.get();
}

Shard::~Shard() {
    stop_and_join();
}

void Shard::start_thread() {
    thread_ = std::thread([this] {
        logging::set_thread_shard(static_cast<int>(index_));
        io_.run();
    });
}

void Shard::stop_and_join() {
    if (!thread_.joinable()) return;
    work_.reset();
    io_.stop();
    thread_.join();
}

void Shard::adopt(asio::ip::tcp::socket&& socket, net::TlsServerContext* tls, std::uint64_t id,
                  bool allow_plain_registration,
                  std::optional<std::pair<CloseReason, std::uint32_t>> refusal,
                  session::PendingHandshakes::Ticket ticket, session::ProxyAdmit proxy) {
    asio::post(io_, [this, socket = std::move(socket), tls, id, allow_plain_registration, refusal,
                     ticket = std::move(ticket), proxy = std::move(proxy)]() mutable {
        session::ConnectionInfo info;
        info.id = id;
        info.remote = endpoint_text(socket, true);
        info.local = endpoint_text(socket, false);
        info.transport = tls ? session::Transport::tls : session::Transport::tcp;
        info.connected_since = time_.now();
        info.allow_plain_registration = allow_plain_registration;
        spdlog::debug("conn={} accepted remote={} local={} transport={} shard={}{}", id,
                      info.remote, info.local, session::to_string(info.transport), index_,
                      proxy ? " (PROXY header expected)" : "");
        if (tls) {
            auto s = std::make_shared<session::TlsSession>(
                *this, session::TlsStream(std::move(socket), tls->context().native_handle()),
                std::move(info));
            s->set_handshake_timeout(tls->handshake_timeout());
            s->set_handshake_ticket(std::move(ticket));
            if (proxy) s->expect_proxy_header(std::move(proxy));
            sessions_.emplace(id, s);
            s->start();
            return;
        }
        auto s = std::make_shared<session::TcpSession>(*this, std::move(socket), std::move(info));
        if (proxy) {
            // Plain TCP has no handshake: the header is due by the time a CSM would be.
            s->set_handshake_timeout(settings_.protocol.keepalive.csm_timeout);
            s->expect_proxy_header(std::move(proxy));
        }
        if (refusal) {
            refusing_.emplace(id, s);
            s->start_refused(refusal->first, refusal->second);
        } else {
            sessions_.emplace(id, s);
            s->start();
        }
    });
}

void Shard::on_device_message(session::SessionBase& session, coap::Message&& message) {
    bridge_->on_device_message(session, std::move(message));
}

void Shard::on_session_closed(session::SessionBase& session, CloseReason reason) {
    const auto id = session.info().id;
    if (!observers_.empty()) {
        // Before the bridge forgets what the connection spoke for.
        const auto& router = bridge_->router();
        const auto endpoint = router.registered_endpoint(id);
        const SessionClosed closed{session, reason, endpoint, router.close_expected(id)};
        for (auto* observer : observers_)
            observer->on_session_closed(closed);
    }
    bridge_->on_session_closed(session);
    if (sessions_.erase(id) != 0) {
        open_connections_.fetch_sub(1, std::memory_order_relaxed);
    } else {
        refusing_.erase(id);  // refused connections were never counted as open
    }
    check_drained();
}

void Shard::reload(ShardReload changes) {
    asio::post(io_, [this, changes = std::move(changes)]() mutable {
        if (changes.settings) {
            settings_ = std::move(*changes.settings);
            for (auto& [id, session] : sessions_)
                session->apply_keepalive(settings_.protocol.keepalive);
        }
        bridge_->reload(changes.bridge);
    });
}

void Shard::drain(std::uint32_t hold_off_min_s, std::uint32_t hold_off_max_s,
                  std::function<void()> on_empty) {
    asio::post(io_, [this, hold_off_min_s, hold_off_max_s, on_empty = std::move(on_empty)] {
        on_drained_ = on_empty;
        std::uniform_int_distribution<std::uint32_t> hold_off(
            hold_off_min_s, std::max(hold_off_min_s, hold_off_max_s));
        // Copy: drain() may close sessions, which erases them from the map.
        std::vector<session::SessionPtr> all;
        all.reserve(sessions_.size());
        for (auto& [id, s] : sessions_)
            all.push_back(s);
        for (auto& s : all)
            s->drain(hold_off(rng_));
        check_drained();
    });
}

void Shard::close_all(CloseReason reason) {
    asio::post(io_, [this, reason] {
        std::vector<session::SessionPtr> all;
        for (auto& [id, s] : sessions_)
            all.push_back(s);
        for (auto& s : all)
            s->close(reason, "drain timeout");
    });
}

void Shard::close_identities(std::shared_ptr<const std::unordered_set<std::string>> identities,
                             std::function<void(std::size_t)> closed) {
    asio::post(io_, [this, identities = std::move(identities), closed = std::move(closed)] {
        const auto count = close_identities_here(*identities);
        if (closed) closed(count);
    });
}

std::size_t Shard::close_identities_here(const std::unordered_set<std::string>& identities) {
    // Copy first: closing erases from sessions_.
    std::vector<session::SessionPtr> matching;
    for (auto& [id, s] : sessions_) {
        const auto& own = s->info().psk_identity;
        if (!own.empty() && identities.count(own)) matching.push_back(s);
    }
    for (auto& s : matching)
        s->close(CloseReason::credentials_revoked, "its PSK identity is no longer valid");
    return matching.size();
}

void Shard::check_drained() {
    if (on_drained_ && sessions_.empty()) std::exchange(on_drained_, nullptr)();
}

void Shard::acquire_handshake_slot(std::function<bool()> begin) {
    const unsigned limit = settings_.max_tls_handshakes;
    if (limit == 0 || handshakes_ < limit) {
        ++handshakes_;  // before begin(): a handshake that fails at once releases inside it
        if (!begin()) --handshakes_;
        return;
    }
    spdlog::debug("shard={} TLS handshake waits: {} in progress (connections.max_tls_handshakes)",
                  index_, handshakes_);
    handshake_waiting_.push_back(std::move(begin));
}

void Shard::release_handshake_slot() {
    if (handshakes_ > 0) --handshakes_;
    const unsigned limit = settings_.max_tls_handshakes;
    while (!handshake_waiting_.empty() && (limit == 0 || handshakes_ < limit)) {
        auto begin = std::move(handshake_waiting_.front());
        handshake_waiting_.pop_front();
        ++handshakes_;
        if (!begin()) --handshakes_;  // it closed while waiting
    }
}

}  // namespace lwgate::app
