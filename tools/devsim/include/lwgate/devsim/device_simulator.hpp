// An LwM2M device (client) that speaks CoAP over TCP or TLS (RFC 8323, LwM2M binding T), built
// on the project's sans-I/O codec. Integration tests drive many of them against the real gateway;
// the benchmark and `lwm2m-device-sim` run them too.
//
//   DeviceOptions opts;
//   opts.endpoint = "urn:imei:123";
//   opts.port = gateway.port();
//   DeviceSimulator dev(opts);
//   Result reg = dev.register_device();          // connects, CSM, POST /rd?ep=...&b=T
//   ASSERT_EQ(reg.code(), coap::code::created);  // reg.location() == "/rd/abc"
//   auto read = dev.wait_for_request(DeviceSimulator::path_is("/3/0/0"), 5s);
//   dev.set_resource("/3/0/13", "42");          // notifies observers (same token, Observe + 1)
//   dev.deregister();
//
// Threading. Each simulator runs on an EventLoop thread (its own unless DeviceOptions::loop
// shares one): a poll loop over its socket and an eventfd for commands. Every public method is
// thread-safe. Methods that need the loop either return a std::future (the *_async ones; the
// loop completes every future by its deadline) or block with an explicit timeout. Blocking
// methods must not be called from the loop thread (i.e. from a RequestHook or on_event
// callback): they throw std::logic_error there. Nothing sleeps for synchronisation; waits are
// condition variables and futures against deadlines.
//
// What the device does by itself, on the loop thread:
//  - sends its CSM (unless send_csm is false, like Californium clients) as soon as the
//    connection (and TLS handshake) is up, and never waits for the gateway's CSM before sending
//    requests (like Anjay);
//  - answers Pings with Pongs carrying the Ping's token (answer_pings), tolerates any
//    Release/Abort (recording it; Abort closes, Release closes when close_on_release);
//  - answers requests from the gateway from its ObjectModel (see object_model.hpp):
//      GET                  Read (Accept: the resource's own format or 110; else 4.06;
//                           executable resources 4.05)
//      GET Accept 40        Discover (link format)
//      GET Observe 0 / 1    Observe (2.05 + Observe 1, notifications keep the token, Observe
//                           increases by one per notification) / cancel (answered as a Read).
//                           Observations end with the connection (RFC 8323 §7.3).
//      PUT with payload     Write (replace) a resource -> 2.04, then its observers are
//                           notified; instance/object: recorded only -> 2.04
//      PUT query, no body   Write-Attributes -> 2.04 (shown by Discover)
//      POST /O/I/R          Execute -> 2.04 (arguments recorded); 4.05 unless executable
//      POST /O              Create -> 2.01 with Location-Path O/I (a new empty instance)
//      POST /O/I            Write (partial update): recorded -> 2.04
//      POST /bs             Bootstrap-Finish -> 2.04
//      DELETE /O/I, /O, /   Delete -> 2.02 (observers of removed paths get 4.04 and are dropped;
//                           "/" deletes nothing, it is only acknowledged)
//      FETCH                Read-Composite: names from the SenML JSON body -> 2.05 SenML JSON
//      iPATCH               Write-Composite: recorded -> 2.04
//      unknown path 4.04, resource-level DELETE / other methods 4.05
//  - block-wise (RFC 7959): a response larger than the gateway's Max-Message-Size, or any
//    response to a request carrying Block2, goes out in blocks (size from the request's Block2,
//    else preferred_block_size, shrunk until a block fits the gateway's Max-Message-Size), with
//    Size2 and an ETag; incoming Block1 transfers are reassembled (2.31 Continue, 4.08 for a
//    gap); its own requests larger than the gateway's Max-Message-Size are sent with Block1,
//    and Block2 responses to them are fetched and reassembled. BERT is not implemented.
//  - never crashes on network input: framing errors get a 7.05 Abort and a close, oversized
//    requests 4.13, malformed requests 4.00.
//
// Every request it receives and every signal is recorded, for assertions.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lwgate/coap/message.hpp"
#include "lwgate/coap/signaling.hpp"
#include "lwgate/device/stream.hpp"
#include "lwgate/devsim/event_loop.hpp"
#include "lwgate/devsim/object_model.hpp"

