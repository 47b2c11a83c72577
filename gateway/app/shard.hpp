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
#include <vector>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include "admin/close_history.hpp"
#include "bridge/bridge.hpp"
#include "connection/session_host.hpp"

namespace lwgate::net {
class TlsServerContext;
}

namespace lwgate::app {

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
               session::PendingHandshakes::Ticket ticket);
    // Graceful drain; `on_empty` is posted back by the caller's choice once no session is left.
    void drain(std::uint32_t hold_off_min_s, std::uint32_t hold_off_max_s,
               std::function<void()> on_empty);
    void close_all(session::CloseReason reason);

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

    unsigned index() const { return index_; }
    lwm2m::Bridge& bridge() { return *bridge_; }
    // Starts the bridge (libcoap context); `shards` lets it post to its peers.
    std::optional<std::string> start_bridge(const std::vector<Shard*>& shards);
    session::SessionBase* find_session(std::uint64_t id);
    const session::ShardMetrics& metrics() const { return metrics_; }

    // ---- admin API (gateway/app/shard_admin.cpp); call on this shard's thread (post) -----
    // Copies what `scope` asks for: never shares live state with the HTTP thread.
    admin::ShardSample admin_sample(const admin::CollectScope& scope) const;
    void add_session_counters(admin::ShardCounters& counters) const;
    void add_bridge_counters(admin::ShardCounters& counters) const;
    // The operator's actions on one connection of this shard; false when it is gone.
    bool admin_ping(std::uint64_t id, Duration timeout,
                    std::function<void(session::AdminPingResult)> done);
    bool admin_release(std::uint64_t id, std::optional<std::string> alternative_address,
                       std::optional<std::uint32_t> hold_off_seconds);
    bool admin_close(std::uint64_t id);

    // ---- SIGHUP reload (gateway/app/shard_reload.cpp); callable from any thread (posts) -----
    // New session settings for connections opened from now on.
    void apply_settings(session::SessionSettings settings);
    // New credentials (null: unchanged), relay parameters and registration rate per address
    // (nullopt: unchanged) for the bridge.
    void reload_bridge(std::shared_ptr<const std::vector<config::Credential>> credentials,
                       std::optional<lwm2m::RelayParams> relay,
                       std::optional<config::RateLimit> registration_rate);
    // ---- end of SIGHUP reload ----------------------------------------------------------------

  private:
    void admin_record_close(session::SessionBase& session, session::CloseReason reason);
    admin::CloseHistory close_history_;
    // ---- end of admin API ----------------------------------------------------------------

    void check_drained();

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
    std::unique_ptr<lwm2m::Bridge> bridge_;
    // TLS handshakes in progress and the sessions waiting for a slot (acquire_handshake_slot).
    unsigned handshakes_ = 0;
    std::deque<std::function<bool()>> handshake_waiting_;
};

using ShardPtr = std::unique_ptr<Shard>;

}  // namespace lwgate::app
