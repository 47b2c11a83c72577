// The translation a TCP<->UDP CoAP gateway cannot do without, for one device, sans-I/O: the
// "floor" that lwgate-bench measures next to lwgate (floor_forwarder.hpp runs it on sockets).
//
// Why it exists: on loopback most of a relayed message's cost is the kernel's (four socket
// operations per round trip, each paying for the receiver's side too). A forwarder that does only
// what RFC 8323 <-> RFC 7252 framing requires shows how far any gateway, lwgate included, can get
// on the machine at hand; lwgate's numbers are then read against it.
//
// What it does, and nothing more:
//  - device -> core: a TCP frame becomes a datagram with the same code, token, options and
//    payload. A request goes out CON with a fresh Message ID; a response to a CON request of the
//    core goes out as its piggybacked ACK (matched by token), any other response NON.
//  - core -> device: a datagram becomes a TCP frame; a CON request's Message ID is remembered for
//    the piggybacked answer; a CON response (separate) is ACKed; empty ACKs and RSTs are dropped;
//    a CoAP ping (empty CON) is answered with RST.
//  - signaling stays on the TCP side: CSM is answered with an empty CSM, Ping with Pong; Abort
//    ends the connection.
// What it leaves out on purpose (so it is a floor, not a gateway): retransmission and duplicate
// detection toward the core (loopback loses nothing), keepalive, registration state, persistence,
// Observe bookkeeping, block-wise transfers, TLS, limits beyond a frame cap.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "coap_lite.hpp"

namespace lwgate::bench {

class FloorRelay {
  public:
    // Receives what the relay emits. The span is valid only during the call.
    class Sink {
      public:
        virtual void to_device(lite::Span frame) = 0;
        virtual void to_core(lite::Span datagram) = 0;

      protected:
        ~Sink() = default;
    };

    static constexpr std::size_t max_frame = 64 * 1024;
    // CON requests of the core awaiting the device's answer; the oldest is forgotten beyond this.
    static constexpr std::size_t max_pending = 64;

    // Bytes read from the device's TCP stream, split anywhere. False once the stream is broken
    // (bad framing, a frame over max_frame, Abort): the connection is to be closed.
    bool from_device(lite::Span bytes, Sink& sink);
    // One datagram from the core. Malformed datagrams are dropped.
    void from_core(lite::Span datagram, Sink& sink);

    std::size_t pending() const { return pending_.size(); }

  private:
    struct Pending {
        std::uint8_t token_len = 0;
        std::uint8_t token[8] = {};
        std::uint16_t mid = 0;
    };

    // Handles the whole frames at the front of `bytes`; returns how many bytes they took, or -1.
    long consume(lite::Span bytes, Sink& sink);
    bool frame_from_device(lite::Span frame, Sink& sink);
    void reply_to_core(lite::Type type, std::uint16_t mid, Sink& sink);

    std::vector<std::uint8_t> partial_;  // the start of a frame not yet complete
    std::vector<Pending> pending_;
    std::uint16_t next_mid_ = 1;
};

}  // namespace lwgate::bench
