// A shard: one io_context on one thread, owning the device sessions placed on it. Nothing in a
// shard is shared with another shard, so the per-message path takes no lock. Other threads talk
// to a shard only by posting to its io_context.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include "app/shard_observer.hpp"
#include "bridge/bridge.hpp"
#include "connection/session_host.hpp"
#include "core_link/core_prober.hpp"
#include "log/security_log.hpp"

namespace lwgate::net {
class TlsServerContext;
}

namespace lwgate::app {

// What a SIGHUP reload changes in a shard (each part: nullopt or null when unchanged).
struct ShardReload {
    std::optional<session::SessionSettings> settings;
    lwm2m::BridgeReload bridge;
};

class Shard final : public session::SessionHost {
  public:
    Shard(unsigned index, unsigned shard_count, session::SessionSettings settings,
          std::atomic<std::int64_t>& open_connections, const config::Config& config,
          lwm2m::Directory& directory, const TimeSource& time);
    ~Shard() override;

    void start_thread();
    void stop_and_join();

    // Called from the control thread: the socket already belongs to this shard's io_context.
    // `ticket` (TLS) counts the handshake against its source address until the handshake ends.
    void adopt(asio::ip::tcp::socket&& socket, net::TlsServerContext* tls, std::uint64_t id,
               bool allow_plain_registration,
               std::optional<std::pair<session::CloseReason, std::uint32_t>> refusal,
               session::PendingHandshakes::Ticket ticket, session::ProxyAdmit proxy = {});
    // Graceful drain; `on_empty` is posted back by the caller's choice once no session is left.
    void drain(std::uint32_t hold_off_min_s, std::uint32_t hold_off_max_s,
               std::function<void()> on_empty);
    void close_all(session::CloseReason reason);
    // Closes the sessions authenticated with one of these PSK identities (their key was
    // removed or retired); `closed` runs on this shard's thread with how many.
    void close_identities(std::shared_ptr<const std::unordered_set<std::string>> identities,
                          std::function<void(std::size_t)> closed);
    // The same, on this shard's thread: how many it closed.
    std::size_t close_identities_here(const std::unordered_set<std::string>& identities);

    // SessionHost
    asio::io_context& io() override { return io_; }
    session::ShardMetrics& metrics() override { return metrics_; }
    const session::SessionSettings& settings() const override { return settings_; }
    const TimeSource& time() const override { return time_; }
    std::span<std::uint8_t> read_buffer() override { return read_buffer_; }
    void on_device_message(session::SessionBase& session, coap::Message&& message) override;
    void on_session_closed(session::SessionBase& session, session::CloseReason reason) override;
    void acquire_handshake_slot(std::function<bool()> begin) override;
    void release_handshake_slot() override;
    logging::SecurityLog& security_log() override { return security_log_; }
    std::optional<std::string> endpoint_of(std::uint64_t conn) const override;

    unsigned index() const { return index_; }
    lwm2m::Bridge& bridge() { return *bridge_; }
    // Starts the bridge (libcoap context); `shards` lets it post to its peers.
    Result<void, Error> start_bridge(const std::vector<Shard*>& shards);
    session::SessionBase* find_session(std::uint64_t id);
    // The same, shared: kept alive while the caller acts on it (null when gone).
    session::SessionPtr hold_session(std::uint64_t id) const {
        auto it = sessions_.find(id);
        return it == sessions_.end() ? nullptr : it->second;
    }
    const session::ShardMetrics& metrics() const { return metrics_; }

    const lwm2m::Bridge& bridge() const { return *bridge_; }
    // The active check of the core (upstream.probe_interval): on the first shard only, and null
    // when off or when it could not start (logged).
    const upstream::CoreProber* core_prober() const { return core_prober_.get(); }
    std::size_t session_count() const { return sessions_.size(); }
    // The snapshot visitor: every open session of this shard (on its thread).
    template <class Visit>
    void for_each_session(Visit&& visit) const {
        for (const auto& [id, session] : sessions_)
            visit(id, static_cast<const session::SessionBase&>(*session));
    }
    // Follows this shard's events from now on; call before start_thread(). Not owned.
    void subscribe(ShardObserver& observer) { observers_.push_back(&observer); }

    // SIGHUP reload, callable from any thread (posts): what changed (ShardReload above).
    // Sessions copy the protocol settings when they start and read the write limits from
    // settings() as they go: new settings serve new connections, and open ones get the new
    // keepalive values (idle, pong timeout, missed Pongs) at once.
    void reload(ShardReload changes);

  private:
    std::vector<ShardObserver*> observers_;

    void check_drained();
    void arm_summary(TimePoint at);  // the security log's summaries are due at `at`

    unsigned index_;
    const TimeSource& time_;
    session::SessionSettings settings_;
    std::atomic<std::int64_t>& open_connections_;
    asio::io_context io_{1};
    asio::executor_work_guard<asio::io_context::executor_type> work_;
    std::thread thread_;
    session::ShardMetrics metrics_;
    std::vector<std::uint8_t> read_buffer_;
    std::unordered_map<std::uint64_t, session::SessionPtr> sessions_;
    std::unordered_map<std::uint64_t, session::SessionPtr> refusing_;
    std::mt19937 rng_;
    std::function<void()> on_drained_;
    // Refused identities (the bridge's and the handshakes') and the closes of refused
    // connections are logged, but a flood of them must not fill the disk; the timer writes
    // the summary of what was held back. Before the bridge, which logs there.
    logging::SecurityLog security_log_;
    asio::steady_timer summary_timer_;
    std::unique_ptr<lwm2m::Bridge> bridge_;
    std::unique_ptr<upstream::CoreProber> core_prober_;
    // TLS handshakes in progress and the sessions waiting for a slot (acquire_handshake_slot).
    unsigned handshakes_ = 0;
    std::deque<std::function<bool()>> handshake_waiting_;
};

using ShardPtr = std::unique_ptr<Shard>;

}  // namespace lwgate::app
