// Everything the bridge knows about one LwM2M device (one endpoint name), sans-I/O.
//
// The relay sits between the device's TCP/TLS connections (which come and go) and its upstream
// UDP/DTLS session toward the core (which lives as long as the registration). It takes events
// with `now` and emits actions; the glue (lwm2m/Bridge + upstream/CoreLink) executes them. It
// owns no sockets, no timers and no libcoap objects, so every rule below is unit-tested with a
// fake clock in tests/unit/lwm2m/device_relay_test.cpp.
//
// Uplinks (device -> core): Uri-Host/Uri-Port are dropped (they name lwgate); every request gets an
// upstream token of the relay's own (device tokens may repeat across reconnections); the core's
// answer returns to the device with the device's token. Register/Update carry the binding rewritten
// for UDP (registration.hpp); a successful Register records the location, lifetime and queue mode;
// a new Register replaces the registration and drops its observations (LwM2M: observations end with
// a new registration).
//
// Which connection carries downlinks: the newest one on which the core accepted a Register or an
// Update (or the bootstrap server a Bootstrap-Request) and which is still open. A connection
// that only connected, or whose Register/Update was refused, changes nothing: the device's
// established connection keeps its downlinks and observations. When a newer connection is
// accepted, the observations live on the older one are cancelled there (GET Observe=1) and
// re-established on the newer one; when the newest closes, the next newest (if still open) takes
// over. An Update or De-register must name this relay's current registration (4.04 otherwise,
// nothing reaches the core). A registration made over an authenticated (TLS) connection takes
// nothing from an unauthenticated one (4.03).
//
// Downlinks (core -> device): the glue acknowledges each request to the core at once and hands
// it over with a CoreRequestId. The relay forwards it with a gateway token on the device's
// current connection, or holds it in a bounded queue while the device has no connection (queue
// mode, or an always-reachable device whose connection just broke). Queued requests go out one at
// a time in order (NSTART = 1) as soon as a connection is accepted or the current one sends
// anything; each answer goes back to the core as a separate response. Overflow: 5.03 with Max-Age;
// older than max_age: 5.04; no answer from the device within device_timeout: 5.04. A request that
// was in flight when the connection broke is put back at the head of the queue: nothing
// acknowledged is silently lost.
//
// Observe: a GET with Observe=0 creates an observation keyed by the core's token. Notifications
// from the device go to the core with that token and an Observe number of the relay's own that
// only grows (so it stays monotonic across device reconnections). RFC 8323 ends observations with
// the connection, LwM2M expects them to live as long as the registration: when the device
// connects again, the relay re-sends every observation request on the new connection and keeps
// feeding the core's original token. The core cancels with RST (on_core_reset) or GET Observe=1.
// Observations the relay drops (a new Register, the end of the registration, a core RST) are
// cancelled on the device too, so no device keeps notifying into the void.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

#include "lwgate/coap/message.hpp"
#include "lwm2m/admission.hpp"
#include "lwm2m/registration.hpp"
#include "util/clock.hpp"
#include "util/token_bucket.hpp"

