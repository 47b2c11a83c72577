// Value types of the LwM2M core simulator: CoAP codes, methods, options, requests, responses,
// registrations and the event log. Plain data, copyable, no libcoap types, so tests can use them
// without including libcoap.
#pragma once

#include "lwgate/coap/option.hpp"
#include "lwgate/device/content_format.hpp"
#include "lwgate/device/hex.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lwgate::coresim {

using Bytes = std::vector<std::uint8_t>;
using Millis = std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

Bytes to_bytes(std::string_view text);
std::string to_string(const Bytes& bytes);
// Hex keys and the Content-Format table are the tools' shared ones (tools/device).
using device::parse_hex;
using device::to_hex;

// A CoAP code "c.dd" (RFC 7252 §3): class in the top 3 bits, detail in the low 5.
struct Code {
    std::uint8_t raw = 0;

    constexpr Code() = default;
    constexpr Code(unsigned cls, unsigned detail)
        : raw(static_cast<std::uint8_t>(((cls & 0x7u) << 5) | (detail & 0x1fu))) {}
    static constexpr Code from_raw(std::uint8_t raw) {
        Code code;
        code.raw = raw;
        return code;
    }
    // Parses "4.12" (also "4.4" = 4.04). nullopt if malformed.
    static std::optional<Code> parse(std::string_view text);

    constexpr unsigned cls() const { return raw >> 5; }
    constexpr unsigned detail() const { return raw & 0x1fu; }
    constexpr bool success() const { return cls() == 2; }
    // "2.05"
    std::string str() const;

    friend constexpr bool operator==(Code a, Code b) { return a.raw == b.raw; }
    friend constexpr bool operator!=(Code a, Code b) { return a.raw != b.raw; }
};

namespace codes {
inline constexpr Code empty{0, 0};
inline constexpr Code created{2, 1};
inline constexpr Code deleted{2, 2};
inline constexpr Code valid{2, 3};
inline constexpr Code changed{2, 4};
inline constexpr Code content{2, 5};
inline constexpr Code continue_{2, 31};
inline constexpr Code bad_request{4, 0};
inline constexpr Code unauthorized{4, 1};
inline constexpr Code bad_option{4, 2};
inline constexpr Code forbidden{4, 3};
inline constexpr Code not_found{4, 4};
inline constexpr Code method_not_allowed{4, 5};
inline constexpr Code not_acceptable{4, 6};
inline constexpr Code request_entity_incomplete{4, 8};
inline constexpr Code precondition_failed{4, 12};
inline constexpr Code request_entity_too_large{4, 13};
inline constexpr Code unsupported_content_format{4, 15};
inline constexpr Code internal_server_error{5, 0};
inline constexpr Code service_unavailable{5, 3};
inline constexpr Code gateway_timeout{5, 4};
}  // namespace codes

namespace content_format = device::content_format;

// CoAP option numbers: lwgate's own table (include/lwgate/coap/option.hpp), plus No-Response.
namespace option {
using namespace ::lwgate::coap::option;
inline constexpr std::uint16_t no_response = 258;  // RFC 7967
}  // namespace option

enum class Method : std::uint8_t {
    get = 1,
    post = 2,
    put = 3,
    delete_ = 4,
    fetch = 5,
    patch = 6,
    ipatch = 7,
};
const char* to_string(Method method);

struct Option {
    std::uint16_t number = 0;
    Bytes value;

    friend bool operator==(const Option&, const Option&) = default;
};

// Splits "/3/0/1" (or "3/0/1") into {"3", "0", "1"}; "/" and "" give {}. Empty segments inside
// ("/3//1") are kept as empty strings, as CoAP allows empty Uri-Path options.
std::vector<std::string> split_path(std::string_view path);
// Splits "pmin=1&pmax=5" into {"pmin=1", "pmax=5"}; "" gives {}.
std::vector<std::string> split_query(std::string_view query);

// A downlink request the core sends to a registered device.
struct Request {
    Method method = Method::get;
    std::string uri_path;                // "/3/0/1": one Uri-Path option per segment
    std::vector<std::string> uri_query;  // one Uri-Query option each, e.g. "pmin=1"
    std::optional<std::uint16_t> content_format;
    std::optional<std::uint16_t> accept;
    Bytes payload;                         // sent with Block1 by libcoap when it needs it
    std::optional<std::uint32_t> observe;  // 0 = register (use CoreSimulator::observe), 1 = cancel
    bool confirmable = true;
    std::vector<Option> extra_options;  // added as they are (e.g. If-Match, ETag)
};

