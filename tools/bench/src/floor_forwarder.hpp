// The floor forwarder's process: FloorRelay (floor_relay.hpp) on plain epoll and non-blocking
// sockets, one UDP socket per device toward the core, like lwgate. It adds no work of its own
// beyond what the sockets need: level-triggered epoll, one recv per readiness, the frames
// produced by one read written with one send. lwgate-bench starts it as a child process
// (`lwgate-bench --floor-forwarder PORT CORE_PORT THREADS`) so that its CPU time is measured
// the same way as lwgate's.
#pragma once

#include <cstdint>

namespace lwgate::bench {

// Listens on 127.0.0.1:port (TCP) and relays every connection to 127.0.0.1:core_port (UDP)
// with `threads` event loops. Returns only on a setup error (the bench kills it when done).
int run_floor_forwarder(std::uint16_t port, std::uint16_t core_port, unsigned threads);

}  // namespace lwgate::bench
