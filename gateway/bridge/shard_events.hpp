// Everything one shard's bridge asks of another. Shards share nothing on the per-message path:
// an endpoint's state lives on its owner shard, a connection on the shard that accepted it, and
// the two talk only through these events, posted to the other shard's io_context (nghttp2's
// WorkerEvent is the model). Every cross-shard call is one of the alternatives below, so what
// crosses threads can be read here, and nothing reaches into another shard's private state.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>
#include <variant>

#include "cluster/notice.hpp"
#include "lwgate/coap/message.hpp"
#include "lwm2m/device_relay.hpp"
#include "session/close_reason.hpp"

namespace lwgate::lwm2m {

// ---- to the shard that owns an endpoint ------------------------------------------------------

// An admitted message of a device connection, for the endpoint's relay.
struct DeviceMessageEvent {
    unsigned conn_shard;  // where the connection lives: answers go back there
    ConnectionId conn;
    std::string endpoint;
    bool authenticated;
    Uplink kind;  // classify_uplink() of a request, as the Router saw it (other for responses)
    coap::Message message;
};

// A connection bound to the endpoint closed.
struct ConnectionClosedEvent {
    ConnectionId conn;
    std::string endpoint;
};

// ---- to the shard that holds a connection -----------------------------------------------------

// A message for the device on this connection (a downlink, or an answer to its request).
struct SendEvent {
    ConnectionId conn;
    coap::Message message;
};

// An answer that refuses the connection's identity: counted and logged here, where the
// connection's remote address and TLS identity are known, then sent.
struct RefuseEvent {
    ConnectionId conn;
    Refusal reason;
    std::string endpoint;
    coap::Message answer;
};

// The connection now carries (or no longer carries) the endpoint's registration.
struct RegisteredEvent {
    Registered registered;
};

// Close the connection (its registration expired).
struct CloseConnectionEvent {
    ConnectionId conn;
    session::CloseReason reason;
    const char* detail;  // a literal: events carry no owned text they do not need
};

// ---- cluster: from the shard that reads this instance's inbox -----------------------------------

// Another instance asks for an endpoint this shard owns, or says it released one.
struct ClusterNoticeEvent {
    cluster::Notice notice;
};

// This instance's lease had run out: every endpoint the shard owns is checked again.
struct LeaseLapsedEvent {};

using ShardEvent =
    std::variant<DeviceMessageEvent, ConnectionClosedEvent, SendEvent, RefuseEvent, RegisteredEvent,
                 CloseConnectionEvent, ClusterNoticeEvent, LeaseLapsedEvent>;

// Whether T is one of the events above: Bridge::post() takes nothing else. The events travel as
// themselves, not inside a ShardEvent (one move of the message fewer on every relayed request);
// the variant is the list.
template <class T, class Variant>
struct is_alternative;
template <class T, class... Ts>
struct is_alternative<T, std::variant<Ts...>> : std::disjunction<std::is_same<T, Ts>...> {};
template <class T>
inline constexpr bool is_shard_event = is_alternative<T, ShardEvent>::value;

}  // namespace lwgate::lwm2m
