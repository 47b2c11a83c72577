// The kernel's memory for sockets, machine-wide: /proc/net/sockstat (TCP and UDP buffer memory,
// in pages) and /proc/slabinfo (the socket objects themselves). The cluster scenario reads it
// before and after registering the fleet; the difference per device covers both ends of every
// loopback connection (the device's and lwgate's) and lwgate's UDP socket toward the core.
#pragma once

#include <cstdint>

namespace lwgate::bench {

struct KernelSocketMemory {
    std::uint64_t tcp_mem_bytes = 0;  // sockstat "TCP: ... mem" x page size
    std::uint64_t udp_mem_bytes = 0;  // sockstat "UDP: ... mem" x page size
    std::uint64_t tcp_inuse = 0, udp_inuse = 0;
    // slabinfo active_objs x objsize of the caches TCP, UDP, sock_inode_cache, tw_sock_TCP and
    // request_sock_TCP (0 when /proc/slabinfo cannot be read: it needs root).
    std::uint64_t slab_bytes = 0;
};

KernelSocketMemory kernel_socket_memory();

}  // namespace lwgate::bench
