// lwgate::coresim::CoreSimulator: an LwM2M server ("core") on CoAP over UDP and DTLS-PSK, built on
// libcoap 4.3.1, for integration tests (scripted from GoogleTest) and the lwm2m-core-sim program.
//
// What it does
//  - Registration interface (OMA LwM2M 1.1 §6.2): POST /rd?ep=..&lt=..&lwm2m=..&b=..[&Q] with a
//    link-format payload -> 2.01 Created, Location-Path "rd" "<id>"; POST /rd/<id>[?lt=..&b=..]
//    (Update) -> 2.04; DELETE /rd/<id> -> 2.02; an unknown id -> 4.04. Every field is recorded
//    exactly as received (see Registration and Event).
//  - Bootstrap-Request POST /bs?ep=.. -> 2.04; LwM2M Send POST /dp -> 2.04 (recorded).
//  - Downlink: any request to a registered device (request()), and the LwM2M operations as
//    wrappers (read, write, execute, create, delete_, discover, write_attributes, composites,
//    observe / cancel_observe). A request goes to the address the device's last Register/Update
//    (or Bootstrap-Request) came from, on that libcoap server session (DTLS included).
//  - Block-wise (RFC 7959) both ways is done by libcoap (COAP_BLOCK_USE_LIBCOAP |
//    COAP_BLOCK_SINGLE_BODY): bodies of any size are sent and recorded whole.
//  - Scripting: set_register_response(4.12), set_update_response(4.04), set_silent(true) (drop
//    every datagram unread and unanswered: a dead core).
//  - Like a real server: a re-Register replaces the registration (new id, the old one answers
//    4.04); a retransmitted request (same peer and Message ID) gets the first answer again and
//    is not recorded twice; observations belong to the session they were made on, and a
//    notification that matches none (unknown token, other address, cancelled) gets RST.
//
// Threading
//   All libcoap calls happen on the simulator's own thread (libcoap 4.3.1 is not thread-safe).
//   Public methods may be called from any thread; they post work to that thread and wait for
//   the result with a timeout. Every wait takes a timeout and returns nullopt / false when it
//   passes; nothing blocks forever. Do not call blocking methods from an Options::on_event
//   callback (it runs on the simulator thread).
//
// Lifetime
//   start() binds; stop() (or the destructor) joins the thread and frees the libcoap context.
//   coap_startup() runs once per process; coap_cleanup() is never called (other libcoap users in
//   the same process, e.g. a test's device, may still be running).
//
// Typical use:
//
//   lwgate::coresim::CoreSimulator core;
//   core.start();                                   // 127.0.0.1, port 0
//   ... point the gateway at core.uri() ...
//   auto reg = core.wait_registration("urn:imei:1", 5s);
//   ASSERT_TRUE(reg); EXPECT_EQ(reg->binding, "U");
//   auto r = core.read("urn:imei:1", "/3/0/0");
//   ASSERT_TRUE(r); EXPECT_EQ(r->code, codes::content);
//   auto obs = core.observe("urn:imei:1", "/3/0/13");
//   auto n = core.wait_notification(*obs, 5s);
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lwgate/coresim/types.hpp"

