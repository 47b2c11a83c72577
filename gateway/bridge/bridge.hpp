// The LwM2M bridge of one shard: the glue between the shard's device connections, the
// endpoints this shard owns and the shard's CoreLink. The decisions live in pure objects:
//  - Router (endpoint/router.hpp): which endpoint a connection speaks for, whether it may
//    (admission), and which shard owns the endpoint (hash(E) % shards, at start and while
//    running);
//  - EndpointHost (endpoint/endpoint_host.hpp): one endpoint's relay and Block-wise state and
//    the executor of the relay's actions, talking to the device and the core through ports;
//    a RegistrationHost or a BootstrapHost (a relay toward upstream.bootstrap_uri).
// The bridge implements the ports (Hosted: posts to the shard of a connection, drives the
// endpoint's upstream session on the CoreLink), runs a timer per host, and tells its subscribers
// (the Directory's registrations, the store, the admin statistics) what changed.
//
// Data path: a device message reaches on_device_message() on its connection's shard, the Router
// admits it and names the owner, a DeviceMessageEvent carries it there (shard_events.hpp), and
// the owner hands it to the endpoint's host. What the host sends back to a connection travels as
// SendEvent / RegisteredEvent / CloseConnectionEvent to the connection's shard. Nothing is locked
// on the per-message path.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include "bridge/shard_events.hpp"
#include "bridge/shard_mailbox.hpp"
#include "bridge/store_writer.hpp"
#include "cluster/ownership.hpp"
#include "cluster_link/cluster_client.hpp"
#include "config/config.hpp"
#include "connection/session_host.hpp"
#include "core_link/core_link.hpp"
#include "credentials/credential_table.hpp"
#include "endpoint/endpoint_host.hpp"
#include "endpoint/router.hpp"
#include "log/security_log.hpp"
#include "lwgate/util/result.hpp"
#include "lwm2m/admission.hpp"
#include "lwm2m/device_relay.hpp"
#include "lwm2m/directory.hpp"
#include "lwm2m/port_pool.hpp"
#include "lwm2m/relay_stats.hpp"
#include "store/store.hpp"
#include "util/token_bucket.hpp"

namespace lwgate::lwm2m {

struct BridgeMetrics {
    Counter uplinks;
    Counter downlinks;
    Counter notifications;
    std::array<Counter, refusal_count> refused{};  // by Refusal
    Gauge registered_devices;
};

// What a SIGHUP reload changes in a bridge (each part: null or nullopt when unchanged).
struct BridgeReload {
    std::optional<RelayParams> relay;                    // for relays created from now on
    std::optional<config::RateLimit> registration_rate;  // Registers per source address
};

class Bridge final : public upstream::CoreLinkHandler {
  public:
    // find_session(id): the session with this id on THIS shard, or null.
    using FindSession = std::function<session::SessionBase*(std::uint64_t id)>;

    // `time`: every deadline and timestamp of the bridge comes from it (the shard's).
    Bridge(unsigned shard, unsigned shard_count, asio::io_context& io, const config::Config& config,
           Directory& directory, const TimeSource& time);
    ~Bridge() override;

    // The credentials table (shared by all shards, changed at run time; it outlives the
    // bridge): the identity checks of connections that bind, and the device's key toward the
    // core. Before start().
    void use_credentials(const credentials::CredentialTable& table);
    // Where refusals are logged (the shard's security log, which outlives the bridge).
    void set_security_log(logging::SecurityLog& log) { security_log_ = &log; }
    // Opens the links to the core (and bootstrap server) and restores this shard's endpoints.
    Result<void, Error> start(FindSession find_session);
    void set_peers(std::vector<Bridge*> peers);

    // Device side, on the connection's shard.
    void on_device_message(session::SessionBase& session, coap::Message&& message);
    void on_session_closed(session::SessionBase& session);

    const BridgeMetrics& metrics() const { return metrics_; }
    const RelayCounters& relay_counters() const { return relay_counters_; }
    const upstream::CoreLink& core_link() const { return core_link_; }

    // CoreLinkHandler (owner side).
    void on_core_request(upstream::UpstreamSession& session, upstream::CoreRequestId id,
                         coap::Message&& request) override;
    void on_core_response(upstream::UpstreamSession& session, coap::Message&& response) override;
    void on_core_failure(upstream::UpstreamSession& session, const coap::Token& token,
                         std::uint8_t code_for_device, std::string_view reason) override;
    void on_core_reset(upstream::UpstreamSession& session, const coap::Token& token) override;
    void on_core_request_acknowledged(upstream::UpstreamSession& session,
                                      upstream::CoreRequestId id) override;
    std::optional<coap::Message> answer_locally(upstream::UpstreamSession& session,
                                                const coap::Message& request) override;

