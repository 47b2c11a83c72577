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
// Identity (TLS): the endpoint name must belong to the TLS identity: the PSK identity's entry in
// the credentials table, or the client certificate's CN or one of its DNS/URI subjectAltNames
// (a connection is bound at the handshake by the CN). Otherwise the device gets 4.03 and
// nothing reaches the core. Plain TCP carries no identity and is accepted where the listener
// allows it (allow_plain_registration; otherwise 4.03).
//
// A request on a connection that is not bound to a registration (no Register yet, or a plain
// CoAP client that is not an LwM2M device) is refused with 4.03 and a diagnostic: lwgate relays
// LwM2M devices, not arbitrary CoAP traffic, because the upstream address the core sees belongs
// to a registration.
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

#include "admin/model.hpp"  // admin API snapshots (bridge_admin.cpp)
#include "lwgate/config/config.hpp"
#include "lwgate/lwm2m/block_transfer.hpp"
#include "lwgate/lwm2m/device_relay.hpp"
#include "lwgate/lwm2m/port_pool.hpp"
#include "lwgate/store/store.hpp"
#include "session/session_host.hpp"
#include "upstream/core_link.hpp"

namespace lwgate::lwm2m {

// Process-wide: registration location -> endpoint, so a device that reconnects and sends an
// Update can be bound to its endpoint on any shard; and endpoint -> the shard that owns its
// state. Taken only when a connection binds or an endpoint's state is created or forgotten.
class Directory {
  public:
    void set_location(const std::string& location, const std::string& endpoint);
    void erase_location(const std::string& location);
    std::optional<std::string> endpoint_for(const std::string& location) const;

    // The owner of `endpoint`, which becomes `shard` if there is none.
    unsigned claim(const std::string& endpoint, unsigned shard);
    std::optional<unsigned> owner(const std::string& endpoint) const;
    // Ends `shard`'s ownership (a no-op when another shard owns the endpoint).
    void release(const std::string& endpoint, unsigned shard);

  private:
    mutable std::mutex mutex_;
    std::unordered_map<std::string, std::string> by_location_;
    std::unordered_map<std::string, unsigned> owners_;
};

struct BridgeMetrics {
    Counter uplinks;
    Counter downlinks;
    Counter notifications;
    Counter refused_identity;
    Counter refused_unbound;
    Gauge registered_devices;
};

class Bridge final : public upstream::CoreLinkHandler {
  public:
    // find_session(id): the session with this id on THIS shard, or null.
    using FindSession = std::function<session::SessionBase*(std::uint64_t id)>;

    Bridge(unsigned shard, unsigned shard_count, asio::io_context& io, const config::Config& config,
           Directory& directory);
    ~Bridge() override;

    std::optional<std::string> start(FindSession find_session);
    void set_peers(std::vector<Bridge*> peers) { peers_ = std::move(peers); }

    // Device side, on the connection's shard.
    void on_device_message(session::SessionBase& session, coap::Message&& message);
    void on_session_closed(session::SessionBase& session);
    // TLS: the identity names the endpoint, so a device that reconnects is recognised before it
    // sends anything, and its held downlinks and observations resume at once.
    void on_session_established(session::SessionBase& session);

    const BridgeMetrics& metrics() const { return metrics_; }
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

    // ---- admin API (gateway/lwm2m/bridge_admin.cpp) -------------------------------------
    // Read on this shard's thread only, when the admin API collects a snapshot.
    // Connection side: the endpoint a connection of this shard is bound to, if any.
    std::optional<std::string> admin_endpoint_of(ConnectionId conn) const;
    // Owner side: the devices this shard owns (all, or only `endpoint`).
    std::vector<admin::DeviceSample> admin_devices(
        const std::optional<std::string>& endpoint) const;
    // Owner side: relayed requests by operation and code, core response/failure times; written
    // by one-line hooks in bridge.cpp.
    admin::BridgeAdminStats admin_stats;
    // ---- end of admin API ----------------------------------------------------------------

    // ---- persistence (issue #5; gateway/lwm2m/bridge_persistence.cpp) -----------------------
    // The store every shard writes to (owned by the Gateway, outlives the bridges) and the
    // records it held at start-up; start() restores the endpoints this shard owns from them.
    // Without a call the bridge persists nothing (unit tests, tools).
    void set_store(store::Store* store,
                   std::shared_ptr<const std::vector<store::DeviceRecord>> loaded);
    // ---- end of persistence ----------------------------------------------------------------

    // ---- SIGHUP reload (gateway/lwm2m/bridge_reload.cpp); on this shard's thread ----------
    // Identity checks of connections that bind from now on use the new credentials.
    void reload_credentials(const std::vector<config::Credential>& credentials);
    // Devices whose relay state is created from now on use these parameters.
    void reload_relay_params(const RelayParams& params);
    // ---- end of SIGHUP reload ----------------------------------------------------------------