namespace lwgate::devsim {

using Millis = std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

enum class Transport { tcp, tls };
using device::TlsOptions;
using device::TlsVersion;

// Something worth printing, for on_event (lwm2m-device-sim prints one line per event).
struct Event {
    enum class Kind {
        connected,
        closed,
        csm_received,
        registered,  // also: a failed registration, see text
        updated,
        deregistered,
        request_received,
        notification_sent,
        ping_received,
        release_received,
        abort_received,
        sent,  // an uplink Send completed
    };
    Kind kind;
    std::string text;  // one human-readable line, without the endpoint
};
const char* to_string(Event::Kind kind);

struct DeviceOptions {
    std::string endpoint = "devsim";
    // Name or IP literal. Names are resolved with getaddrinfo on the loop thread (blocking it
    // briefly): tests use literals.
    std::string host = "127.0.0.1";
    std::uint16_t port = 5683;
    // Source address (IP literal) to bind before connecting, any port; empty: the kernel's
    // choice. Tests use it to connect from another loopback address (127.0.0.2).
    std::string local_address;
    Transport transport = Transport::tcp;
    TlsOptions tls;

    // Registration: POST /rd?ep=E&lt=L&lwm2m=V&b=B[&Q]. With lwm2m "1.0" queue mode is the
    // binding "TQ" instead of the Q parameter.
    std::uint32_t lifetime = 300;
    std::string lwm2m_version = "1.1";
    std::string binding = "T";
    bool queue_mode = false;
    // Register payload (Content-Format 40). Default: ObjectModel::register_links().
    std::optional<std::string> object_links;
    // Like many LwM2M clients over TCP: every new connection starts a new registration, so
    // reconnect() and wake() send a Register (instead of nothing / an Update).
    bool register_on_connect = false;

    // RFC 8323.
    bool send_csm = true;  // false emulates Californium clients, which never send one
    std::uint32_t max_message_size = 1152;  // advertised in our CSM and enforced on input
    bool csm_block_wise_transfer = false;   // the CSM's BERT flag (we do not do BERT)
    bool answer_pings = true;               // auto-pong: answer 7.02 with 7.03 (same token)
    bool close_on_release = true;           // on 7.04 Release, close (FIN) as RFC 8323 §5.5 asks
    Millis ping_interval{0};  // >0: send our own Ping after this much silence (0 = never)

    // Block-wise.
    std::size_t preferred_block_size = 1024;            // 16..1024, for blocks we choose
    std::size_t max_incoming_body = 16u * 1024 * 1024;  // Block1 reassembly limit (4.13 beyond)