    // ---- what the admin API reads, on this shard's thread only -------------------------
    // Connection side: which endpoint each connection of this shard speaks for.
    const Router& router() const { return router_; }
    // Owner side, the snapshot visitor: every registration this shard owns, with the local
    // port of its upstream session.
    void for_each_registration(
        const std::function<void(const DeviceRelay&, std::uint16_t upstream_port)>& visit) const;
    // Owner side: relayed requests by operation and code, core response/failure times; written
    // by one-line hooks in bridge.cpp.
    BridgeAdminStats admin_stats;
    // ---- end of admin API ----------------------------------------------------------------

    // ---- persistence (gateway/bridge/bridge_persistence.cpp) -----------------------
    // The store every shard writes to (owned by the Gateway, outlives the bridges) and the
    // records it held at start-up; start() restores the endpoints this shard owns from them.
    // Without a call the bridge persists nothing (unit tests, tools).
    void set_store(store::Store* store,
                   std::shared_ptr<const std::vector<store::DeviceRecord>> loaded);
    // The store committed every write up to `committed` (store.ack_after_commit): the ACKs that
    // waited for it go out. On this shard's thread.
    void on_store_committed(std::uint64_t committed);
    // ---- end of persistence ----------------------------------------------------------------

    // SIGHUP reload, on this shard's thread: what changed (BridgeReload above) applies to what
    // starts from now on; bound connections and open upstream sessions stay as they are.
    void reload(const BridgeReload& changes);

    // ---- cluster (gateway/bridge/bridge_cluster.cpp) ----------------------------------------
    // With a Redis store several lwgate instances share the devices: this shard owns an
    // endpoint only after claiming it (cluster/ownership.hpp). A device message for an endpoint
    // it does not own waits (bounded) while the endpoint is claimed, handed over by its holder
    // and adopted here like a restart (no Register at the core: an Update from this instance's
    // address). Set before start(); without it the bridge is a single instance's.
    void set_cluster(std::unique_ptr<cluster_link::ClusterClient> client,
                     cluster::OwnershipParams params);
    // On the shard that reads the instance's inbox: to the shard that owns the endpoint.
    void route_notice(cluster::Notice&& notice);
    // On that same shard: the instance lease had lapsed; every shard checks its endpoints.
    void broadcast_lease_lapsed();
    // A fenced store write of the endpoint was refused (from the store's thread).
    void on_write_refused(const std::string& endpoint);
    struct ClusterCounters {
        std::size_t owned = 0;
        std::size_t moving = 0;
        std::uint64_t moves_in = 0;   // endpoints adopted from another instance
        std::uint64_t moves_out = 0;  // endpoints handed over to another instance
        std::uint64_t lost = 0;       // taken from us (a refused write, a lapsed lease)
        std::uint64_t waited = 0;     // device messages that waited for a move
        std::uint64_t refused = 0;    // device messages answered 5.03 during a move
        std::uint64_t redis_commands = 0;
        std::uint64_t redis_errors = 0;
        std::uint64_t redis_latency_us_total = 0;
        bool redis_connected = false;
    };
    bool clustered() const { return cluster_ != nullptr; }
    ClusterCounters cluster_counters() const;
    // Who owns `endpoint` as far as this shard knows: this instance (epoch), or not known here.
    std::optional<std::uint64_t> owner_epoch(const std::string& endpoint) const;

  private:
    // One host and what the glue keeps for it: its upstream session, its timer, the shard of
    // each of its connections. Implements the host's ports (bridge_hosted.cpp).
    class Hosted;
    using HostedPtr = std::unique_ptr<Hosted>;
    // The hosts of one endpoint: its registration and, while the device bootstraps, a
    // bootstrap (both may exist at once: a device registers right after Bootstrap-Finish).
    struct EndpointHosts {
        HostedPtr registration;
        HostedPtr bootstrap;
    };
    // What the hosts report, for the subscribers: the admin statistics, the metrics and the
    // store writer (the Register's query and object links go into the record).
    class Subscribers final : public HostObserver {
      public:
        explicit Subscribers(Bridge& bridge) : bridge_(bridge) {}
        void uplink_sent(const std::string& endpoint, const coap::Message& request,
                         Uplink kind) override;
        void downlink_answered(CoreRequestId id, const coap::Message& response) override;
        void notification_sent(const coap::Message& notification) override;

      private:
        Bridge& bridge_;
    };

    void refuse(session::SessionBase& session, const coap::Message& message,
                const Refused& refusal);
    // Counts a refusal and logs it as a security event (`session`: null when it is gone).
    void note_refusal(const session::SessionBase* session, const Refused& refusal);