namespace lwgate::coresim {

inline constexpr Millis kDefaultTimeout{5'000};

// coap_startup() once per process, thread-safe (libcoap's own guard is a plain int), and
// libcoap's log level from LWGATE_COAP_LOG (0-7, default 3 = errors only). CoreSimulator calls
// it; other libcoap users in the same process (e.g. a test's device) should call it too.
void coap_startup_once();

struct Options {
    // Address of the endpoints (an IPv4 or IPv6 literal).
    std::string host = "127.0.0.1";
    // Plain CoAP over UDP. 0 = an ephemeral port (read it back with port()).
    bool udp = true;
    std::uint16_t port = 0;
    // CoAP over DTLS with PSK (OpenSSL). Handshakes offering an identity that is not in psk_keys
    // fail (and are logged as EventKind::psk_rejected).
    bool dtls = false;
    std::uint16_t dtls_port = 0;
    std::map<std::string, Bytes> psk_keys;  // identity -> key
    // Initial answers (can be changed later with the setters).
    Code register_response = codes::created;
    Code update_response = codes::changed;
    // Called on the simulator thread for every Event, as it is recorded. Must be quick and must
    // not call blocking CoreSimulator methods.
    std::function<void(const Event&)> on_event;
};

class CoreSimulator {
  public:
    CoreSimulator();
    ~CoreSimulator();
    CoreSimulator(const CoreSimulator&) = delete;
    CoreSimulator& operator=(const CoreSimulator&) = delete;

    // Creates the libcoap context and endpoints and starts the thread. Throws std::runtime_error
    // (with the reason) if an endpoint cannot be bound or start() was already called.
    void start(Options options = {});
    // Stops the thread and frees libcoap state. Idempotent. Pending waits return empty.
    void stop();
    bool running() const;

    // Bound ports (0 if that endpoint is not enabled), and URIs like "coap://127.0.0.1:5683".
    std::uint16_t port() const;
    std::uint16_t dtls_port() const;
    std::string uri() const;
    std::string dtls_uri() const;

    // ---- Scripted behaviour -------------------------------------------------------------------
    // Answer to POST /rd. A code that is not 2.xx rejects the registration (it is still logged as
    // an Event with that response). Default 2.01.
    void set_register_response(Code code);
    // Answer to POST /rd/<known id>. A code that is not 2.xx leaves the registration unchanged.
    // Default 2.04.
    void set_update_response(Code code);
    // Silent: every datagram reaching an endpoint (DTLS handshakes included) is read and dropped
    // without processing or answering; libcoap timers (retransmissions) pause. Dropped datagrams
    // count in messages_received().
    void set_silent(bool silent);
    bool silent() const;

    // ---- What the core saw --------------------------------------------------------------------
    // The latest registration of every endpoint that ever registered (active or not).
    std::vector<Registration> registrations() const;
    std::optional<Registration> registration(const std::string& endpoint) const;
    // Waits until `endpoint` has made at least `count` accepted Registers since start(); returns
    // its latest registration.
    std::optional<Registration> wait_registration(const std::string& endpoint,
                                                  Millis timeout = kDefaultTimeout,
                                                  std::size_t count = 1);
    // Waits until `endpoint` has made at least `count` accepted Updates since start() (across
    // registrations); returns its latest registration.
    std::optional<Registration> wait_update(const std::string& endpoint, std::size_t count = 1,
                                            Millis timeout = kDefaultTimeout);
    // Waits until the latest registration of `endpoint` has been de-registered.
    std::optional<Registration> wait_deregistration(const std::string& endpoint,
                                                    Millis timeout = kDefaultTimeout);

    // Every event so far, in order.
    std::vector<Event> events() const;
    std::vector<Event> events(EventKind kind) const;
    // Waits for the first event (from the start, in order) matching `match`.
    std::optional<Event> wait_event(const std::function<bool(const Event&)>& match,
                                    Millis timeout = kDefaultTimeout);
    // LwM2M Sends (POST /dp) so far, and a wait for the count-th one (1-based).
    std::vector<Event> sends() const { return events(EventKind::send); }
    std::optional<Event> wait_send(std::size_t count = 1, Millis timeout = kDefaultTimeout);

    // Messages that reached the simulator: requests, responses, notifications and RSTs that
    // libcoap delivered, plus datagrams dropped while silent. (Empty ACKs and DTLS handshake
    // records are not counted while not silent.)
    std::uint64_t messages_received() const;
    // CoAP Pings (empty CONs: lwgate's core check, upstream.probe_interval), answered with a Reset
    // by libcoap, or dropped while silent (plain UDP ones only: a DTLS record is a message).
    // Not counted in messages_received(), so that "nothing reached the core" means no LwM2M.
    std::uint64_t pings_received() const;
    // Retransmitted requests (same peer and Message ID as one already answered): libcoap 4.3.1
    // hands them to the application again; the simulator answers them with the first answer
    // (code and Location-Path) and records no new event. Counted in messages_received() too.
    std::uint64_t duplicates_received() const;
    // "ip:port" of the last Register/Update/Bootstrap-Request of `endpoint`.
    std::optional<std::string> last_source(const std::string& endpoint) const;

    // ---- Downlink -----------------------------------------------------------------------------
    // Sends `request` to the registered device `endpoint` and waits for its answer (Block2
    // reassembled). nullopt if the endpoint has no registration (or bootstrap) session, if the
    // device answered RST, if libcoap gave up retransmitting, or if the timeout passed.
    // Use observe() rather than request() with observe = 0, so notifications are kept.
    std::optional<Response> request(const std::string& endpoint, const Request& request,
                                    Millis timeout = kDefaultTimeout);

    std::optional<Response> read(const std::string& endpoint, const std::string& path,
                                 std::optional<std::uint16_t> accept = std::nullopt,
                                 Millis timeout = kDefaultTimeout);
    std::optional<Response> write(const std::string& endpoint, const std::string& path,
                                  std::uint16_t format, Bytes payload,
                                  WriteMode mode = WriteMode::replace,
                                  Millis timeout = kDefaultTimeout);
    // POST; `args` (e.g. "0='x'") becomes a text/plain payload when not empty.
    std::optional<Response> execute(const std::string& endpoint, const std::string& path,
                                    const std::string& args = {}, Millis timeout = kDefaultTimeout);
    std::optional<Response> create(const std::string& endpoint, const std::string& path,
                                   std::uint16_t format, Bytes payload,
                                   Millis timeout = kDefaultTimeout);
    std::optional<Response> delete_(const std::string& endpoint, const std::string& path,
                                    Millis timeout = kDefaultTimeout);
    // GET with Accept: application/link-format (40).
    std::optional<Response> discover(const std::string& endpoint, const std::string& path,
                                     Millis timeout = kDefaultTimeout);
    // PUT with no payload and the query split on '&' ("pmin=1&pmax=5").
    std::optional<Response> write_attributes(const std::string& endpoint, const std::string& path,
                                             const std::string& query,
                                             Millis timeout = kDefaultTimeout);
    // FETCH / iPATCH (on `path`, normally "/") with a SenML payload.
    std::optional<Response> read_composite(const std::string& endpoint, std::uint16_t format,
                                           Bytes payload,
                                           std::optional<std::uint16_t> accept = std::nullopt,
                                           const std::string& path = "/",
                                           Millis timeout = kDefaultTimeout);
    std::optional<Response> write_composite(const std::string& endpoint, std::uint16_t format,
                                            Bytes payload, const std::string& path = "/",
                                            Millis timeout = kDefaultTimeout);
    // POST /bs (Bootstrap-Finish) to a device that made a Bootstrap-Request.
    std::optional<Response> bootstrap_finish(const std::string& endpoint,
                                             Millis timeout = kDefaultTimeout);

    // GET with Observe=0. Returns the handle with the first response (check established():
    // a device may answer without Observe), or nullopt if no response came. Every later
    // response with the handle's token is a notification: queued for wait_notification() and
    // kept in notifications().
    std::optional<Observation> observe(const std::string& endpoint, const std::string& path,
                                       std::optional<std::uint16_t> accept = std::nullopt,
                                       Millis timeout = kDefaultTimeout);
    // The next notification not yet returned (in arrival order).
    std::optional<Response> wait_notification(const Observation& observation,
                                              Millis timeout = kDefaultTimeout);
    // Every notification received for the observation (not the first response), in order.
    std::vector<Response> notifications(const Observation& observation) const;
    // Cancels an observation.
    //  - CancelMode::get_observe1: sends GET Observe=1 with the same token and path and waits
    //    for its answer (returned; nullopt on timeout).
    //  - CancelMode::reset: arms an RST for the next notification and returns nullopt at once;
    //    wait_reset_sent() tells when it went out.
    // Either way, any later notification with that token is answered with RST.
    std::optional<Response> cancel_observe(const Observation& observation, CancelMode mode,
                                           Millis timeout = kDefaultTimeout);
    // Waits until at least `count` RSTs were sent for this observation's notifications.
    bool wait_reset_sent(const Observation& observation, std::size_t count = 1,
                         Millis timeout = kDefaultTimeout);
    // Observations started with observe(), most recent last.
    std::vector<Observation> observations() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace lwgate::coresim
