// The exchange of requests FROM the core, sans-I/O: which request is new and which is a copy,
// when and how it is acknowledged, and how its answer goes back. CoreLink (core_link.hpp) is the
// libcoap adapter that asks this object and carries out its decisions; time comes in as `now`.
//
// An answer at hand goes back piggybacked on the request's ACK: a late retransmission of an
// answered request (AnsweredRequests, for EXCHANGE_LIFETIME), a Block2 continuation the bridge
// serves from its cache (CoreLinkHandler::answer_locally, asked by CoreLink between on_request()
// and hold()), or an answer the bridge gives while handling the request. Otherwise the request is
// held (HeldRequests, keyed by the id the bridge answers with). A CON request stays
// unacknowledged for up to upstream.piggyback_window so that its answer can be the ACK, with the
// request's Message ID and token (RFC 7252 §5.2.1). When the window passes first (the ack queue
// below, in arrival order: all share one window, so its head is always the next due), an empty
// ACK goes out and the answer later becomes a separate response carrying the core's token: CON
// for a CON request (§5.2.2), NON for a NON one (§5.2.3). Piggybacking halves the datagrams per
// relayed request at the core (2 instead of 4) and is what CoAP servers do when they can
// (Californium, libcoap, Leshan clients). acknowledge() skips the window (the device has no
// connection: the request waits in the relay's queue). A copy of a held request (same Message ID
// and token: the core retransmitted it) is acknowledged at once with an empty ACK and never
// reaches the bridge again.
//
// The answer given while the bridge handles the request: between hold() and finish_arrival()
// the request is *arriving*, its own libcoap response still open (CoreLink fills it once the
// bridge's on_core_request returns). An answer given for it meanwhile (on_answer) is kept here
// and finish_arrival() returns it for that response, piggybacked; an acknowledge() meanwhile only
// marks it, and finish_arrival() says the response is the empty ACK. So the bridge answers and
// acknowledges the same way inside and outside its callback, and CoreLink keeps no state for it.
// One request arrives at a time (libcoap hands them over one by one).
//
// store.ack_after_commit (ExchangeParams::ack_after_commit): no empty ACK for a held request until
// the store has it. A request the bridge would acknowledge at once (defer_ack), or whose window
// passes (on_timer), is acknowledged only by release_ack() after the commit or by its answer, and
// its copies get no ACK either: a crash before the commit leaves the core retransmitting it into
// the restarted lwgate.
//
// One object per CoreLink; the state of each upstream session lives in its ExchangeSession
// (UpstreamSession derives from it), the ack queue is shared so that one timer serves them all.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>

#include "lwgate/coap/message.hpp"
#include "util/clock.hpp"
#include "upstream/answered_requests.hpp"
#include "upstream/held_requests.hpp"

namespace lwgate::upstream {

using CoreRequestId = std::uint64_t;

// What the UDP header of a request of the core says about it.
struct RequestHeader {
    std::uint16_t message_id = 0;
    coap::Token token;
    bool confirmable = true;
};

// The exchange state of one upstream session.
class ExchangeSession {
  public:
    std::size_t held_requests() const { return held_.size(); }

