// Pings an operator asked for through the admin API, waiting on one connection. Part of
// DownstreamProtocol (pure: `now` in, outcomes out); the glue only keeps who is waiting for
// which id. A libcoap peer answers a Ping with a Pong that does not echo our token, so any Pong
// settles every waiting Ping: with the exact RTT when it answered ours, else measured from when
// that Ping left.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "session/keepalive_fsm.hpp"
#include "util/clock.hpp"

namespace lwgate::session {

// The outcome of a Ping an operator asked for.
struct AdminPingResult {
    enum class Outcome { pong, timeout, closed };
    Outcome outcome = Outcome::timeout;
    Rtt rtt{};
};

struct AdminPingOutcome {
    std::uint64_t id;
    AdminPingResult result;
};

class AdminPings {
  public:
    // Bounded per connection: one more settles the oldest as a timeout.
    static constexpr std::size_t max_waiting = 32;

    // `pongs`/`rtt_samples`: the protocol's counters as the Ping leaves.
    std::uint64_t start(TimePoint now, Duration timeout, std::uint64_t pongs,
                        std::uint64_t rtt_samples);
    // After received bytes: Pings a Pong answered.
    void on_pongs(TimePoint now, std::uint64_t pongs, std::uint64_t rtt_samples,
                  std::optional<Rtt> last_rtt);
    void on_tick(TimePoint now);  // Pings past their timeout
    void close();                 // the connection ends: every waiting Ping
    TimePoint next_deadline() const;

    bool has_outcomes() const { return !outcomes_.empty(); }
    std::vector<AdminPingOutcome> take_outcomes();
    std::size_t waiting() const { return waiting_.size(); }

  private:
    struct Waiting {
        std::uint64_t id;
        TimePoint sent_at;
        TimePoint deadline;
        std::uint64_t pongs_before;
        std::uint64_t rtt_samples_before;
    };
    void settle(std::size_t index, AdminPingResult result);

    std::vector<Waiting> waiting_;  // in the order they were sent
    std::vector<AdminPingOutcome> outcomes_;
    std::uint64_t next_id_ = 1;
};

}  // namespace lwgate::session
