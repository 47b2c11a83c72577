// The process: control thread (signals, listeners, drain) plus N shards.
//
// Accepting happens on the control thread, which also enforces connections.max,
// connections.accept_rate and connections.max_tls_handshakes_per_address before a socket reaches
// a shard (one place decides, so the limits are exact; only the pending handshakes per address
// take a lock, which their shards take again when a handshake ends). Accepted sockets go to
// shards round-robin.
//
// SIGTERM/SIGINT: stop accepting, send 7.04 Release with a Hold-Off drawn per connection from
// [shutdown.hold_off_min, shutdown.hold_off_max] so the fleet does not come back at once, wait
// until every device closed or shutdown.drain_timeout passed, close the rest, exit 0.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>

#include "admin/reload_result.hpp"
#include "admin_http/admin_server.hpp"
#include "app/admin_backend.hpp"
#include "app/close_recorder.hpp"
#include "app/credential_watcher.hpp"
#include "app/descriptor_budget.hpp"
#include "app/heap_trimmer.hpp"
#include "app/service_notify.hpp"
#include "app/shard.hpp"
#include "cluster/lease_rules.hpp"
#include "cluster_link/instance_link.hpp"
#include "config/config.hpp"
#include "config/reload_plan.hpp"
#include "credentials/credential_service.hpp"
#include "credentials/credential_table.hpp"
#include "net/listener.hpp"
#include "net/tls_context.hpp"
#include "session/address_counts.hpp"
#include "store/store.hpp"
#include "util/counter.hpp"
#include "util/token_bucket.hpp"

namespace lwgate::app {

struct AcceptMetrics {
    Counter accepted;
    Counter refused_limit;
    Counter refused_rate;
    Counter refused_handshakes_per_address;  // connections.max_tls_handshakes_per_address
    // The same limit behind a balancer, applied once the PROXY header names the address: by
    // the session's shard, so written by several threads.
    std::atomic<std::uint64_t> refused_handshakes_per_address_proxied{0};
    Counter refused_descriptors;  // the descriptor budget (DescriptorBudget)
};

class Gateway {
  public:
    // `time`: what every shard and session reads the time from (tests may pass their own).
    explicit Gateway(config::Config config, const TimeSource& time = RealTimeSource::instance());
    ~Gateway();

    // Builds TLS contexts, binds listeners and starts shards. Returns an error message on failure.
    Result<void, Error> start();
    // Runs the control loop until shutdown completes. Returns the process exit code.
    int run();
    // Drains and exits; `why` is what the log says ("drain requested through the admin API").
    void request_shutdown(std::string why);

    std::vector<std::string> bound_uris() const;
    // "http://127.0.0.1:8484" once the admin API listens; empty when admin.listen is off.
    std::string admin_url() const;

  private:
    void on_accept(net::Listener& listener, asio::ip::tcp::socket&& socket);
    // connections.max_tls_handshakes_per_address: a ticket for the connection's handshake, or
    // nullopt when its source address has too many pending already (then the socket is closed
    // and the refusal counted).
    std::optional<session::PendingHandshakes::Ticket> admit_handshake(
        net::Listener& listener, asio::ip::tcp::socket& socket);
    // proxy_protocol listeners: what the session applies once the PROXY header names the device
    // (empty for other listeners).
    session::ProxyAdmit proxy_admission(const net::Listener& listener);
    asio::io_context& next_shard_context();
    void wait_for_signal();
    void begin_drain(std::string_view why);
    void finish();
    void log_summary() const;