// A response (or notification) from a device, after libcoap reassembled any Block2 transfer.
struct Response {
    Code code;
    std::vector<Option> options;  // every option of the (last) PDU, in order
    std::optional<std::uint16_t> content_format;
    Bytes payload;  // the full body
    std::optional<std::uint32_t> observe;
    Bytes token;
    SteadyClock::time_point received_at{};

    std::string text() const { return to_string(payload); }
    // Values of every option with this number, in order.
    std::vector<Bytes> option_values(std::uint16_t number) const;
    bool has_option(std::uint16_t number) const;
};

// What the simulator logs: every uplink request it handled and every notification it received.
enum class EventKind {
    register_,     // POST /rd (accepted or not: see response)
    update,        // POST /rd/<id>
    deregister,    // DELETE /rd/<id>
    send,          // POST /dp (LwM2M Send)
    bootstrap,     // POST /bs?ep=.. (Bootstrap-Request)
    notification,  // an Observe notification from a device
    other,         // any other request (answered 4.04 / 4.05)
    psk_rejected,  // a DTLS handshake offered an unknown PSK identity
};
const char* to_string(EventKind kind);

struct Event {
    EventKind kind = EventKind::other;
    std::uint64_t seq = 0;        // 1, 2, 3... in arrival order, across all kinds
    std::string endpoint;         // ep (Register, Bootstrap) or the registration's endpoint
    std::string registration_id;  // for register (when accepted), update, deregister
    std::string source;           // remote "ip:port" the message came from
    std::optional<std::string> dtls_identity;  // PSK identity of the DTLS session, if any
    Method method = Method::get;
    std::string path;                // Uri-Path joined: "/rd/5"
    std::vector<std::string> query;  // raw Uri-Query options, in order, exactly as received
    std::optional<std::uint16_t> content_format;
    Bytes payload;  // full body (Block1 reassembled)
    Bytes token;    // the request's (or notification's) token
    Code response;  // what the simulator answered; for a notification, its own code
    std::optional<std::uint32_t> observe;  // notifications
    SteadyClock::time_point at{};

    bool accepted() const { return response.success(); }
    // The value of the first "key=value" (or bare "key") query option; nullopt if absent.
    std::optional<std::string> query_value(std::string_view key) const;
    bool has_query(std::string_view key) const { return query_value(key).has_value(); }
};

// One registration as the core sees it (OMA LwM2M 1.1 §6.2). A new Register from the same
// endpoint replaces it (with a new id).
struct Registration {
    std::string endpoint;
    std::string id;                     // "rd/<id>" is its location
    std::uint32_t lifetime = 86400;     // lt (default 86400)
    std::string lwm2m_version = "1.0";  // lwm2m (default "1.0")
    std::string binding = "U";          // b exactly as received (default "U")
    bool queue_mode = false;            // Q present
    std::optional<std::string> sms;     // sms
    std::vector<std::string> query;     // the Register's raw Uri-Query options
    Bytes object_links;                 // link-format payload, as last received
    std::optional<std::uint16_t> content_format;
    std::string source;  // "ip:port" of the last Register/Update
    std::optional<std::string> dtls_identity;
    bool active = true;       // false once de-registered
    std::size_t updates = 0;  // Updates accepted for this registration
    SteadyClock::time_point registered_at{};
    SteadyClock::time_point last_refresh{};  // last Register/Update
    std::vector<Event> history;              // register, update..., deregister

    std::string object_links_text() const { return to_string(object_links); }
};

enum class WriteMode { replace /* PUT */, partial /* POST */ };

enum class CancelMode {
    reset,         // answer the next notification with RST
    get_observe1,  // GET with Observe=1 and the same token (and Uri-Path)
};

// A handle on an observation started with CoreSimulator::observe().
struct Observation {
    std::uint64_t id = 0;
    std::string endpoint;
    std::string path;
    Bytes token;
    Response first;  // the response to the GET Observe=0

    bool established() const { return first.code.success() && first.observe.has_value(); }
};

}  // namespace lwgate::coresim
