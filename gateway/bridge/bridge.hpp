// The LwM2M bridge of one shard: binds device connections to endpoints, checks identities, and
// runs the DeviceRelay of every endpoint this shard owns against the shard's CoreLink.
//
// Ownership: the state of endpoint E (relay + upstream session) lives on the shard that created
// it, normally the shard of the connection that registered, so a device's messages stay on one
// thread (inline, no post). The Directory records the owner: a shard claims E when it creates
// E's state and releases it when it forgets it; restored endpoints are claimed at start by
// hash(E) % threads. A connection learns its endpoint from its first LwM2M request (Register:
// `ep`; Update or De-register: the registration location, looked up in the Directory; on TLS
// also from the identity) and routes to E's owner, or to its own shard when E has none. A
// message that reaches a shard which no longer (or not yet) owns E is forwarded to the owner and
// the connection is re-pointed there. Nothing is locked on the per-message path: the
// Directory's mutex is only taken when a connection binds or E's state is created or forgotten.
//
// Admission (lwm2m/admission.hpp, pure and unit-tested) decides for every message which
// endpoint it speaks for, or refuses it (counted by reason in lwgate_refused_total and logged,
// rate-limited). The relay (DeviceRelay) decides which admitted connection carries the
// endpoint's downlinks: the newest one on which the core accepted a Register or Update. A TLS
// handshake alone binds nothing.
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
#include "connection/session_host.hpp"
#include "lwgate/config/config.hpp"
#include "lwgate/lwm2m/admission.hpp"
#include "lwgate/lwm2m/block_transfer.hpp"
#include "lwgate/lwm2m/device_relay.hpp"
#include "lwgate/lwm2m/directory.hpp"
#include "lwgate/lwm2m/port_pool.hpp"
#include "lwgate/lwm2m/relay_stats.hpp"
#include "lwgate/store/store.hpp"
#include "lwgate/util/address_rate_limiter.hpp"
#include "lwgate/util/token_bucket.hpp"
#include "upstream/core_link.hpp"

namespace lwgate::lwm2m {

struct BridgeMetrics {
    Counter uplinks;
    Counter downlinks;
    Counter notifications;
    std::array<Counter, refusal_count> refused{};  // by Refusal
    Gauge registered_devices;
};

class Bridge final : public upstream::CoreLinkHandler {
  public:
    // find_session(id): the session with this id on THIS shard, or null.
    using FindSession = std::function<session::SessionBase*(std::uint64_t id)>;

    // `time`: every deadline and timestamp of the bridge comes from it (the shard's).
    Bridge(unsigned shard, unsigned shard_count, asio::io_context& io, const config::Config& config,
           Directory& directory, const TimeSource& time);
    ~Bridge() override;

    std::optional<std::string> start(FindSession find_session);
    void set_peers(std::vector<Bridge*> peers) { peers_ = std::move(peers); }

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

    // ---- admin API (gateway/bridge/bridge_admin.cpp) -------------------------------------
    // Read on this shard's thread only, when the admin API collects a snapshot.
    // Connection side: the endpoint whose registration a connection of this shard carries (a
    // Register or Update on it was accepted), if any.
    std::optional<std::string> admin_endpoint_of(ConnectionId conn) const;
    // Connection side: whether closing this connection is part of the device's normal cycle
    // (a queue-mode device sleeps between exchanges), not a sign of trouble.
    bool admin_close_expected(ConnectionId conn) const;
    // Owner side: the devices this shard owns (all, or only `endpoint`).
    std::vector<DeviceSample> admin_devices(const std::optional<std::string>& endpoint) const;
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

    // ---- SIGHUP reload (gateway/bridge/bridge_reload.cpp); on this shard's thread ----------
    // Identity checks of connections that bind from now on use the new credentials.
    void reload_credentials(const std::vector<config::Credential>& credentials);
    // Devices whose relay state is created from now on use these parameters.
    void reload_relay_params(const RelayParams& params);
    // New registrations per source address from now on.
    void reload_registration_rate(const config::RateLimit& rate);
    // ---- end of SIGHUP reload ----------------------------------------------------------------

