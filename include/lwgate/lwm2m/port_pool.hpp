// Local UDP ports for per-device upstream sessions, from `upstream.bind.ports`. Each shard owns
// the ports of the range that fall to it (port % shard_count == shard), so shards never compete
// for a port and nothing is locked. Port 0 (no range configured) means "let the kernel choose":
// still stable for the life of the session, but not across a restart.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace lwgate::lwm2m {

class PortPool {
  public:
    PortPool() = default;  // no range: acquire() always yields 0
    PortPool(std::uint16_t first, std::uint16_t last, unsigned shard, unsigned shard_count);

    bool ranged() const { return ranged_; }
    // The next free port (round-robin, so a just-released port is reused last), 0 without a
    // range, nullopt when every port of this shard is taken.
    std::optional<std::uint16_t> acquire();
    void release(std::uint16_t port);
    // Marks a specific port as used (a restored device keeps its stored port, issue #5). False
    // when it is not one of this shard's ports or is already taken; without a range, true.
    bool take(std::uint16_t port);
    std::size_t free_count() const;

  private:
    bool ranged_ = false;
    std::vector<std::uint16_t> ports_;
    std::vector<bool> used_;
    std::size_t next_ = 0;
};

}  // namespace lwgate::lwm2m
