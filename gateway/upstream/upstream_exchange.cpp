#include "upstream/upstream_exchange.hpp"

#include <algorithm>
#include <utility>

namespace lwgate::upstream {

RequestDecision UpstreamExchange::on_request(ExchangeSession& session, const RequestHeader& request,
                                             TimePoint now) {
    using Kind = RequestDecision::Kind;
    if (auto* held = session.held_.find(request.message_id, request.token)) {
        // The bridge has it already. A core whose ACK_TIMEOUT is shorter than the window gets
        // here: acknowledge now.
        if (held->ack_after_commit) return {Kind::no_ack, std::nullopt, std::nullopt};
        RequestDecision decision{Kind::ack_again, std::nullopt, std::nullopt};
        if (!held->acknowledged) {
            held->acknowledged = true;
            decision.acknowledged = held->id;
        }
        return decision;
    }
    if (auto again = session.answered_.find(request.message_id, request.token, now)) {
        return {Kind::answer, std::move(again), std::nullopt};
    }
    return {};
}

CoreRequestId UpstreamExchange::hold(ExchangeSession& session, const RequestHeader& request) {
    const CoreRequestId id = next_id_++;
    const bool wait =
        request.confirmable && (params_.piggyback_window.count() > 0 || params_.ack_after_commit);
    session.held_.hold(id, request.message_id, request.token, request.confirmable, !wait);
    arriving_ = id;
    arriving_answer_.reset();
    return id;
}

ArrivalOutcome UpstreamExchange::finish_arrival(ExchangeSession& session, CoreRequestId id,
                                                TimePoint now) {
    using Kind = ArrivalOutcome::Kind;
    arriving_ = 0;
    if (arriving_answer_) {
        ArrivalOutcome outcome{Kind::answer, std::move(arriving_answer_)};
        arriving_answer_.reset();
        return outcome;
    }
    const auto* held = session.held_.get(id);
    if (!held || held->acknowledged) return {Kind::ack, std::nullopt};
    ack_queue_.push_back({&session, id, now + params_.piggyback_window});
    ++session.queued_acks_;
    return {Kind::wait, std::nullopt};
}

AnswerRoute UpstreamExchange::on_answer(ExchangeSession& session, CoreRequestId id,
                                        coap::Message& response, TimePoint now) {
    using Kind = AnswerRoute::Kind;
    auto held = session.held_.release(id);
    if (!held) return {};
    session.answered_.remember(held->message_id, held->token, response, now, held->any_message_id);
    if (id == arriving_) {
        arriving_answer_ = std::move(response);
        return {Kind::in_reply, held->message_id, held->confirmable};
    }
    // Not acknowledged yet: within the window, the answer is the ACK (its ack queue entry is
    // skipped when it reaches the head).
    response.set_token(held->token);
    return {held->acknowledged ? Kind::separate : Kind::piggyback, held->message_id,
            held->confirmable};
}

std::optional<std::uint16_t> UpstreamExchange::acknowledge(ExchangeSession& session,
                                                           CoreRequestId id) {
    auto* held = session.held_.get(id);
    if (!held || held->acknowledged || held->ack_after_commit) return std::nullopt;
    held->acknowledged = true;
    if (id == arriving_) return std::nullopt;
    return held->message_id;
}

void UpstreamExchange::defer_ack(ExchangeSession& session, CoreRequestId id) {
    if (auto* held = session.held_.get(id); held && !held->acknowledged) {
        held->ack_after_commit = true;
    }
}

std::optional<std::uint16_t> UpstreamExchange::release_ack(ExchangeSession& session,
                                                           CoreRequestId id) {
    auto* held = session.held_.get(id);
    if (!held || !held->ack_after_commit) return std::nullopt;
    held->ack_after_commit = false;
    return acknowledge(session, id);
}

bool UpstreamExchange::acknowledged(const ExchangeSession& session, CoreRequestId id) const {
    const auto* held = session.held_.get(id);
    return !held || held->acknowledged;
}

bool UpstreamExchange::holds(const ExchangeSession& session, CoreRequestId id) const {
    return session.held_.get(id) != nullptr;
}

void UpstreamExchange::hold_restored(ExchangeSession& session, CoreRequestId id,
                                     const coap::Token& token) {
    session.held_.hold_restored(id, token);
}

void UpstreamExchange::forget(ExchangeSession& session) {
    session.held_.clear();
    if (session.queued_acks_ == 0) return;
    std::erase_if(ack_queue_, [&](const QueuedAck& q) { return q.session == &session; });
    session.queued_acks_ = 0;
}

TimePoint UpstreamExchange::next_deadline() const {
    return ack_queue_.empty() ? never : ack_queue_.front().due;
}

std::optional<DueAck> UpstreamExchange::on_timer(TimePoint now) {
    while (!ack_queue_.empty() && ack_queue_.front().due <= now) {
        const QueuedAck q = ack_queue_.front();
        ack_queue_.pop_front();
        --q.session->queued_acks_;
        auto* held = q.session->held_.get(q.id);
        if (!held || held->acknowledged || held->ack_after_commit) continue;
        if (params_.ack_after_commit) {
            // The bridge writes it now and releases the ACK once the store has it.
            held->ack_after_commit = true;
            return DueAck{q.session, q.id, std::nullopt};
        }
        held->acknowledged = true;
        return DueAck{q.session, q.id, held->message_id};
    }
    return std::nullopt;
}

}  // namespace lwgate::upstream
