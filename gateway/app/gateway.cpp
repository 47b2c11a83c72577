#include "app/gateway.hpp"

#include "net/socket_options.hpp"

#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <random>

#include <spdlog/spdlog.h>
#include <asio/post.hpp>

namespace lwgate::app {

using session::CloseReason;

namespace {

std::uint32_t whole_seconds(config::Duration d) {
    return static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(d).count());
}

std::uint64_t random_seed() {
    std::random_device random;
    return (std::uint64_t{random()} << 32) | random();
}

std::optional<session::AddressCounts::Address> source_address(const asio::ip::tcp::socket& socket) {
    std::error_code ec;
    const auto address = socket.remote_endpoint(ec).address();
    if (ec) return std::nullopt;
    // IPv4 as IPv4-mapped IPv6: on a dual-stack listener an address counts once either way.
    return address.is_v4()
               ? asio::ip::make_address_v6(asio::ip::v4_mapped, address.to_v4()).to_bytes()
               : address.to_v6().to_bytes();
}

// Why a signal stops the process. systemd sets INVOCATION_ID for the services it runs: then a
// SIGTERM is most likely its stop (or restart) job.
std::string signal_reason(int signo) {
    if (signo == SIGINT) return "SIGINT received (interrupt)";
    if (signo != SIGTERM) return "signal " + std::to_string(signo) + " received";
    if (std::getenv("INVOCATION_ID")) return "SIGTERM received (systemd stop or restart, or kill)";
    return "SIGTERM received";
}

}  // namespace

session::SessionSettings session_settings_from(const config::Config& c) {
    session::SessionSettings s;
    s.protocol.max_message_size = c.connections.max_message_size;
    s.protocol.block_wise_transfer = true;
    s.protocol.keepalive.idle = c.keepalive.idle;
    s.protocol.keepalive.pong_timeout = c.keepalive.pong_timeout;
    s.protocol.keepalive.max_missed = c.keepalive.max_missed;
    s.protocol.keepalive.csm_timeout = c.connections.csm_timeout;
    s.protocol.keepalive.csm_strict = c.connections.csm_mode == config::CsmMode::strict;
    s.protocol.keepalive.unregistered_idle = c.connections.unregistered_idle;
    s.write_queue_limit = c.connections.write_queue_limit;
    s.write_timeout = c.connections.write_timeout;
    s.max_tls_handshakes = c.connections.max_tls_handshakes;
    // Room for the device's whole uplink bound, and some: beyond it the relay answers 5.03
    // itself, beyond this the connection is not read until answers have gone out.
    s.protocol.max_unanswered_requests =
        std::size_t{c.device_limits.uplinks_in_flight} + c.device_limits.uplinks_queued + 32;
    return s;
}

Gateway::Gateway(config::Config config, const TimeSource& time)
    : config_(std::move(config)),
      time_(time),
      pending_handshakes_(random_seed()),
      signals_(control_),
      drain_timer_(control_),
      accept_bucket_(config_.connections.accept_rate.per_second,
                     config_.connections.accept_rate.burst
                         ? config_.connections.accept_rate.burst
                         : config_.connections.accept_rate.per_second,
                     time_.now()) {}

Gateway::~Gateway() {
    for (auto& shard : shards_)
        shard->stop_and_join();
    // The store commits what is pending as it closes, and its commit listener reaches into the
    // shards: it must go while they still exist (their loops have stopped; what it posts is
    // never run).
    store_.reset();
}

namespace {

// RLIMIT_NOFILE as main() left it (soft raised to hard).
std::uint64_t descriptor_limit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) {
        return DescriptorBudget::unlimited;
    }
    return limit.rlim_cur;
}

}  // namespace

Result<void, Error> Gateway::start() {
    const auto settings = session_settings_from(config_);
    descriptor_budget_ = DescriptorBudget(descriptor_limit());
    directory_.set_session_limit(
        descriptor_budget_.registrations(config_.connections.max_registrations));
    directory_.set_descriptor_room([this](std::uint64_t sessions_after) {
        const auto open = std::max<std::int64_t>(0, open_connections_.load());
        return descriptor_budget_.opens_session(static_cast<std::uint64_t>(open), sessions_after);
    });
    spdlog::info("descriptor limit {}: at most {} registrations",
                 descriptor_budget_.limit() == DescriptorBudget::unlimited
                     ? std::string("none")
                     : std::to_string(descriptor_budget_.limit()),
                 directory_.session_limit());
    const unsigned threads = std::max(1u, config_.threads);
    for (unsigned i = 0; i < threads; ++i) {
        shards_.push_back(std::make_unique<Shard>(i, threads, settings, open_connections_, config_,
                                                  directory_, time_));
    }
    std::vector<Shard*> all;
    for (auto& s : shards_) {
        s->bridge().use_credentials(credentials_);
        all.push_back(s.get());
        close_recorders_.push_back(std::make_unique<CloseRecorder>(time_));
        s->subscribe(*close_recorders_.back());
    }
    if (auto opened = open_store(); !opened) return opened;  // persistence (gateway_store.cpp)
    for (auto& s : shards_) {
        if (auto started = s->start_bridge(all); !started) {
            const auto& e = started.error();
            return fail(Error{e.code, "upstream " + config_.upstream.uri + ": " + e.detail});
        }
    }
    if (auto opened = open_listeners(); !opened) return opened;
    for (auto& shard : shards_)
        shard->start_thread();
    start_credential_watcher();
    if (instance_link_) instance_link_->start();
    for (auto& l : listeners_) {
        l->start();
        spdlog::info("listening on {}", l->bound_uri());
    }
    if (auto started = start_admin(); !started) return started;
    heap_trimmer_ = std::make_unique<HeapTrimmer>(control_, [this] { return connection_events(); });
    heap_trimmer_->start();

    signals_.add(SIGTERM);
    signals_.add(SIGINT);
    signals_.add(SIGHUP);
    wait_for_signal();
    notify_ready();
    return {};
}