    config::Config config_;
    const TimeSource& time_;
    // Declared before control_ so they are destroyed after it: operations still queued in
    // control_ (a cancelled accept) own sockets of a shard's io_context.
    lwm2m::Directory directory_;
    // Read by every shard's handshakes and admission; before shards_, which point at it.
    credentials::CredentialTable credentials_;
    // Before shards_: the sessions' tickets give their counts back when the shards go.
    session::PendingHandshakes pending_handshakes_;
    // ---- persistence (gateway/app/gateway_store.cpp) -------------------------------
    // Opens store.uri, loads it, hands both to every shard's bridge. Before shards_: the store
    // outlives the bridges and commits what they left pending when it is destroyed.
    Result<void, Error> open_store();
    // With a Redis store: joins the cluster (gateway_cluster.cpp) and returns the loaded records
    // this instance owns; otherwise all of them.
    Result<std::vector<store::DeviceRecord>, Error> join_cluster(
        std::vector<store::DeviceRecord> loaded);
    cluster::InstanceId instance_;  // empty name: not in a cluster
    void leave_cluster();           // a graceful stop: after the shards, once all is written
    Result<void, Error> open_listeners();
    std::unique_ptr<store::Store> store_;
    // ---- credentials (gateway/app/gateway_credentials.cpp) ------------------------------
    // After the store opened: what it keeps, then the YAML's credentials seeded into both.
    Result<void, Error> load_credentials();
    // SIGHUP: the YAML's credentials again; connections of retired identities closed.
    void reseed_credentials();
    // Closes, on every shard, the connections authenticated with one of `identities`.
    void close_identities(std::vector<std::string> identities);
    std::unique_ptr<credentials::CredentialService> credential_service_;  // after store_
    // With a store shared by several instances: their credential changes, applied here. Started
    // once the shards run (it closes connections on them), stopped before they stop.
    void start_credential_watcher();
    CredentialWatcherPtr credential_watcher_;
    // ---- end of persistence ----------------------------------------------------------------
    std::vector<ShardPtr> shards_;
    // One per shard, subscribed before the shard threads start: the admin API's close history.
    std::vector<std::unique_ptr<CloseRecorder>> close_recorders_;
    asio::io_context control_{1};
    asio::signal_set signals_;
    asio::steady_timer drain_timer_;
    std::vector<net::TlsServerContextPtr> tls_contexts_;
    std::vector<net::ListenerPtr> listeners_;
    std::atomic<std::int64_t> open_connections_{0};
    DescriptorBudget descriptor_budget_{DescriptorBudget::unlimited};
    TokenBucket accept_bucket_;
    AcceptMetrics accept_metrics_;
    std::uint64_t next_id_ = 1;
    std::size_t next_shard_ = 0;
    std::size_t next_accept_shard_ = 0;
    std::vector<asio::io_context*> accept_targets_;
    unsigned shards_drained_ = 0;
    bool draining_ = false;
    bool finished_ = false;

    // ---- service integration (gateway/app/gateway_service.cpp) -----------------------------
  public:
    // The file SIGHUP re-reads; empty (built-in defaults): SIGHUP changes nothing.
    void set_config_path(std::string path) { config_path_ = std::move(path); }

  private:
    void notify_ready();     // READY=1 and the systemd watchdog, once the listeners accept
    void notify_stopping();  // STOPPING=1 when the drain begins
    // SIGHUP and POST /v1/reload: re-read config_path_ and apply what can change at run time;
    // with `apply` false only read and plan it (a check: nothing changes, nothing is logged).
    // `origin` names who asked, in the log ("SIGHUP", "admin API"). On the control thread.
    admin::ReloadResult reload(bool apply, std::string_view origin);
    std::optional<config::Config> read_for_reload(admin::ReloadResult& result, bool log,
                                                  std::string_view origin) const;
    void apply_reload(const config::ReloadPlan& plan, std::uint64_t open_connections);
    // What the plan changes in the bridges: credentials, relay parameters, rates.
    lwm2m::BridgeReload bridge_reload(const config::ReloadPlan& plan) const;
    void probe_shards(std::function<void()> done);  // `done` once every shard ran a no-op
    std::string config_path_;
    std::unique_ptr<ServiceNotifier> service_;   // after control_: its timer lives on control_
    std::unique_ptr<HeapTrimmer> heap_trimmer_;  // after control_ too
    // The instance lease and inbox, on the control thread (after control_ too).
    std::unique_ptr<cluster_link::InstanceLink> instance_link_;
    std::uint64_t connection_events() const;  // churn for heap_trimmer_
    // ---- end of service integration -------------------------------------------------------

    // ---- admin API (gateway/app/gateway_admin.cpp) -----------------------------------------
    // Declared last: the HTTP threads stop before anything they read is destroyed.
    Result<void, Error> start_admin();
    std::unique_ptr<AdminBackend> admin_backend_;
    std::unique_ptr<admin::AdminServer> admin_server_;
};

session::SessionSettings session_settings_from(const config::Config& config);

}  // namespace lwgate::app