  private:
    // What the store holds for a device (persistence; bridge_persistence.cpp).
    struct Persisted {
        std::uint64_t generation = 0;
        std::uint64_t sequence = 0;    // the store's number for the last write of the record
        std::uint16_t local_port = 0;  // written with the record: a new port is a change too
        std::string local_address;
        bool stored = false;
        std::string register_query;  // of the Register relayed to the core (b=U)
        coap::Bytes object_links;
    };
    struct Device {
        explicit Device(std::string endpoint, const RelayParams& params, asio::io_context& io,
                        std::uint64_t seed, RelayCounters* counters)
            : relay(std::move(endpoint), params, seed, counters), timer(io) {}
        DeviceRelay relay;
        upstream::UpstreamSession upstream;
        asio::steady_timer timer;
        TimePoint timer_at = never;
        std::unordered_map<ConnectionId, unsigned> connection_shard;  // where each conn lives
        std::vector<std::string> published_location;                  // in the Directory
        bool published_authenticated = false;
        // Block-wise toward the core (block_transfer.hpp): bodies being served in Block2,
        // uploads in Block1.
        Block2Cache block2;
        std::unordered_map<std::string, Block1Upload> uploads;  // by upstream token
        upstream::CoreLink* link = nullptr;                     // the core, or the bootstrap server
        // Bootstrap (a relay toward upstream.bootstrap_uri): lives until the device answered
        // Bootstrap-Finish (plus a moment for that answer to reach the server) or until
        // bootstrap_until passes with nothing happening.
        bool bootstrap = false;
        TimePoint bootstrap_until = never;
        std::optional<CoreRequestId> finish_id;
        Persisted persisted;  // persistence: what the store holds (no lookup per event)
        // store.ack_after_commit: held requests whose ACK waits for the next record's commit.
        std::vector<CoreRequestId> awaiting_commit;
    };
    // Connection side: what a connection of this shard speaks for (admission.hpp) and whether
    // it carries the endpoint's registration (the relay's Registered action).
    struct Binding {
        std::string endpoint;
        unsigned owner;
        bool authenticated = false;  // its TLS identity names the endpoint
        bool registered = false;
        bool queue_mode = false;
    };

    // Restore's partition of the stored endpoints (a hash; no connection exists yet).
    unsigned owner_of(const std::string& endpoint) const;
    // Connection side: where a connection's messages for `endpoint` go: its owner, or this
    // shard, which then becomes the owner when it creates the endpoint's state.
    unsigned route_owner(const std::string& endpoint) const;
    // Owner side: the endpoint is owned by another shard (ownership moved while a connection
    // still pointed here): pass the message on and point the connection at the owner.
    void forward(unsigned owner, unsigned conn_shard, ConnectionId conn,
                 const std::string& endpoint, bool authenticated, coap::Message&& message);
    void rebind(ConnectionId conn, unsigned owner);  // connection side
    // Owner side: the owner of an endpoint this shard has no state for, when it is another.
    std::optional<unsigned> owned_elsewhere(const std::string& endpoint) const;
    void refuse(session::SessionBase& session, const coap::Message& message,
                const Refused& refusal);
    void set_credentials(const std::vector<config::Credential>& credentials);
    // Connection side: the relay's Registered action for one of this shard's connections.
    void mark_registered(ConnectionId conn, const Registered& registered);

    // Owner side.
    void handle(unsigned conn_shard, ConnectionId conn, const std::string& endpoint,
                bool authenticated, coap::Message&& message);
    void handle_disconnect(ConnectionId conn, const std::string& endpoint);
    // A new endpoint's state and upstream session (within connections.max_registrations); on
    // failure the connection is answered and nullptr returned.
    Device* create_device(unsigned conn_shard, ConnectionId conn, const std::string& endpoint,
                          const coap::Token& token);
    void refuse_over_limit(unsigned conn_shard, ConnectionId conn, const std::string& endpoint,
                           const coap::Token& token);
    void answer_connection(unsigned conn_shard, ConnectionId conn, coap::Message&& answer);
    void answer_connection(unsigned conn_shard, ConnectionId conn, const coap::Token& token,
                           std::uint8_t code, std::string_view diagnostic);
    Device* find(const std::string& endpoint);
    Device* find_bootstrap(const std::string& endpoint);
    upstream::CoreLink& link_of(Device& device) { return device.link ? *device.link : core_link_; }
    bool alive(const std::string& endpoint, const Device* device);
    void handle_bootstrap(unsigned conn_shard, ConnectionId conn, const std::string& endpoint,
                          bool authenticated, coap::Message&& message);
    void forget_bootstrap(const std::string& endpoint);
    Device* find(upstream::UpstreamSession& session);
    void run(Device& device);  // execute the relay's actions, re-arm its timer
    void arm(Device& device);
    void forget(const std::string& endpoint);
    void send_to_core(Device& device, coap::Message&& request);
    // A new upstream session on a fresh local address:port (upstream.bind, or the kernel's).
    std::optional<std::string> open_upstream(upstream::UpstreamSession& upstream,
                                             const std::string& endpoint);
    const std::string& bind_address(std::uint16_t index) const;  // "" = any
    LocalPort local_slot(const std::string& address, std::uint16_t port) const;
    LocalPort local_of(const upstream::UpstreamSession& upstream) const;
    // `event` for connection `conn` of the device, posted to the shard that holds it (dropped
    // when the device no longer has that connection).
    template <class Event>
    void to_connection(Device& device, ConnectionId conn, Event&& event) {
        auto it = device.connection_shard.find(conn);
        if (it != device.connection_shard.end()) post(it->second, std::forward<Event>(event));
    }
    // One executor per relay action (run() takes Forget itself).
    void execute(Device& device, ToDevice& action);
    void execute(Device& device, ToCore& action);
    void execute(Device& device, RespondCore& action);
    void execute(Device& device, NotifyCore& action);
    void execute(Device& device, Registered& action);
    void execute(Device& device, CloseDevice& action);
    void execute(Device& device, Forget& action);
    void settle_bootstrap(Device& device);      // after its actions: linger or go
    void publish_registration(Device& device);  // the Directory follows the relay