// Binds every listener (port 0 takes one now) and makes its TLS context; none accepts yet.
Result<void, Error> Gateway::open_listeners() {
    const net::PskLookup psk = [this](std::string_view identity, std::vector<std::uint8_t>& key) {
        return credentials_.psk_key(identity, key);
    };
    for (const auto& lc : config_.listeners) {
        net::TlsServerContext* tls = nullptr;
        if (lc.tls) {
            auto created = net::TlsServerContext::create(*lc.tls, lc.tls->psk ? psk : nullptr);
            if (!created) {
                const auto& e = created.error();
                return fail(Error{e.code, "listener " + lc.endpoint.text + ": " + e.detail});
            }
            tls_contexts_.push_back(std::move(created).value());
            tls = tls_contexts_.back().get();
        }
        auto listener = std::make_unique<net::Listener>(
            control_, lc, tls, [this]() -> asio::io_context& { return next_shard_context(); },
            [this](net::Listener& l, asio::ip::tcp::socket&& s) { on_accept(l, std::move(s)); });
        if (auto ec = listener->open()) {
            return fail(Error{ec, "listener " + lc.endpoint.text + ": " + ec.message()});
        }
        listeners_.push_back(std::move(listener));
    }
    return {};
}

void Gateway::wait_for_signal() {
    signals_.async_wait([this](const std::error_code& ec, int signo) {
        if (ec) return;
        if (signo == SIGHUP) {
            reload(true, "SIGHUP");
            wait_for_signal();
            return;
        }
        begin_drain(signal_reason(signo));
    });
}

std::vector<std::string> Gateway::bound_uris() const {
    std::vector<std::string> out;
    for (const auto& l : listeners_)
        out.push_back(l->bound_uri());
    return out;
}

asio::io_context& Gateway::next_shard_context() {
    auto& shard = *shards_[next_accept_shard_];
    next_accept_shard_ = (next_accept_shard_ + 1) % shards_.size();
    return shard.io();
}

void Gateway::on_accept(net::Listener& listener, asio::ip::tcp::socket&& socket) {
    Shard* target = nullptr;
    for (auto& shard : shards_) {
        if (&socket.get_executor().context() == &shard->io()) target = shard.get();
    }
    if (!target || draining_) return;  // socket closes as it goes out of scope

    std::optional<std::pair<CloseReason, std::uint32_t>> refusal;
    session::PendingHandshakes::Ticket ticket;
    const auto open = open_connections_.load(std::memory_order_relaxed);
    if (open >= static_cast<std::int64_t>(config_.connections.max)) {
        accept_metrics_.refused_limit.add();
        refusal.emplace(CloseReason::limit_connections, 0);
    } else if (!descriptor_budget_.accepts(static_cast<std::uint64_t>(open),
                                           directory_.sessions())) {
        accept_metrics_.refused_descriptors.add();
        refusal.emplace(CloseReason::limit_connections, 0);
    } else if (listener.is_tls() && !listener.config().proxy_protocol) {
        // Before the rate: connections refused here take no token from the devices behind.
        auto admitted = admit_handshake(listener, socket);
        if (!admitted) return;
        ticket = std::move(*admitted);
    }
    if (!refusal && !accept_bucket_.try_take(time_.now())) {
        accept_metrics_.refused_rate.add();
        refusal.emplace(CloseReason::limit_rate, 0);
    }
    if (refusal) {
        static thread_local std::mt19937 rng{std::random_device{}()};
        std::uniform_int_distribution<std::uint32_t> hold_off(
            whole_seconds(config_.shutdown.hold_off_min),
            std::max(whole_seconds(config_.shutdown.hold_off_min),
                     whole_seconds(config_.shutdown.hold_off_max)));
        refusal->second = hold_off(rng);
        spdlog::debug("refusing connection on {}: {}", listener.bound_uri(),
                      session::to_string(refusal->first));
        if (listener.is_tls()) {
            // A TLS refusal would cost a full handshake; a TCP close is cheaper for everyone.
            std::error_code ignored;
            socket.close(ignored);
            return;
        }
        target->adopt(std::move(socket), nullptr, next_id_++, true, refusal, {},
                      proxy_admission(listener));
        return;
    }
    accept_metrics_.accepted.add();
    open_connections_.fetch_add(1, std::memory_order_relaxed);
    const auto& opts = config_.tcp;
    if (auto ec = net::apply_tcp_options(socket, opts)) {
        spdlog::warn("setting TCP options: {}", ec.message());
    }
    target->adopt(std::move(socket), listener.tls(), next_id_++,
                  listener.config().allow_plain_registration, std::nullopt, std::move(ticket),
                  proxy_admission(listener));
}