namespace lwgate::lwm2m {

using ConnectionId = std::uint64_t;
using CoreRequestId = std::uint64_t;

struct RelayParams {
    unsigned max_queued = 16;
    Duration max_age{300'000};
    Duration device_timeout{30'000};  // a forwarded request unanswered this long -> 5.04
    std::uint32_t overflow_max_age_seconds = 60;
    // What one device may have lwgate do toward the core (device_limits.*): its requests at the
    // core at once, and waiting behind those; beyond both, 5.03 with Max-Age busy_max_age.
    unsigned uplinks_in_flight = 8;
    unsigned uplinks_queued = 32;
    std::uint32_t busy_max_age_seconds = 5;
    // Notifications per second (and burst) toward the core; beyond, only the newest pending
    // notification of each observation is kept (RFC 7641 §4.5.2). rate <= 0: no limit.
    double notifications_per_second = 20;
    unsigned notification_burst = 40;
    // registration.max_lifetime: a Register/Update asking for more gets this, toward the core too.
    std::uint32_t max_lifetime_seconds = 86400;
};

// Shard-wide counters a relay adds to (owned by the glue, outlives the relays).
struct RelayCounters {
    std::uint64_t uplinks_refused_busy = 0;     // 5.03: the device's uplink bound was reached
    std::uint64_t notifications_coalesced = 0;  // replaced by a newer one before they went out
};

// ---- actions -------------------------------------------------------------------------------
struct ToDevice {  // send on the device's connection `conn` (dropped if it is gone)
    ConnectionId conn;
    coap::Message message;
    // Set when the message refuses an identity (a 4.03 to a connection not authenticated as
    // the endpoint): a security event, which only the connection's shard can log in full
    // (remote address, TLS identity) and counts as the Router's refusals of that reason.
    std::optional<Refusal> refusal = std::nullopt;
};
struct ToCore {  // send a request upstream (token already set by the relay)
    coap::Message request;
    Uplink kind;
};
struct RespondCore {  // answer a held request of the core (glue puts the core's token back)
    CoreRequestId id;
    coap::Message response;
    // The request the device answered (core's token), handed over now that the relay is done
    // with it: the glue keys the Block2 cache with it when the answer needs slicing. Empty
    // for answers the relay makes itself (5.03, 5.04).
    std::optional<coap::Message> request = std::nullopt;
};
struct NotifyCore {  // a notification for an observation of the core (token = core's)
    coap::Message notification;
};
struct Registered {  // the connection now carries (or no longer carries) the registration
    ConnectionId conn;
    bool registered;
    bool queue_mode = false;  // closes of a queue-mode device's connections are expected
};
struct CloseDevice {  // the registration expired: close the device's connection
    ConnectionId conn;
};
struct Forget {};  // the registration is gone: free the upstream session and this relay

using RelayAction =
    std::variant<ToDevice, ToCore, RespondCore, NotifyCore, Registered, CloseDevice, Forget>;

struct ObservationInfo {
    std::string path;
    coap::Token core_token;
    std::uint32_t observe_number = 0;
    bool active = false;  // established on the current connection
    std::uint64_t notifications = 0;
};

// ---- persistence (definitions in gateway/lwm2m/device_relay_state.cpp) -----------
// What a relay must remember across a gateway restart: the registration, the observations of
// the core (its request, hence its token and the device-side options, and the last Observe
// number) and the requests of the core that were acknowledged and not answered yet. Requests in
// flight on the device's connection count as queued: a restart breaks that connection, and
// they go out again (the device never answered them, or its answer never reached the core).
// Deadlines are steady-clock TimePoints here; the glue converts them to wall-clock time.
struct RelaySnapshot {
    struct Observation {
        coap::Message request;  // GET/FETCH Observe=0 with the core's token
        std::uint32_t observe_number = 0;
    };
    struct Held {
        CoreRequestId id = 0;   // on restore: an id the glue can answer (see Bridge)
        coap::Message request;  // with the core's token
        TimePoint enqueued_at{};
    };
    std::string endpoint;
    bool registered = false;
    bool authenticated = false;  // registered over a TLS connection authenticated as endpoint
    std::vector<std::string> location;
    std::uint32_t lifetime = 0;
    TimePoint deadline = never;
    bool queue_mode = false;
    std::string version;
    std::string binding;
    std::vector<Observation> observations;
    std::vector<Held> queued;  // delivery order
};
// ---- end of persistence --------------------------------------------------------------------

class DeviceRelay {
  public:
    DeviceRelay(std::string endpoint, const RelayParams& params, std::uint64_t token_seed = 1,
                RelayCounters* counters = nullptr);

    // Device side. `authenticated`: the connection's TLS identity names this endpoint.
    void on_device_disconnected(ConnectionId conn, TimePoint now);
    void on_device_request(ConnectionId conn, coap::Message&& request, TimePoint now,
                           bool authenticated = false);
    void on_device_response(ConnectionId conn, coap::Message&& response, TimePoint now);

    // Core side.
    // `acknowledged` false: the glue holds the core's ACK back (upstream.piggyback_window), so
    // the core would retransmit the request after a restart: it is not persistent state until
    // on_core_request_acknowledged(id), and a request answered before that never is.
    void on_core_request(CoreRequestId id, coap::Message&& request, TimePoint now,
                         bool acknowledged = true);
    void on_core_request_acknowledged(CoreRequestId id);
    void on_core_response(coap::Message&& response, TimePoint now);
    // The core did not answer an uplink (retransmissions exhausted, DTLS failure, ...).
    void on_core_failure(const coap::Token& uplink_token, std::uint8_t code_for_device,
                         std::string_view diagnostic);
    // The core answered a notification with RST: it no longer wants it.
    void on_core_reset(const coap::Token& core_token);
    // The glue replaced the upstream session with one on a new local address (after a restart
    // the stored port could not be bound again, or the core would not resume DTLS on it). The
    // core knows the device by its old address, so the relay sends an Update without
    // parameters on the device's behalf: LwM2M servers (Leshan, ...) take the source address of
    // an Update as the client's new address. Its answer reaches no device: 2.04 restarts the
    // lifetime; 4.04 means the core lost the registration, which then ends here too (the
    // device's connection closes, so the device registers again). Uplinks the old session
    // still carried are lost with it: their devices get 5.03 and may retry.
    void on_upstream_replaced(TimePoint now);

    void on_tick(TimePoint now);
    TimePoint next_deadline() const;

    std::vector<RelayAction> take_actions() { return std::exchange(actions_, {}); }

    // Introspection for the glue, logs and the admin API.
    const std::string& endpoint() const { return endpoint_; }
    bool registered() const { return registered_; }
    bool authenticated() const { return authenticated_; }
    const std::vector<std::string>& location() const { return location_; }
    bool queue_mode() const { return queue_mode_; }
    std::optional<std::uint32_t> lifetime() const { return lifetime_; }
    TimePoint registration_deadline() const { return registration_deadline_; }
    // Changes whenever any registration field above (or version/binding) may have changed:
    // the glue compares one number per event instead of the fields.
    std::uint64_t registration_revision() const { return registration_revision_; }
    // The connection that carries downlinks, if any (the newest accepted one).
    std::optional<ConnectionId> connection() const {
        if (accepted_.empty()) return std::nullopt;
        return accepted_.back();
    }
    // Every accepted connection still open, oldest first.
    const std::vector<ConnectionId>& accepted_connections() const { return accepted_; }
    std::size_t queued() const { return queue_.size(); }
    std::size_t in_flight() const { return in_flight_.size(); }
    // Device requests at the core / waiting for room there (RelayParams::uplinks_*).
    std::size_t uplinks_at_core() const { return uplinks_at_core_; }
    std::size_t uplinks_waiting() const { return uplinks_waiting_.size(); }
    std::vector<ObservationInfo> observations() const;
    // True when a message from the device with this token answers something this relay sent
    // (a forwarded request or an observation): routes a device's responses to the right relay
    // when a bootstrap relay and a registration relay share one connection.
    bool expects_device_token(const coap::Token& token) const;
    // The core's observe request behind a notification (its token is the core's), if any.
    const coap::Message* observation_request(const coap::Token& core_token) const;
    const std::string& version() const { return version_; }
    const std::string& binding() const { return binding_; }
    // Nothing registered and nothing pending: the relay (and its upstream session) can go.
    bool idle() const {
        return !registered_ && uplinks_.empty() && queue_.empty() && in_flight_.empty();
    }

    // ---- persistence (definitions in gateway/lwm2m/device_relay_state.cpp) -------
    // The persistent state now (RelaySnapshot above).
    RelaySnapshot snapshot() const;
    // Loads a snapshot into a relay that has seen no event yet. The device is not connected:
    // the core's requests are held, observations are re-established when it connects. Observe
    // numbers continue `observe_restart_skip` above the stored ones (only every
    // observe_persist_stride-th number is stored), so the core keeps seeing them grow. A
    // registration whose deadline has passed ends here (its held requests answered 4.04): the
    // core ended it at the same deadline unless it grants a grace period, so a De-register on
    // the device's behalf ends it there too (a 4.04 to it is fine); the relay is idle() once
    // that is answered or failed.
    void restore(RelaySnapshot snapshot, TimePoint now);
    // A digest of the persistent state: it changes when the state a snapshot would hold changes
    // (register, update, de-register, observation start/stop, every observe_persist_stride-th
    // notification, queue in/out). The glue persists when it differs from the last one written.
    std::uint64_t persistent_generation() const;
    static constexpr std::uint32_t observe_persist_stride = 32;
    static constexpr std::uint32_t observe_restart_skip = 4 * observe_persist_stride;
    // ---- end of persistence ----------------------------------------------------------------

  private:
    struct Downlink {
        CoreRequestId id;
        coap::Message request;  // with the core's token
        TimePoint enqueued_at;
        bool acknowledged = true;  // to the core: persistent state only once it is
    };
    struct InFlight {
        Downlink downlink;
        TimePoint deadline;
        bool observe = false;  // Observe=0 request: may establish an observation
    };
    struct Uplink_ {
        ConnectionId conn = 0;
        coap::Token device_token{};
        Uplink kind = Uplink::other;
        std::optional<RegisterParams> register_params{};
        std::optional<UpdateParams> update_params{};
        bool on_behalf = false;          // the relay's own Update (on_upstream_replaced)
        bool authenticated = false;      // sent on a connection authenticated as the endpoint
        bool conn_open = true;           // its connection has not closed since
        std::uint64_t registration = 0;  // registration_seq_ when it was sent
        bool at_core = false;            // counts toward RelayParams::uplinks_in_flight
        std::optional<coap::Message> waiting{};  // not sent yet: no room at the core
    };
    struct Observation {
        coap::Message request;  // the core's GET Observe=0, core's token
        std::uint32_t observe_number = 1;
        std::optional<coap::Token> gateway_token;  // on the current connection, once sent
        bool active = false;
        std::uint64_t notifications = 0;
        std::optional<coap::Message> pending;  // the newest notification not sent yet (pacing)
    };

    coap::Token next_token();
    // An uplink left the core (answered, failed): room for the next waiting one.
    void uplink_done(const Uplink_& uplink);
    void send_waiting_uplinks();
    void send_pending_notifications(TimePoint now);
    std::optional<ConnectionId> active() const { return connection(); }
    bool is_active(ConnectionId conn) const {
        return !accepted_.empty() && accepted_.back() == conn;
    }
    // A Register/Update/Bootstrap-Request on `conn` was accepted: it becomes the newest.
    void accept(ConnectionId conn, TimePoint now);
    // `conn` stops carrying downlinks: in-flight requests go back to the queue, observations
    // wait to be re-established (and are cancelled on `conn` when it stays open).
    void deactivate(ConnectionId conn, bool still_open);
    void activate_newest(TimePoint now);
    // A request on `conn` that the relay answers itself, without the core.
    void answer_device(ConnectionId conn, const coap::Token& token, std::uint8_t code,
                       std::string_view diagnostic,
                       std::optional<std::uint32_t> max_age = std::nullopt);
    // A request the relay answers itself (identity, stale location, no room): true if it did.
    bool refused_locally(const Uplink_& uplink, const coap::Message& request);
    bool names_current_registration(const coap::Message& request) const;
    void on_uplink_accepted(const Uplink_& uplink, TimePoint now);
    // What the core's answer to a device's uplink changed: the device's connection is accepted
    // (on_uplink_accepted), or the registration ended and the relay can go (Forget).
    struct UplinkOutcome {
        bool accepted = false;
        bool forget = false;
    };
    UplinkOutcome apply_core_answer(const Uplink_& uplink, const coap::Message& response,
                                    TimePoint now);
    void start_registration(const Uplink_& uplink, const coap::Message& response, TimePoint now);
    void apply_update(const UpdateParams& params, TimePoint now);
    // The answer to an Update of the relay's own (Uplink_::on_behalf): it goes to no device.
    void on_behalf_answered(const coap::Message& response, TimePoint now);
    // Its Observe=0 request (core token bytes `key`) is still in flight: not established.
    bool observation_pending(const std::string& key) const;
    // An Update or De-register of the relay's own for the current location; its answer goes
    // to no device (Uplink_::on_behalf).
    void send_on_behalf(std::uint8_t method, Uplink kind);
    void flush(TimePoint now);
    void reobserve(TimePoint now);
    void respond(CoreRequestId id, std::uint8_t code, std::string_view diagnostic,
                 std::optional<std::uint32_t> max_age = std::nullopt);
    void end_registration();
    void drop_observations();
    void cancel_on_device(ConnectionId conn, const Observation& obs);
    void forward_notification(Observation& obs, coap::Message&& message, TimePoint now, bool final);
    void send_notification(Observation& obs, coap::Message&& message);
    std::map<std::string, Observation>::iterator find_observation_by_gateway_token(
        const coap::Token& token);

    std::string endpoint_;
    RelayParams params_;
    std::uint64_t next_token_;
    std::vector<ConnectionId> accepted_;  // open connections with an accepted Register/Update

    bool registered_ = false;
    bool authenticated_ = false;
    std::uint64_t registration_seq_ = 0;  // counts registrations: an Update answers one of them
    std::uint64_t registration_revision_ = 0;  // every write of the registration fields
    std::vector<std::string> location_;
    std::optional<std::uint32_t> lifetime_;
    TimePoint registration_deadline_ = never;
    bool queue_mode_ = false;
    std::string version_;
    std::string binding_;

    std::unordered_map<std::string, Uplink_> uplinks_;  // by upstream token bytes
    std::deque<std::string> uplinks_waiting_;           // upstream token bytes, arrival order
    std::size_t uplinks_at_core_ = 0;
    TokenBucket notification_budget_;
    RelayCounters* counters_;
    std::deque<Downlink> queue_;
    std::unordered_map<std::string, InFlight> in_flight_;  // by gateway token bytes
    std::map<std::string, Observation> observations_;      // by core token bytes
    std::unordered_set<std::string> swallow_;  // gateway tokens whose answers nobody wants
    std::vector<RelayAction> actions_;
};

std::string token_key(const coap::Token& token);

}  // namespace lwgate::lwm2m
