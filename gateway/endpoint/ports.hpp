// What an endpoint host asks of the world around it, as three small interfaces. The bridge
// implements them (the device port posts to the shard that holds a connection, the core port
// drives the endpoint's upstream session on libcoap); unit tests implement them with fakes.
// Every call is made on the owner shard's thread, from inside a host's event handler; none of
// them may call back into the host (each returns what the host needs to know instead).
#pragma once

#include <cstddef>
#include <cstdint>

#include "lwgate/coap/message.hpp"
#include "lwm2m/device_relay.hpp"
#include "lwm2m/registration.hpp"

namespace lwgate::lwm2m {

// The device's connections, wherever they live.
class DevicePort {
  public:
    virtual ~DevicePort() = default;
    // To connection `conn` (dropped when the device no longer has it).
    virtual void send(ConnectionId conn, coap::Message&& message) = 0;
    // The same, for an answer that refuses the connection's identity: the connection's side
    // counts and logs it (`endpoint`: the endpoint it tried to act for).
    virtual void refuse(ConnectionId conn, coap::Message&& answer, Refusal reason,
                        const std::string& endpoint) = 0;
    // `conn` now carries (or no longer carries) the endpoint's registration.
    virtual void registered(const Registered& registered) = 0;
    // The registration expired: close `conn`.
    virtual void close_expired(ConnectionId conn) = 0;
};

// The endpoint's upstream session (toward the core, or the bootstrap server).
class CorePort {
  public:
    virtual ~CorePort() = default;
    // The largest payload `message` may carry on this session's transport.
    virtual std::size_t max_payload(const coap::Message& message) const = 0;
    // False when it could not be sent (the session failed).
    virtual bool send(const coap::Message& request) = 0;
    virtual void respond(CoreRequestId id, coap::Message&& response) = 0;
    virtual void notify(const coap::Message& notification) = 0;
    // The core's request `id` waits for a device that is not connected: acknowledge it rather
    // than let the core retransmit. True when it is persistent state from now on (acknowledged,
    // or acknowledged once the store has it).
    virtual bool acknowledge_held(CoreRequestId id) = 0;
    // Whether the core's request `id` was acknowledged already (an empty ACK went out).
    virtual bool acknowledged(CoreRequestId id) const = 0;
};

// Sees what a host does, for the admin statistics and the store. Default: nothing.
class HostObserver {
  public:
    virtual ~HostObserver() = default;
    virtual void uplink_sent(const std::string& /*endpoint*/, const coap::Message& /*request*/,
                             Uplink /*kind*/) {}
    virtual void downlink_answered(CoreRequestId /*id*/, const coap::Message& /*response*/) {}
    virtual void notification_sent(const coap::Message& /*notification*/) {}
};

}  // namespace lwgate::lwm2m