  private:
    friend class UpstreamExchange;
    HeldRequests held_;            // answer pending (maybe the ACK too)
    AnsweredRequests answered_;    // late retransmissions get the same answer
    std::size_t queued_acks_ = 0;  // entries of the ack queue naming this session
};

struct ExchangeParams {
    Duration piggyback_window{500};
    bool ack_after_commit = false;
};

// What to do with a request as it arrives.
struct RequestDecision {
    enum class Kind {
        answer,     // a copy of an answered request: `answer` again, piggybacked
        ack_again,  // a copy of a held request: an empty ACK (nothing for a NON)
        no_ack,     // a copy of a held request whose ACK waits for the store: no ACK at all
        fresh,      // not a copy: answer it locally, or hold() it and hand it to the bridge
    };
    Kind kind = Kind::fresh;
    std::optional<coap::Message> answer;
    // ack_again: the request was within its window and is acknowledged by this empty ACK (the
    // bridge must hear it: its answer will be separate).
    std::optional<CoreRequestId> acknowledged;
};

// How the response of a request that has just been handed to the bridge goes out.
struct ArrivalOutcome {
    enum class Kind {
        answer,  // the bridge answered it meanwhile: `answer`, piggybacked
        ack,     // an empty ACK now (nothing for a NON)
        wait,    // no ACK yet: its answer or the window (or the commit) decides
    };
    Kind kind = Kind::ack;
    std::optional<coap::Message> answer;
};

// How an answer of the bridge goes out.
struct AnswerRoute {
    enum class Kind {
        none,       // the request is not held (answered already, unknown id, session closed)
        in_reply,   // the request is arriving: finish_arrival() returns the answer
        piggyback,  // within the window: the answer is the ACK, with Message ID `message_id`
        separate,   // acknowledged already: the answer goes as a new CON (NON if !confirmable)
    };
    Kind kind = Kind::none;
    std::uint16_t message_id = 0;
    bool confirmable = true;
};

// A held request whose window passed.
struct DueAck {
    ExchangeSession* session = nullptr;
    CoreRequestId id = 0;
    // The empty ACK to send now; nullopt with ack_after_commit (it waits for the commit). Either
    // way the bridge must hear that its answer will be separate.
    std::optional<std::uint16_t> ack_message_id;
};

class UpstreamExchange {
  public:
    explicit UpstreamExchange(ExchangeParams params) : params_(params) {}

    void set_ack_after_commit(bool on) { params_.ack_after_commit = on; }
    bool ack_after_commit() const { return params_.ack_after_commit; }

    RequestDecision on_request(ExchangeSession& session, const RequestHeader& request,
                               TimePoint now);
    // Holds a fresh request under a new id; it is arriving until finish_arrival().
    CoreRequestId hold(ExchangeSession& session, const RequestHeader& request);
    // The bridge has handled the arriving request `id` (received at `now`).
    ArrivalOutcome finish_arrival(ExchangeSession& session, CoreRequestId id, TimePoint now);
    // The bridge's answer to request `id`; remembered for late retransmissions. `response` is
    // changed in place, not copied (the relayed-Read path): for piggyback and separate it then
    // carries the core's token; for in_reply it has been taken for finish_arrival().
    AnswerRoute on_answer(ExchangeSession& session, CoreRequestId id, coap::Message& response,
                          TimePoint now);

    // The Message ID of the empty ACK to send now (none when it is not held, acknowledged
    // already, waits for the commit, or is arriving: then its response is the empty ACK).
    std::optional<std::uint16_t> acknowledge(ExchangeSession& session, CoreRequestId id);
    // ack_after_commit: no ACK for `id` (not even by its window) until release_ack().
    void defer_ack(ExchangeSession& session, CoreRequestId id);
    std::optional<std::uint16_t> release_ack(ExchangeSession& session, CoreRequestId id);
    // The core has an ACK for request `id` (or it is no longer held: answered or gone).
    bool acknowledged(const ExchangeSession& session, CoreRequestId id) const;
    bool holds(const ExchangeSession& session, CoreRequestId id) const;
    // Persistence: a request held before a restart, recognised by its token alone; its answer
    // goes separately (CON), and its copies are acknowledged and never reach the bridge again.
    void hold_restored(ExchangeSession& session, CoreRequestId id, const coap::Token& token);
    // The session closed: its held requests are never answered (the core's retransmissions run
    // out) and leave the ack queue.
    void forget(ExchangeSession& session);

    // When on_timer() has work next (`never` when the ack queue is empty).
    TimePoint next_deadline() const;
    // The next held request whose window has passed by `now`, now acknowledged; call until
    // nullopt. One at a time: what the bridge does with one may close sessions of later ones.
    std::optional<DueAck> on_timer(TimePoint now);

  private:
    struct QueuedAck {
        ExchangeSession* session;
        CoreRequestId id;
        TimePoint due;
    };

    ExchangeParams params_;
    CoreRequestId next_id_ = 1;
    CoreRequestId arriving_ = 0;  // 0: none
    std::optional<coap::Message> arriving_answer_;
    // CON requests not acknowledged yet, in arrival order. Answered entries stay until they
    // reach the head: no search.
    std::deque<QueuedAck> ack_queue_;
};

}  // namespace lwgate::upstream
