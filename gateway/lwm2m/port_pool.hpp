// Local address:port pairs for per-device upstream sessions, from `upstream.bind` (a list of
// addresses, each with the whole port range). Each shard owns the ports of the range that fall
// to it (port % shard_count == shard), on every address, so shards never compete for a pair and
// nothing is locked. Port 0 (no range configured) means "let the kernel choose": still stable
// for the life of the session; a restart binds the stored one again.
//
// One UDP port per device and address caps an address at ~64k devices (and the kernel's
// ephemeral range, 32768-60999 by default, at ~28k without a range): more devices need more
// addresses. Consecutive acquisitions alternate between addresses.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace lwgate::lwm2m {

struct LocalPort {
    std::uint16_t address = 0;  // index into upstream.bind.address (0 when none is configured)
    std::uint16_t port = 0;     // 0: the kernel chooses
    friend bool operator==(const LocalPort&, const LocalPort&) = default;
};

class PortPool {
  public:
    PortPool() = default;  // one address, no range: acquire() always yields port 0
    // `addresses`: how many bind addresses (0 counts as 1: "any").
    PortPool(std::size_t addresses, std::uint16_t first, std::uint16_t last, unsigned shard,
             unsigned shard_count);

    bool ranged() const { return ranged_; }
    // The next free pair (round-robin, so a just-released one is reused last); port 0 without a
    // range; nullopt when every pair of this shard is taken.
    std::optional<LocalPort> acquire();
    void release(LocalPort local);
    // Marks a specific pair as used (a restored device keeps its stored one). False
    // when it is not one of this shard's pairs or is already taken; without a range, true.
    bool take(LocalPort local);
    std::size_t free_count() const;

  private:
    std::optional<std::size_t> slot(LocalPort local) const;

    bool ranged_ = false;
    std::size_t addresses_ = 1;
    std::vector<std::uint16_t> ports_;  // this shard's ports; slot = port index * addresses + a
    std::vector<bool> used_;
    std::size_t next_ = 0;
};

}  // namespace lwgate::lwm2m
