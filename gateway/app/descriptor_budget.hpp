// How many descriptors lwgate may spend on what, from the process's limit (RLIMIT_NOFILE): a
// device connection holds one (its TCP socket), a registration one more (its UDP socket toward
// the core) and a share of a libcoap context (an epoll and a timer descriptor per 128
// sessions). The reserve covers listeners, the store, the admin API (its connections are
// capped below it), logs and the process's own. New connections and new registrations are
// refused while their budget is spent, so descriptors never run out for the devices already
// here (accept() failing with EMFILE would turn every device away, registered or not). Pure.
#pragma once

#include <cstdint>

namespace lwgate::app {

class DescriptorBudget {
  public:
    static constexpr std::uint64_t reserve = 256;
    static constexpr std::uint64_t unlimited = UINT64_MAX;

    // limit: RLIMIT_NOFILE (soft, after raising it to the hard one); unlimited if none.
    explicit DescriptorBudget(std::uint64_t limit) : limit_(limit) {}

    std::uint64_t limit() const { return limit_; }

    // connections.max_registrations: the configured value, or (0) what the limit allows when
    // every registered device is connected, (limit - reserve) / (2 + 2/128), less a twentieth
    // kept for connections that have not registered yet: a device over the budget then gets a
    // clear 5.03 to its Register rather than a refused connection.
    std::uint64_t registrations(std::uint64_t configured) const {
        if (configured != 0) return configured;
        if (limit_ == unlimited) return unlimited;
        if (limit_ <= reserve) return 0;
        const std::uint64_t available = limit_ - reserve;
        return (available - available / 20) * 64 / 129;
    }

    // May one more device connection be accepted, with these open now?
    bool accepts(std::uint64_t connections, std::uint64_t sessions) const {
        if (limit_ == unlimited) return true;
        const std::uint64_t contexts = 2 * ((sessions + 127) / 128);
        return connections + sessions + contexts + reserve < limit_;
    }

    // May one more upstream session be opened, making `sessions_after`, with these device
    // connections open? Checked as well as connections.max_registrations: a burst of devices
    // moving here from a dead cluster instance, or an uneven balancer, can bring more
    // connections than registrations, and each would need a session of its own.
    bool opens_session(std::uint64_t connections, std::uint64_t sessions_after) const {
        if (limit_ == unlimited) return true;
        const std::uint64_t contexts = 2 * ((sessions_after + 127) / 128);
        return connections + sessions_after + contexts + reserve <= limit_;
    }

    // Open descriptors high enough that health reports it (degraded).
    bool near_limit(std::uint64_t open) const {
        return limit_ != unlimited && open * 10 >= limit_ * 9;
    }

  private:
    std::uint64_t limit_;
};

}  // namespace lwgate::app
