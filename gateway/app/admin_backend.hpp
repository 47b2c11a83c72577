// The gateway side of the admin API: collects snapshots from the shards and runs operator
// actions on them, from the HTTP threads. Every shard is asked by posting to its io_context;
// the HTTP thread waits with a deadline, so a busy or stopped shard delays an answer but never
// blocks, and shards take no lock of the HTTP side.
#pragma once

#include <atomic>
#include <functional>
#include <vector>

#include "admin/backend.hpp"
#include "app/close_recorder.hpp"
#include "app/shard.hpp"
#include "cluster_link/instance_link.hpp"
#include "net/listener.hpp"
#include "redis/redis_uri.hpp"
#include "store/store.hpp"

namespace lwgate::app {

struct AcceptMetrics;

class AdminBackend final : public admin::Backend {
  public:
    // `closes[i]`: shard i's close history (read on that shard's thread).
    AdminBackend(const std::vector<ShardPtr>& shards,
                 const std::vector<std::unique_ptr<CloseRecorder>>& closes,
                 const std::vector<net::ListenerPtr>& listeners, const AcceptMetrics& accept,
                 admin::GatewayFacts facts, std::function<void()> drain, const TimeSource& time);

    admin::Snapshot collect(const admin::CollectScope& scope) override;
    void start_ping(unsigned shard, std::uint64_t id, Duration timeout, PingDone done) override;
    bool release(unsigned shard, std::uint64_t id, std::optional<std::string> alternative_address,
                 std::optional<std::uint32_t> hold_off_seconds) override;
    bool close(unsigned shard, std::uint64_t id) override;
    void drain() override;
    admin::ClusterInstances cluster_instances() override;
    credentials::CredentialService* credential_service() override { return credential_service_; }
    const credentials::CredentialTable* credential_table() override { return credential_table_; }
    std::size_t close_identities(const std::vector<std::string>& identities) override;
    // The gateway's credentials (both outlive the admin server). Before the first request.
    void set_credentials(credentials::CredentialService* service,
                         const credentials::CredentialTable* table) {
        credential_service_ = service;
        credential_table_ = table;
    }
    admin::ReloadResult reload(bool apply) override;

    // The gateway's reload, run on `control` (its thread owns the running configuration). Set
    // before the first request; without it a reload is unsupported.
    using ReloadFn = std::function<admin::ReloadResult(bool apply)>;
    void set_reload(asio::io_context& control, ReloadFn reload) {
        reload_control_ = &control;
        reload_ = std::move(reload);
    }
    // How long a reload may take: reading the file (a long credentials_file) and applying it.
    static constexpr Duration reload_deadline{10'000};

    // Cluster mode: this instance (`facts`: enabled, instance, incarnation, lease), the control
    // thread its lease is kept on (the link is read there, never here) and the Redis the
    // instance leases are listed from. Set before the first request.
    struct ClusterSource {
        admin::ClusterFacts facts;
        asio::io_context* control = nullptr;
        const cluster_link::InstanceLink* link = nullptr;
        redis::RedisAddress address;
    };
    void set_cluster(ClusterSource source) { cluster_ = std::move(source); }
    // How many instance leases GET /v1/cluster lists at most, and how long it waits for Redis.

    void set_draining() { draining_.store(true, std::memory_order_relaxed); }
    // The state store whose counters /metrics shows (thread-safe stats(); may be null).
    void set_store(const store::Store* store) { store_ = store; }
    // Upstream sessions and their limit (atomics of the Directory; may be null).
    void set_directory(const lwm2m::Directory* directory) { directory_ = directory; }

    static constexpr Duration deadline{2'000};

  private:
    // Runs fn(shard) on the shard's thread and waits up to `wait` for its result.
    template <class T>
    std::optional<T> on_shard(unsigned index, Duration wait, std::function<T(Shard&)> fn);

    const std::vector<ShardPtr>& shards_;
    const std::vector<std::unique_ptr<CloseRecorder>>& closes_;
    const std::vector<net::ListenerPtr>& listeners_;
    const AcceptMetrics& accept_;
    admin::GatewayFacts facts_;
    std::function<void()> drain_;
    const TimeSource& time_;  // what the snapshot is stamped with
    std::atomic<bool> draining_{false};
    const store::Store* store_ = nullptr;
    const lwm2m::Directory* directory_ = nullptr;
    std::optional<ClusterSource> cluster_;
    credentials::CredentialService* credential_service_ = nullptr;
    const credentials::CredentialTable* credential_table_ = nullptr;
    asio::io_context* reload_control_ = nullptr;
    ReloadFn reload_;
};

// Descriptors open in this process now (/proc/self/fd) and RLIMIT_NOFILE (0: none).
std::uint64_t open_descriptors();
std::uint64_t descriptor_limit_now();

}  // namespace lwgate::app
