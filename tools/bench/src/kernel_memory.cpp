#include "kernel_memory.hpp"

#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace lwgate::bench {

namespace {

// "TCP: inuse 5 orphan 0 tw 0 alloc 7 mem 1": the value after `key`.
std::uint64_t field(const std::string& line, const std::string& key) {
    std::istringstream in(line);
    std::string word;
    while (in >> word) {
        if (word == key) {
            std::uint64_t v = 0;
            in >> v;
            return v;
        }
    }
    return 0;
}

void read_sockstat(KernelSocketMemory& m) {
    const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    std::ifstream in("/proc/net/sockstat");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("TCP:", 0) == 0) {
            m.tcp_mem_bytes = field(line, "mem") * page;
            m.tcp_inuse = field(line, "inuse");
        } else if (line.rfind("UDP:", 0) == 0) {
            m.udp_mem_bytes = field(line, "mem") * page;
            m.udp_inuse = field(line, "inuse");
        }
    }
}

void read_slabinfo(KernelSocketMemory& m) {
    static const std::set<std::string> caches = {"TCP", "UDP", "sock_inode_cache", "tw_sock_TCP",
                                                 "request_sock_TCP"};
    std::ifstream in("/proc/slabinfo");
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string name;
        std::uint64_t active = 0, total = 0, size = 0;
        if (fields >> name >> active >> total >> size && caches.count(name))
            m.slab_bytes += active * size;
    }
}

}  // namespace

KernelSocketMemory kernel_socket_memory() {
    KernelSocketMemory m;
    read_sockstat(m);
    read_slabinfo(m);
    return m;
}

}  // namespace lwgate::bench