  private:
    // What the store holds for a device (persistence; bridge_persistence.cpp).
    struct Persisted {
        std::uint64_t generation = 0;
        std::uint16_t local_port = 0;  // written with the record: a new port is a change too
        std::string local_address;
        bool stored = false;
        std::string register_query;  // of the Register relayed to the core (b=U)
        coap::Bytes object_links;
    };
    struct Device {
        explicit Device(std::string endpoint, const RelayParams& params, asio::io_context& io,
                        std::uint64_t seed)
            : relay(std::move(endpoint), params, seed), timer(io) {}
        DeviceRelay relay;
        upstream::UpstreamSession upstream;
        asio::steady_timer timer;
        TimePoint timer_at = never;
        std::unordered_map<ConnectionId, unsigned> connection_shard;  // where each conn lives
        std::vector<std::string> published_location;
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
    };
    struct Binding {
        std::string endpoint;
        unsigned owner;
        bool from_handshake = false;  // bound by the TLS identity before any request
    };

    // Restore's partition of the stored endpoints (a hash; no connection exists yet).
    unsigned owner_of(const std::string& endpoint) const;
    // Connection side: where a connection's messages for `endpoint` go: its owner, or this
    // shard, which then becomes the owner when it creates the endpoint's state.
    unsigned route_owner(const std::string& endpoint) const;
    // Owner side: the endpoint is owned by another shard (ownership moved while a connection
    // still pointed here): pass the message on and point the connection at the owner.
    void forward(unsigned owner, unsigned conn_shard, ConnectionId conn,
                 const std::string& endpoint, coap::Message&& message);
    void rebind(ConnectionId conn, unsigned owner);  // connection side
    // Owner side: the owner of an endpoint this shard has no state for, when it is another.
    std::optional<unsigned> owned_elsewhere(const std::string& endpoint) const;
    std::optional<std::string> identity_endpoint(const session::ConnectionInfo& info) const;
    // May this connection speak for `endpoint`? PSK: the credentials entry; certificate: the CN
    // or a DNS/URI subjectAltName.
    bool identity_allows(const session::ConnectionInfo& info, const std::string& endpoint) const;
    void refuse(session::SessionBase& session, const coap::Message& request, std::uint8_t code,
                std::string_view diagnostic);

    // Owner side.
    void handle(unsigned conn_shard, ConnectionId conn, const std::string& endpoint,
                coap::Message&& message);
    void handle_disconnect(ConnectionId conn, const std::string& endpoint);
    void handle_connect(unsigned conn_shard, ConnectionId conn, const std::string& endpoint);
    Device* find(const std::string& endpoint);
    Device* find_bootstrap(const std::string& endpoint);
    upstream::CoreLink& link_of(Device& device) { return device.link ? *device.link : core_link_; }
    bool alive(const std::string& endpoint, const Device* device);
    void handle_bootstrap(unsigned conn_shard, ConnectionId conn, const std::string& endpoint,
                          coap::Message&& message);
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
    // fn(SessionBase&) runs on the connection's shard. A template, so the lambda (holding the
    // message) is wrapped once for the post instead of twice (std::function in a std::function).
    template <class Fn>
    void to_connection(Device& device, ConnectionId conn, Fn&& fn);

    unsigned shard_;
    unsigned shard_count_;
    asio::io_context& io_;
    const config::Config& config_;
    Directory& directory_;
    RelayParams relay_params_;
    upstream::CoreLink core_link_;
    std::unique_ptr<upstream::CoreLink> bootstrap_link_;  // when upstream.bootstrap_uri is set
    PortPool ports_;
    // Runs fn on `shard`'s thread: posted to that shard's io_context, also when it is this one
    // (one loop turn's answers then leave in one TCP write; README, "What limits", item 4).
    // A template, so the lambda goes into asio's handler storage without a std::function.
    template <class Fn>
    void run_on(unsigned shard, Fn&& fn) {
        asio::post(peers_.at(shard)->io_, std::forward<Fn>(fn));
    }
    FindSession find_session_;
    std::vector<Bridge*> peers_;
    std::unordered_map<std::string, std::string> endpoint_by_psk_identity_;
    std::unordered_map<std::string, std::optional<upstream::UpstreamPsk>> psk_by_endpoint_;
    // Connection side: connections of this shard bound to an endpoint.
    std::unordered_map<ConnectionId, Binding> bindings_;
    // Owner side: endpoints this shard owns.
    std::unordered_map<std::string, std::unique_ptr<Device>> devices_;
    std::unordered_map<std::string, std::unique_ptr<Device>> bootstraps_;
    std::unordered_map<upstream::UpstreamSession*, Device*> by_upstream_;
    std::uint64_t token_seed();  // where a new device's relay tokens start (random)
    BridgeMetrics metrics_;

    // ---- persistence (issue #5; gateway/lwm2m/bridge_persistence.cpp) -----------------------
    // Owner side. restore_devices(): at start, before the shard thread runs: re-opens each
    // stored device's upstream session on its stored local port and loads its relay.
    // persist(): after every run(), writes the device's record when the relay's
    // persistent_generation() moved (or erases it once unregistered). respond_core(): held
    // requests restored from the store are not held by this process's CoreLink: their answers
    // go as separate responses with the stored core token (CoreLink::respond_separately).
    std::optional<std::string> restore_devices();
    void persist(Device& device);
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