    Millis connect_timeout{5'000};  // TCP connect + TLS handshake
    Millis default_timeout{5'000};  // of the blocking methods without a timeout argument
    Millis linger_timeout{2'000};   // after our FIN, how long we drain input waiting for theirs

    // The data. Default: ObjectModel::default_device(endpoint, lifetime).
    std::optional<ObjectModel> model;

    // Share an event loop with other simulators (null: the simulator starts its own).
    std::shared_ptr<EventLoop> loop;
    // Called on the loop thread for every Event (must not call blocking methods).
    std::function<void(const Event&)> on_event;

    // Tokens of our requests are 4 bytes from a counter starting here (0: random start).
    std::uint32_t token_seed = 0;
    // Records kept for assertions (the oldest are dropped beyond this; indexes keep counting).
    std::size_t max_records = 100'000;
};

enum class Status {
    ok,                 // a response (or Pong) arrived; see Result::response
    timeout,            // nothing in time
    not_connected,      // no connection to send on
    connection_closed,  // the connection closed while waiting
    connect_failed,     // TCP connect failed (refused, unreachable, ...)
    tls_failed,         // TLS handshake failed
    bad_state,          // e.g. update() without a registration, or while silent
};
const char* to_string(Status status);

struct Result {
    Status status = Status::timeout;
    coap::Message response;  // valid when ok(); Block2 responses arrive reassembled
    std::string detail;      // why, when not ok()

    bool ok() const { return status == Status::ok; }
    // The response code, 0 unless ok().
    std::uint8_t code() const { return ok() ? response.code() : 0; }
    // Location-Path of the response ("/rd/abc"; empty if none).
    std::string location() const;
};

enum class ConnectionState { idle, connecting, connected, closed };
const char* to_string(ConnectionState state);

enum class CloseReason {
    none,
    local_disconnect,  // disconnect()/sleep()/reconnect(): our FIN
    local_reset,       // drop(): our RST
    peer_closed,       // FIN from the gateway
    peer_reset,        // ECONNRESET / socket error
    abort_received,    // the gateway sent 7.05
    abort_sent,        // we sent 7.05 (bad framing, bad signaling)
    release_received,  // the gateway sent 7.04 and close_on_release is set
    connect_failed,
    connect_timeout,
    tls_failed,
    shutdown,  // the simulator is being destroyed
};
const char* to_string(CloseReason reason);

struct CloseInfo {
    CloseReason reason = CloseReason::none;
    int error = 0;  // errno, when one applies
    std::string detail;
    std::size_t connection = 0;  // which connection (see Stats::connections)
    SteadyClock::time_point at{};
};

// A request the gateway sent us, as received, with what we answered.
struct ReceivedRequest {
    std::size_t index = 0;       // 0, 1, 2, ... in arrival order (never reused)
    std::size_t connection = 0;  // 1 for the first connection, 2 after a reconnect, ...
    SteadyClock::time_point at{};
    coap::Message message;  // exactly as decoded
    std::string path;       // "/3/0/1" ("/" for no Uri-Path)
    std::vector<std::string> queries;
    // The response code we sent (0 if a RequestHook chose not to answer).
    std::uint8_t response_code = 0;
    // On the last block of a reassembled Block1 transfer: the whole body.
    std::optional<coap::Bytes> block1_body;

    std::uint8_t code() const { return message.code(); }
    const coap::Token& token() const { return message.token(); }
    const coap::Bytes& payload() const { return message.payload(); }
    std::optional<std::uint32_t> observe() const;
    std::optional<std::uint32_t> accept() const;
    std::optional<std::uint32_t> content_format() const;
};

// A signaling message the gateway sent us (CSM, Ping, Pong, Release, Abort).
struct ReceivedSignal {
    std::size_t connection = 0;
    SteadyClock::time_point at{};
    coap::Message message;
    coap::Signal signal;
};

struct SentNotification {
    std::size_t connection = 0;
    SteadyClock::time_point at{};
    coap::Token token;
    std::string path;
    std::uint32_t observe = 0;
    std::uint8_t code = 0;
    std::size_t payload_size = 0;  // of the whole representation (first block only went out)
};

struct Observation {
    coap::Token token;
    std::string path;
    std::uint16_t content_format = 0;
    std::uint32_t last_observe = 0;
};

struct Execution {
    std::string path;
    std::string arguments;
};

struct Stats {
    std::size_t connections = 0;  // connections established (TCP + TLS handshake)
    std::uint64_t bytes_in = 0;
    std::uint64_t bytes_out = 0;
    std::uint64_t requests_received = 0;
    std::uint64_t responses_sent = 0;
    std::uint64_t notifications_sent = 0;
    std::uint64_t requests_sent = 0;       // frames, each block counts
    std::uint64_t responses_received = 0;  // frames
    std::uint64_t csms_received = 0;
    std::uint64_t pings_received = 0;
    std::uint64_t pongs_sent = 0;
    std::uint64_t pings_sent = 0;
    std::uint64_t pongs_received = 0;
    std::uint64_t releases_received = 0;
    std::uint64_t aborts_received = 0;
    std::uint64_t aborts_sent = 0;
    std::uint64_t decode_errors = 0;
    std::uint64_t unmatched_responses = 0;
};

// What a RequestHook decides for an incoming request.
struct HookResult {
    enum class Action { proceed, respond, ignore };
    Action action = Action::proceed;
    coap::Message response;  // for respond: sent with the request's token

    static HookResult proceed() { return {}; }
    static HookResult respond(coap::Message response) {
        return {Action::respond, std::move(response)};
    }
    // Send nothing (a device that loses or sits on a request; answer later with send_message).
    static HookResult ignore() { return {Action::ignore, {}}; }
};
// Called on the loop thread for every complete incoming request (after Block1 reassembly)
// before the default handling. Must not call blocking DeviceSimulator methods.
using RequestHook = std::function<HookResult(const ReceivedRequest&)>;

struct UpdateParams {
    std::optional<std::uint32_t> lifetime;  // lt=
    std::optional<std::string> binding;     // b=
    // Payload (Content-Format 40). Set send_object_links to send the model's current links.
    std::optional<std::string> object_links;
    bool send_object_links = false;
};

class DeviceSimulator {
  public:
    explicit DeviceSimulator(DeviceOptions options);
    // Closes the connection without De-register (FIN) and completes pending futures with
    // connection_closed.
    ~DeviceSimulator();
    DeviceSimulator(const DeviceSimulator&) = delete;
    DeviceSimulator& operator=(const DeviceSimulator&) = delete;

    const DeviceOptions& options() const;
    const std::string& endpoint() const;

    // --- connection -----------------------------------------------------------------------
    // Connects (TCP, then TLS if configured) and sends the CSM. ok when the connection is up;
    // connect_failed / tls_failed / timeout otherwise. A no-op returning ok when connected.
    Result connect();
    Result connect(Millis timeout);
    std::future<Result> connect_async();
    // Orderly close: flushes what is queued, TLS close_notify, FIN; then drains input until the
    // gateway's FIN (up to linger_timeout) in the background. Returns once our FIN is sent.
    void disconnect();
    // Abortive close: RST (SO_LINGER 0), no close_notify.
    void drop();
    // Where the next connection goes (the current one stays): a device that a balancer sends
    // to another gateway instance. options().port follows.
    void set_server_port(std::uint16_t port);
    // Half-open device: keeps the socket open but stops reading and sending anything (no Pongs,
    // no answers, no notifications; requests fail with bad_state). resume() undoes it.
    void go_silent();
    void resume();
    // A new connection (orderly close of the current one first). Does NOT re-register (unless
    // register_on_connect): an LwM2M queue-mode device reconnects and sends an Update.
    Result reconnect();
    Result reconnect(Millis timeout);
    // Queue mode: sleep() = disconnect(); wake() = connect + Update (returns the Update's result;
    // a Register's with register_on_connect).
    void sleep();
    Result wake();
    Result wake(Millis timeout);

    ConnectionState state() const;
    bool is_silent() const;
    std::optional<CloseInfo> last_close() const;
    // Waits until the current connection is closed (returns its CloseInfo), or nullopt.
    std::optional<CloseInfo> wait_closed(Millis timeout) const;
    bool wait_for_state(ConnectionState state, Millis timeout) const;
    // Local port of the current connection (0 if none), to find it in the gateway's log.
    std::uint16_t local_port() const;
    // The gateway's CSM values accumulated on the current connection; nullopt until one came.
    std::optional<coap::PeerCapabilities> gateway_csm() const;
    std::optional<coap::PeerCapabilities> wait_for_gateway_csm(Millis timeout) const;

    // --- LwM2M client flows ---------------------------------------------------------------
    // Connects if needed, then POST /rd?ep&lt&lwm2m&b[&Q] with the object links (CF 40). On 2.01
    // remembers the Location-Path (Result::location()) for update()/deregister().
    Result register_device();
    Result register_device(Millis timeout);
    std::future<Result> register_device_async();
    // POST /rd/<location>[?lt=..&b=..] [links]. bad_state without a registration.
    Result update(const UpdateParams& params = {});
    Result update(const UpdateParams& params, Millis timeout);
    std::future<Result> update_async(const UpdateParams& params = {});
    // DELETE /rd/<location>; forgets the location on 2.02.
    Result deregister();
    Result deregister(Millis timeout);
    std::future<Result> deregister_async();
    // POST /dp with Content-Format (LwM2M 1.1 Send); Block1 when it exceeds Max-Message-Size.
    Result send(coap::Bytes payload, std::uint16_t content_format = content_format::senml_json);
    Result send(coap::Bytes payload, std::uint16_t content_format, Millis timeout);
    std::future<Result> send_async(coap::Bytes payload, std::uint16_t content_format);
    // POST /bs?ep=E (Bootstrap-Request).
    Result bootstrap_request(Millis timeout);
    // Any request: a token is assigned when the message has none; Block1/Block2 as above.
    Result request(coap::Message message);
    Result request(coap::Message message, Millis timeout);
    std::future<Result> request_async(coap::Message message, Millis timeout);
    // 7.02 Ping (fresh token) and wait for the Pong; Result::response is the Pong. Any Pong
    // counts when none carries our token (libcoap 4.3.1 drops it).
    Result ping(Millis timeout);

    std::optional<std::string> registration_location() const;  // "/rd/abc"
    bool is_registered() const { return registration_location().has_value(); }

    // --- raw sending ----------------------------------------------------------------------
    // Queues a message / bytes on the current connection as is (responses to ignored requests,
    // Releases, malformed frames...). False when not connected or silent.
    bool send_message(const coap::Message& message);
    bool send_raw(coap::Bytes bytes);

    // --- the data ---------------------------------------------------------------------------
    // Sets a resource (creating it) and notifies its observers. Returns the number of
    // notifications sent. `path` is "/O/I/R"; throws std::invalid_argument otherwise.
    std::size_t set_resource(std::string_view path, coap::Bytes value,
                             std::uint16_t format = content_format::octet_stream);
    std::size_t set_resource(std::string_view path, std::string_view text);  // text/plain
    // Sends a notification to the observers of `path` (and of the paths containing it) without
    // changing anything. Returns how many were sent.
    std::size_t notify(std::string_view path);
    std::optional<Resource> resource(std::string_view path) const;
    // Runs `fn` on the model (on the loop thread) and returns when done. No notifications.
    void modify_model(std::function<void(ObjectModel&)> fn);
    ObjectModel model() const;  // a copy
    std::vector<Observation> observations() const;

    void set_request_hook(RequestHook hook);

    // --- records ----------------------------------------------------------------------------
    std::vector<ReceivedRequest> requests() const;
    std::size_t request_count() const;  // index the next request will get
    // The first recorded request with index >= from_index that satisfies `match`, waiting for
    // it up to `timeout`. Requests that arrived before the call count (no race). `match` runs
    // under the records' lock: it must not call the simulator.
    std::optional<ReceivedRequest> wait_for_request(
        const std::function<bool(const ReceivedRequest&)>& match, Millis timeout,
        std::size_t from_index = 0) const;
    std::vector<ReceivedSignal> signals() const;
    std::vector<coap::Release> releases() const;
    std::vector<coap::Abort> aborts() const;
    std::vector<SentNotification> notifications() const;
    std::vector<Execution> executions() const;
    Stats stats() const;
    // Waits until `pred(stats())` holds (evaluated under the lock, like wait_for_request's
    // `match`). False on timeout.
    bool wait_for_stats(const std::function<bool(const Stats&)>& pred, Millis timeout) const;

    // Matchers for wait_for_request.
    static std::function<bool(const ReceivedRequest&)> path_is(std::string path);
    static std::function<bool(const ReceivedRequest&)> code_and_path(std::uint8_t code,
                                                                     std::string path);

    struct Impl;

  private:
    template <class R, class F>
    R call(F&& fn) const;
    template <class F>
    std::future<Result> start(Millis timeout, F&& fn);
    std::future<Result> deregister_async_for(Millis timeout);

    std::shared_ptr<EventLoop> loop_;  // declared first: outlives impl_
    std::shared_ptr<Impl> impl_;
};

}  // namespace lwgate::devsim