    // Owner side.
    void handle(unsigned conn_shard, ConnectionId conn, const std::string& endpoint,
                bool authenticated, Uplink kind, coap::Message&& message);
    void handle_disconnect(ConnectionId conn, const std::string& endpoint);
    // The host a message of `endpoint` goes to, created for a Register / Bootstrap-Request; on
    // failure the connection is answered and nullptr returned.
    Hosted* host_for(unsigned conn_shard, ConnectionId conn, const std::string& endpoint,
                     Uplink kind, const coap::Message& message);
    // A new host and upstream session (within connections.max_registrations); on failure the
    // connection is answered and nullptr returned.
    Hosted* create(EndpointHost::Kind kind, unsigned conn_shard, ConnectionId conn,
                   const std::string& endpoint, const coap::Token& token);
    HostedPtr make_hosted(EndpointHost::Kind kind, const std::string& endpoint);
    using SessionOpen = Directory::SessionOpen;
    // 5.03 to a device whose endpoint gets no upstream session; its connection is closed too
    // when the descriptors ran out.
    void refuse_over_limit(unsigned conn_shard, ConnectionId conn, const std::string& endpoint,
                           const coap::Token& token, SessionOpen why);
    void answer_connection(unsigned conn_shard, ConnectionId conn, coap::Message&& answer);
    void answer_connection(unsigned conn_shard, ConnectionId conn, const coap::Token& token,
                           std::uint8_t code, std::string_view diagnostic);
    Hosted* find(const std::string& endpoint);  // the registration
    Hosted* find_bootstrap(const std::string& endpoint);
    Hosted* find(upstream::UpstreamSession& session);
    bool alive(const std::string& endpoint, const Hosted* hosted);
    // After every event of a host: tell the subscribers, then forget it or re-arm its timer.
    void settle(Hosted& hosted, TimePoint now);
    void arm(Hosted& hosted);
    void forget(Hosted& hosted);  // deferred by settle(): we may be inside a libcoap callback
    // What every end of a host does: unpublished, its port and upstream session closed, gone.
    void close_host(Hosted& hosted);
    void publish_registration(Hosted& hosted);  // the Directory follows the relay
    // A new upstream session on a fresh local address:port (upstream.bind, or the kernel's).
    Result<void, Error> open_upstream(upstream::UpstreamSession& upstream,
                                      const std::string& endpoint);
    std::optional<upstream::UpstreamPsk> psk_of(const std::string& endpoint) const;
    const std::string& bind_address(std::uint16_t index) const;  // "" = any
    LocalPort local_slot(const std::string& address, std::uint16_t port) const;
    LocalPort local_of(const upstream::UpstreamSession& upstream) const;

    unsigned shard_;
    asio::io_context& io_;
    const config::Config& config_;
    Directory& directory_;
    const TimeSource& time_;
    RelayParams relay_params_;
    upstream::CoreLink core_link_;
    std::unique_ptr<upstream::CoreLink> bootstrap_link_;  // when upstream.bootstrap_uri is set
    PortPool ports_;
    // Hands `event` to `shard`'s bridge on that shard's thread. To this shard: posted to its own
    // io_context (one loop turn's answers then leave in one TCP write; docs/performance.md,
    // "What limits each scenario"). To another: collected in that shard's outbox, which goes
    // into the receiver's ShardMailbox as one batch when this loop turn's queued work is done:
    // one lock per batch, and a wake-up of the other loop only when its mailbox was empty.
    // Order between two shards is kept: one outbox and one mailbox per direction.
    template <class Event>
    void post(unsigned shard, Event&& event) {
        static_assert(is_shard_event<std::decay_t<Event>>, "shards exchange ShardEvents only");
        if (shard == shard_) {
            asio::post(
                io_, [this, e = std::forward<Event>(event)]() mutable { on_event(std::move(e)); });
            return;
        }
        auto& outbox = outboxes_.at(shard);
        outbox.emplace_back(std::forward<Event>(event));
        if (outbox.size() == 1) asio::post(io_, [this, shard] { send_outbox(shard); });
    }
    void send_outbox(unsigned shard);
    void drain(ShardMailbox& mailbox);
    std::vector<std::vector<ShardEvent>> outboxes_;       // by receiving shard
    std::vector<std::unique_ptr<ShardMailbox>> inboxes_;  // by sending shard
    // One handler per ShardEvent, on the receiving shard.
    void on_event(DeviceMessageEvent&& event);
    void on_event(ConnectionClosedEvent&& event);
    void on_event(SendEvent&& event);
    void on_event(RefuseEvent&& event);
    void on_event(RegisteredEvent&& event);
    void on_event(CloseConnectionEvent&& event);
    void on_event(ClusterNoticeEvent&& event);
    void on_event(LeaseLapsedEvent&& event);