    unsigned shard_;
    unsigned shard_count_;
    asio::io_context& io_;
    const config::Config& config_;
    Directory& directory_;
    const TimeSource& time_;
    RelayParams relay_params_;
    upstream::CoreLink core_link_;
    std::unique_ptr<upstream::CoreLink> bootstrap_link_;  // when upstream.bootstrap_uri is set
    PortPool ports_;
    // Hands `event` to `shard`'s bridge on that shard's thread: posted to its io_context, also
    // when it is this one (one loop turn's answers then leave in one TCP write;
    // docs/performance.md, "What limits each scenario").
    template <class Event>
    void post(unsigned shard, Event&& event) {
        static_assert(is_shard_event<std::decay_t<Event>>, "shards exchange ShardEvents only");
        Bridge* peer = peers_.at(shard);
        asio::post(peer->io_, [peer, e = std::forward<Event>(event)]() mutable {
            peer->on_event(std::move(e));
        });
    }
    // One handler per ShardEvent, on the receiving shard.
    void on_event(DeviceMessageEvent&& event);
    void on_event(ConnectionClosedEvent&& event);
    void on_event(RebindEvent&& event);
    void on_event(SendEvent&& event);
    void on_event(RegisteredEvent&& event);
    void on_event(CloseConnectionEvent&& event);
    FindSession find_session_;
    std::vector<Bridge*> peers_;
    IdentityTable identities_;
    std::unordered_map<std::string, std::optional<upstream::UpstreamPsk>> psk_by_endpoint_;
    // Refusals are logged, but a flood of them must not fill the disk.
    TokenBucket refusal_log_budget_;
    std::uint64_t refusal_log_suppressed_ = 0;
    // Connection side: connections of this shard bound to an endpoint.
    std::unordered_map<ConnectionId, Binding> bindings_;
    // Owner side: endpoints this shard owns.
    std::unordered_map<std::string, std::unique_ptr<Device>> devices_;
    std::unordered_map<std::string, std::unique_ptr<Device>> bootstraps_;
    std::unordered_map<upstream::UpstreamSession*, Device*> by_upstream_;
    std::uint64_t token_seed();  // where a new device's relay tokens start (random)
    BridgeMetrics metrics_;
    RelayCounters relay_counters_;  // the relays of this shard add to them
    // Connection side: new registrations per source address (registration.rate_per_address).
    AddressRateLimiter register_rate_;

    // ---- persistence (gateway/bridge/bridge_persistence.cpp) -----------------------
    // Owner side. restore_devices(): at start, before the shard thread runs: re-opens each
    // stored device's upstream session on its stored local port and loads its relay.
    // persist(): after every run(), writes the device's record when the relay's
    // persistent_generation() moved (or erases it once unregistered). respond_core(): held
    // requests restored from the store are not held by this process's CoreLink: their answers
    // go as separate responses with the stored core token (CoreLink::respond_separately).
    std::optional<std::string> restore_devices();
    void persist(Device& device);
    void write_record(Device& device);
    // store.ack_after_commit: requests acknowledged once the write `sequence` is committed.
    struct CommitWait {
        std::uint64_t sequence;
        std::string endpoint;
        std::vector<CoreRequestId> ids;
    };
    std::deque<CommitWait> commit_waits_;
    void unpersist(Device& device);
    void remember_register(Device& device, const coap::Message& request, Uplink kind);
    void respond_core(Device& device, CoreRequestId id, coap::Message&& response);
    // DTLS after a restart: each restored session re-handshakes from its stored port. Those not
    // established after upstream.dtls_resume_timeout move to a new port (replace_upstream),
    // and the relay tells the core the new address with an Update on the device's behalf.
    void check_resumed();
    void replace_upstream(Device& device, std::string_view why);
    std::vector<std::string> resuming_;  // endpoints restored on DTLS, not yet checked
    std::optional<asio::steady_timer> resume_timer_;
    store::Store* store_ = nullptr;
    std::shared_ptr<const std::vector<store::DeviceRecord>> loaded_;
    std::unordered_map<CoreRequestId, coap::Token> restored_ids_;  // restored held requests
    CoreRequestId next_restored_id_ = CoreRequestId{1} << 63;      // apart from CoreLink's ids
    // ---- end of persistence ----------------------------------------------------------------
};

// queue_mode.* and connections.request_timeout as the relay takes them (bridge_reload.cpp).
RelayParams relay_params_from(const config::Config& config);

}  // namespace lwgate::lwm2m
