// Connection states of the admin API (contract: "STATE is one of ..."), derived from a
// connection snapshot and `now`. Pure.
#pragma once

#include <optional>
#include <string_view>

#include "util/clock.hpp"
#include "session/session_snapshot.hpp"

namespace lwgate::admin {

enum class State { active, idle, pinging, half_open, unregistered, closing, sleeping, away };

inline constexpr State all_states[] = {State::active,    State::idle,         State::pinging,
                                       State::half_open, State::unregistered, State::closing,
                                       State::sleeping,  State::away};

std::string_view to_string(State state);
// Also takes "half-open" (lwgatectl users type what the brief writes).
std::optional<State> parse_state(std::string_view text);

// Most urgent first: closing, half_open (a Pong already missed), pinging (a Ping is out),
// unregistered, idle (nothing received for keepalive.idle / 2), active.
// `registered`: an LwM2M registration is bound to this connection.
State classify(const session::SessionSnapshot& connection, bool registered, TimePoint now);
// A registered endpoint without a connection.
inline State classify_absent(bool queue_mode) {
    return queue_mode ? State::sleeping : State::away;
}

}  // namespace lwgate::admin
