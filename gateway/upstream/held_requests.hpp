// Requests of the core that lwgate acknowledged and will answer later, per upstream session.
//
// CoAP over UDP (RFC 7252 §5.2.2): a confirmable request the bridge cannot answer at once is
// acknowledged, either by its answer piggybacked on the ACK (when the device answers within
// upstream.piggyback_window) or by an empty ACK once that window has passed, and the answer then
// follows as a separate response carrying the request's token. `acknowledged` says which of the
// two is still possible. Until then the core may retransmit the request (its copy of our ACK was
// lost, it crossed it, or the core's ACK_TIMEOUT was shorter than the window): a
// copy has the same Message ID and token, must be acknowledged again and must not reach the
// device a second time (an Execute run twice). This list says which requests are held, by the
// id the bridge answers with, and recognises their copies. Once answered, a request moves to
// AnsweredRequests (answered_requests.hpp), which answers later copies from memory.
//
// A flat vector searched linearly: a session holds a handful of requests (the relay's queue
// bounds them: beyond max_queued the bridge answers at once and nothing stays held), and this
// runs for every request of the core, where a hash map's allocation per entry would cost more.
// Sans-I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "lwgate/coap/message.hpp"

namespace lwgate::upstream {

class HeldRequests {
  public:
    using Id = std::uint64_t;

    struct Held {
        Id id = 0;
        std::uint16_t message_id = 0;
        coap::Token token;
        bool confirmable = true;  // the answer goes as CON (else NON, RFC 7252 §5.2.3)
        // false: a CON whose ACK (and maybe answer) is still ours to send
        bool acknowledged = true;
        // Restored after a restart: the Message ID was not stored, so any copy with the token
        // is this request (a core never reuses a token while its request is open).
        bool any_message_id = false;
        // store.ack_after_commit: its empty ACK waits until the store has committed it; until
        // then neither the piggyback window nor a retransmitted copy acknowledges it.
        bool ack_after_commit = false;
    };

    // The held request this one repeats (same Message ID and token), if any.
    Held* find(std::uint16_t message_id, const coap::Token& token);
    // A request held before a restart (acknowledged or not: the core may still retransmit it),
    // recognised by its token alone.
    void hold_restored(Id id, const coap::Token& token);
    // The request held under `id`, if any.
    Held* get(Id id);
    const Held* get(Id id) const;
    // Holds a new request until release(id). Ids are unique (the caller's counter).
    void hold(Id id, std::uint16_t message_id, const coap::Token& token, bool confirmable,
              bool acknowledged = true);
    // The request answered with `id`, no longer held; nullopt if it is not held (already
    // answered, or its session was closed).
    std::optional<Held> release(Id id);

    std::size_t size() const { return held_.size(); }
    void clear() { held_.clear(); }

  private:
    std::vector<Held> held_;  // arrival order
};

}  // namespace lwgate::upstream