// Behind a balancer every connection comes from the balancer's address: counted at accept, all
// devices would share one count. The per-address handshake limit waits for the PROXY header
// instead, and is applied by the session's shard with the address the header names (the limit
// is read here, on the control thread, where the configuration lives).
session::ProxyAdmit Gateway::proxy_admission(const net::Listener& listener) {
    if (!listener.config().proxy_protocol) return {};
    const unsigned limit =
        listener.is_tls() ? config_.connections.max_tls_handshakes_per_address : 0;
    auto* pending = &pending_handshakes_;
    auto* refused = &accept_metrics_.refused_handshakes_per_address_proxied;
    return [pending, limit, refused](const session::AddressCounts::Address& address) {
        auto admitted = pending->admit(address, limit);
        if (!admitted) refused->fetch_add(1, std::memory_order_relaxed);
        return admitted;
    };
}

std::optional<session::PendingHandshakes::Ticket> Gateway::admit_handshake(
    net::Listener& listener, asio::ip::tcp::socket& socket) {
    const unsigned limit = config_.connections.max_tls_handshakes_per_address;
    const auto address = source_address(socket);
    // A peer already gone has no address; its handshake fails on its own.
    if (limit == 0 || !address) return session::PendingHandshakes::Ticket{};
    auto admitted = pending_handshakes_.admit(*address, limit);
    if (!admitted) {
        accept_metrics_.refused_handshakes_per_address.add();
        spdlog::debug("refusing connection on {}: connections.max_tls_handshakes_per_address",
                      listener.bound_uri());
        std::error_code ignored;
        socket.close(ignored);  // before any handshake: a FIN is all it costs
    }
    return admitted;
}

void Gateway::request_shutdown(std::string why) {
    asio::post(control_, [this, why = std::move(why)] { begin_drain(why); });
}

// A warning, so that `journalctl -p warning` says why lwgate stopped.
void Gateway::begin_drain(std::string_view why) {
    if (draining_) return;
    draining_ = true;
    spdlog::warn("stopping: {}; draining {} connection(s)", why,
                 open_connections_.load(std::memory_order_relaxed));
    notify_stopping();
    if (admin_backend_) admin_backend_->set_draining();
    for (auto& l : listeners_)
        l->stop();
    signals_.cancel();
    const auto hold_min = whole_seconds(config_.shutdown.hold_off_min);
    const auto hold_max = whole_seconds(config_.shutdown.hold_off_max);
    for (auto& shard : shards_) {
        shard->drain(hold_min, hold_max, [this] {
            asio::post(control_, [this] {
                if (++shards_drained_ == shards_.size()) finish();
            });
        });
    }
    drain_timer_.expires_after(config_.shutdown.drain_timeout);
    drain_timer_.async_wait([this](const std::error_code& ec) {
        if (ec || finished_) return;
        spdlog::warn("drain timeout: closing {} remaining connection(s)",
                     open_connections_.load(std::memory_order_relaxed));
        for (auto& shard : shards_)
            shard->close_all(CloseReason::shutdown);
        // close_all is asynchronous; the shards report empty through the drain callback.
    });
}

void Gateway::finish() {
    if (finished_) return;
    finished_ = true;
    drain_timer_.cancel();
    credential_watcher_.reset();
    if (instance_link_) instance_link_->stop();
    for (auto& shard : shards_)
        shard->stop_and_join();
    leave_cluster();
    log_summary();
    control_.stop();
}

std::uint64_t Gateway::connection_events() const {
    std::uint64_t n = accept_metrics_.accepted.get();
    for (const auto& shard : shards_) {
        const auto& m = shard->metrics();
        n += m.tls_handshakes.get() + m.tls_failures.get();
        for (const auto& closes : m.closes)
            n += closes.get();
    }
    return n;
}

void Gateway::log_summary() const {
    std::string closes;
    for (std::size_t r = 0; r < session::close_reason_count; ++r) {
        std::uint64_t n = 0;
        for (const auto& shard : shards_)
            n += shard->metrics().closes[r].get();
        if (n) {
            closes += " ";
            closes += session::to_string(static_cast<CloseReason>(r));
            closes += "=" + std::to_string(n);
        }
    }
    spdlog::info(
        "stopped: accepted={} refused_limit={} refused_rate={} refused_handshakes_per_address={} "
        "closes:{}",
        accept_metrics_.accepted.get(), accept_metrics_.refused_limit.get(),
        accept_metrics_.refused_rate.get(), accept_metrics_.refused_handshakes_per_address.get(),
        closes.empty() ? " none" : closes);
}

int Gateway::run() {
    control_.run();
    return 0;
}

}  // namespace lwgate::app
