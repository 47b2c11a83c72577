#include "admin/state.hpp"

namespace lwgate::admin {

std::string_view to_string(State state) {
    switch (state) {
        case State::active:
            return "active";
        case State::idle:
            return "idle";
        case State::pinging:
            return "pinging";
        case State::half_open:
            return "half_open";
        case State::unregistered:
            return "unregistered";
        case State::closing:
            return "closing";
        case State::sleeping:
            return "sleeping";
        case State::away:
            return "away";
    }
    return "active";
}

std::optional<State> parse_state(std::string_view text) {
    if (text == "half-open") return State::half_open;
    for (State s : all_states) {
        if (to_string(s) == text) return s;
    }
    return std::nullopt;
}

State classify(const session::SessionSnapshot& c, bool registered, TimePoint now) {
    if (c.closing) return State::closing;
    if (c.keepalive.missed >= 1) return State::half_open;
    if (c.keepalive.awaiting_pong) return State::pinging;
    if (!registered) return State::unregistered;
    if (now - c.last_rx >= c.keepalive.idle / 2) return State::idle;
    return State::active;
}

}  // namespace lwgate::admin
