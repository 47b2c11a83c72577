// What keeping a device reachable costs on the wire: the CoAP keepalive frames a connection
// exchanged (Ping and Pong, both directions, counted by DownstreamProtocol) turned into an
// estimate of the IP bytes they took, and the same projected over a day for a device that sends
// nothing else. The estimate is a model, not a capture (`lwgate-bench wirecost` measures the real
// thing): every keepalive frame travels in a TCP segment of its own, and every Ping/Pong exchange
// ends with one pure ACK, since the answer to a Ping carries the ACK of the Ping but nothing
// answers the Pong.
#pragma once

#include <cstdint>

#include "util/clock.hpp"

namespace lwgate::session {

// IPv4 (20) + TCP (20) + the timestamp option Linux puts in every segment (12 with padding).
inline constexpr std::uint32_t tcp_ip_header_bytes = 52;

// Keepalive frames one connection exchanged: the CoAP frames as encoded (RFC 8323 §3.2).
struct KeepaliveTraffic {
    std::uint64_t frames_in = 0;   // Pings and Pongs the device sent
    std::uint64_t frames_out = 0;  // Pings and Pongs lwgate sent
    std::uint64_t bytes_in = 0;
    std::uint64_t bytes_out = 0;
};

// `record_overhead`: the bytes TLS adds to one record (0 on plain TCP; see
// net::tls_record_overhead).
std::uint64_t estimate_wire_bytes(const KeepaliveTraffic& traffic, std::uint32_t record_overhead);

// A device that sends nothing: one Ping of `ping_frame` bytes and its Pong of `pong_frame` bytes
// each `idle` (the keepalive timer restarts when the Pong arrives, so the exchange repeats after
// idle plus the round trip, which is ignored here: an upper bound).
std::uint64_t idle_wire_bytes_per_day(Duration idle, std::uint32_t ping_frame,
                                      std::uint32_t pong_frame, std::uint32_t record_overhead);

}  // namespace lwgate::session