    // ---- cluster (bridge_cluster.cpp) ----
    struct ClusterState;
    std::unique_ptr<ClusterState> cluster_;
    // True when the message waits for (or was refused during) a move of its endpoint.
    bool cluster_holds(DeviceMessageEvent& event);
    // Connection side: an Update/De-register for a location this instance does not know, looked
    // up in the cluster's location hints (once per connection). True when it was taken over.
    bool resolve_location(session::SessionBase& session, coap::Message& message);
    void run_ownership();
    void execute(cluster::Claim&& action);
    void execute(cluster::RequestHandover&& action);
    void execute(cluster::Adopt&& action);
    void execute(cluster::HandOver&& action);
    void execute(cluster::NotifyReleased&& action);
    void execute(cluster::Refuse&& action);
    void execute(cluster::Drop&& action);
    void execute(cluster::Revalidate&& action);
    void adopt(const std::string& endpoint, std::uint64_t epoch,
               std::optional<store::DeviceRecord>&& record);
    void replay_waiting(const std::string& endpoint);
    // 5.03 with Max-Age for a device message that waited too long for a move, or found no room.
    void answer_moving(const DeviceMessageEvent& event);
    // Adopted but beyond connections.max_registrations: released for another instance, the
    // waiting requests answered 5.03.
    void give_back(const std::string& endpoint, std::uint64_t epoch, SessionOpen why);
    void release_after_commit(std::uint64_t committed);
    void release_ended(const std::string& endpoint, std::uint64_t erased);
    // Still ours after this instance's lease had lapsed (under `epoch`, new if Redis had lost
    // the owner record): the record and location hint are written again, since a Redis that
    // restarted without its data lost them too.
    void rewrite_owned(const std::string& endpoint, std::uint64_t epoch);
    // Stops relaying the endpoint here: its device connections closed (`moved`), its upstream
    // session closed, nothing erased from the store (the new owner continues from it).
    void hand_off(Hosted& hosted, const char* why);
    void arm_cluster_timer();
    void retry_later(std::function<void()> what);
    FindSession find_session_;
    std::vector<Bridge*> peers_;
    // Connection side: what each connection of this shard speaks for, and who owns it.
    Router router_;
    const credentials::CredentialTable* credentials_ = nullptr;
    // Refusals are logged there (the shard's), within its budget; none without one.
    logging::SecurityLog* security_log_ = nullptr;
    // Owner side: the endpoints this shard owns, and their hosts by upstream session.
    std::unordered_map<std::string, EndpointHosts> endpoints_;
    std::unordered_map<upstream::UpstreamSession*, Hosted*> by_upstream_;
    std::uint64_t token_seed();  // where a new host's relay tokens start (random)
    BridgeMetrics metrics_;
    RelayCounters relay_counters_;  // the relays of this shard add to them
    Subscribers subscribers_{*this};

    // ---- persistence (gateway/bridge/bridge_persistence.cpp) -----------------------
    // restore_devices(): at start, before the shard thread runs: re-opens each stored device's
    // upstream session on its stored local port and loads its relay. The StoreWriter then
    // follows every registration host (settle()). respond_core(): held requests restored from
    // the store are not held by this process's CoreLink: their answers go as separate responses
    // with the stored core token (CoreLink::respond_separately).
    Result<void, Error> restore_devices();
    struct RestoreCounts {
        std::size_t restored = 0;
        std::size_t ended = 0;  // expired while lwgate was down
    };
    // One stored device (its record is erased when it cannot be restored).
    // `adopted`: an endpoint taken over from another instance: its stored port is that
    // instance's, so a new one is opened and the core hears of it in an Update.
    void restore(const store::DeviceRecord& record, RestoreCounts& counts, bool adopted = false);
    Result<void, Error> reopen_upstream(Hosted& hosted, const store::DeviceRecord& record,
                                        bool& moved, bool adopted);
    void respond_core(Hosted& hosted, CoreRequestId id, coap::Message&& response);
    // DTLS after a restart: each restored session re-handshakes from its stored port. Those not
    // established after upstream.dtls_resume_timeout move to a new port (replace_upstream),
    // and the relay tells the core the new address with an Update on the device's behalf.
    void check_resumed();
    void replace_upstream(Hosted& hosted, std::string_view why);
    std::vector<std::string> resuming_;  // endpoints restored on DTLS, not yet checked
    std::optional<asio::steady_timer> resume_timer_;
    store::Store* store_ = nullptr;
    std::unique_ptr<StoreWriter> store_writer_;  // with a store
    std::shared_ptr<const std::vector<store::DeviceRecord>> loaded_;
    std::unordered_map<CoreRequestId, coap::Token> restored_ids_;  // restored held requests
    CoreRequestId next_restored_id_ = CoreRequestId{1} << 63;      // apart from CoreLink's ids
    // ---- end of persistence ----------------------------------------------------------------
};

// queue_mode.*, device_limits.* and connections.request_timeout as the relay takes them
// (relay_params.cpp).
RelayParams relay_params_from(const config::Config& config);

}  // namespace lwgate::lwm2m
