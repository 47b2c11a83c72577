#include "upstream/upstream_exchange.hpp"

#include <gtest/gtest.h>

#include "lwgate/coap/code.hpp"

namespace lwgate::upstream {
namespace {

using namespace std::chrono_literals;
namespace code = coap::code;
using Decision = RequestDecision::Kind;
using Outcome = ArrivalOutcome::Kind;
using Route = AnswerRoute::Kind;

constexpr Duration window = 500ms;
const TimePoint t0{};

RequestHeader con(std::uint16_t message_id, std::uint64_t token) {
    return {message_id, coap::Token::from_u64(token), true};
}

RequestHeader non(std::uint16_t message_id, std::uint64_t token) {
    return {message_id, coap::Token::from_u64(token), false};
}

coap::Message content(std::string_view text) {
    coap::Message m(code::content);  // the bridge answers with its own token
    m.set_payload(text);
    return m;
}

class ExchangeTest : public ::testing::Test {
  protected:
    // A request reaching the bridge, which does nothing with it while it arrives.
    CoreRequestId arrive(ExchangeSession& session, const RequestHeader& header, TimePoint now,
                         Outcome expected = Outcome::wait) {
        EXPECT_EQ(exchange.on_request(session, header, now).kind, Decision::fresh);
        const CoreRequestId id = exchange.hold(session, header);
        EXPECT_EQ(exchange.finish_arrival(session, id, now).kind, expected);
        return id;
    }

    UpstreamExchange exchange{ExchangeParams{window, false}};
    ExchangeSession session;
};

// The bridge's answer, given as a temporary (the exchange changes it in place).
AnswerRoute answer_to(UpstreamExchange& exchange, ExchangeSession& session, CoreRequestId id,
                      coap::Message answer, TimePoint now) {
    return exchange.on_answer(session, id, answer, now);
}

TEST_F(ExchangeTest, AnAnswerWithinTheWindowIsTheAck) {
    const auto id = arrive(session, con(100, 7), t0);
    EXPECT_FALSE(exchange.acknowledged(session, id));
    EXPECT_EQ(exchange.next_deadline(), t0 + window);

    auto answer = content("21.5");
    auto route = exchange.on_answer(session, id, answer, t0 + 100ms);
    EXPECT_EQ(route.kind, Route::piggyback);
    EXPECT_EQ(route.message_id, 100);
    EXPECT_EQ(answer.token(), coap::Token::from_u64(7)) << "the core's token";
    EXPECT_EQ(answer.payload(), content("21.5").payload());
    EXPECT_FALSE(exchange.holds(session, id));

    EXPECT_FALSE(exchange.on_timer(t0 + window)) << "an answered request needs no empty ACK";
    EXPECT_EQ(exchange.next_deadline(), never);
}

TEST_F(ExchangeTest, WhenTheWindowPassesAnEmptyAckGoesAndTheAnswerIsSeparate) {
    const auto id = arrive(session, con(100, 7), t0);
    EXPECT_FALSE(exchange.on_timer(t0 + window - 1ms)) << "not yet";

    const auto due = exchange.on_timer(t0 + window);
    ASSERT_TRUE(due);
    EXPECT_EQ(due->session, &session);
    EXPECT_EQ(due->id, id);
    EXPECT_EQ(due->ack_message_id, std::optional<std::uint16_t>(100));
    EXPECT_FALSE(exchange.on_timer(t0 + window)) << "one empty ACK";
    EXPECT_TRUE(exchange.acknowledged(session, id));

    auto answer = content("x");
    auto route = exchange.on_answer(session, id, answer, t0 + 2s);
    EXPECT_EQ(route.kind, Route::separate);
    EXPECT_TRUE(route.confirmable) << "CON for a CON request";
    EXPECT_EQ(answer.token(), coap::Token::from_u64(7));
}

TEST_F(ExchangeTest, ANonRequestIsNeverAcknowledgedAndAnsweredWithANon) {
    const auto id = arrive(session, non(100, 7), t0, Outcome::ack);
    EXPECT_EQ(exchange.next_deadline(), never) << "nothing to acknowledge";
    auto route = answer_to(exchange, session, id, content("x"), t0 + 10ms);
    EXPECT_EQ(route.kind, Route::separate);
    EXPECT_FALSE(route.confirmable);
}

TEST_F(ExchangeTest, WithoutAWindowEveryConIsAcknowledgedAtOnce) {
    UpstreamExchange no_window{ExchangeParams{0ms, false}};
    EXPECT_EQ(no_window.on_request(session, con(1, 1), t0).kind, Decision::fresh);
    const auto id = no_window.hold(session, con(1, 1));
    EXPECT_EQ(no_window.finish_arrival(session, id, t0).kind, Outcome::ack);
    EXPECT_EQ(no_window.next_deadline(), never);
    EXPECT_EQ(answer_to(no_window, session, id, content("x"), t0).kind, Route::separate);
}

TEST_F(ExchangeTest, AnAnswerGivenWhileTheRequestArrivesGoesInItsReply) {
    const auto header = con(100, 7);
    EXPECT_EQ(exchange.on_request(session, header, t0).kind, Decision::fresh);
    const auto id = exchange.hold(session, header);
    EXPECT_EQ(answer_to(exchange, session, id, content("now"), t0).kind, Route::in_reply);

    auto outcome = exchange.finish_arrival(session, id, t0);
    EXPECT_EQ(outcome.kind, Outcome::answer);
    ASSERT_TRUE(outcome.answer);
    EXPECT_EQ(outcome.answer->payload(), content("now").payload());
    EXPECT_EQ(exchange.next_deadline(), never) << "answered: no ACK to wait for";

    auto copy = exchange.on_request(session, header, t0 + 1s);
    EXPECT_EQ(copy.kind, Decision::answer) << "a copy gets the same answer";
    EXPECT_EQ(copy.answer->payload(), content("now").payload());
}

TEST_F(ExchangeTest, AnAckGivenWhileTheRequestArrivesIsItsReply) {
    const auto header = con(100, 7);
    exchange.on_request(session, header, t0);
    const auto id = exchange.hold(session, header);
    EXPECT_EQ(exchange.acknowledge(session, id), std::nullopt) << "the reply is the empty ACK";
    EXPECT_EQ(exchange.finish_arrival(session, id, t0).kind, Outcome::ack);
    EXPECT_TRUE(exchange.acknowledged(session, id));
    EXPECT_EQ(exchange.next_deadline(), never);
    EXPECT_EQ(answer_to(exchange, session, id, content("later"), t0 + 1min).kind, Route::separate);
}

TEST_F(ExchangeTest, AcknowledgeSkipsTheWindowOnce) {
    const auto id = arrive(session, con(100, 7), t0);
    EXPECT_EQ(exchange.acknowledge(session, id), std::optional<std::uint16_t>(100));
    EXPECT_EQ(exchange.acknowledge(session, id), std::nullopt) << "acknowledged already";
    EXPECT_FALSE(exchange.on_timer(t0 + window)) << "its queue entry is skipped";
}

TEST_F(ExchangeTest, ACopyOfAHeldRequestIsAcknowledgedAndNeverReachesTheBridge) {
    const auto id = arrive(session, con(100, 7), t0);
    auto first = exchange.on_request(session, con(100, 7), t0 + 100ms);
    EXPECT_EQ(first.kind, Decision::ack_again);
    EXPECT_EQ(first.acknowledged, std::optional<CoreRequestId>(id)) << "the bridge must hear it";
    auto second = exchange.on_request(session, con(100, 7), t0 + 200ms);
    EXPECT_EQ(second.kind, Decision::ack_again);
    EXPECT_EQ(second.acknowledged, std::nullopt) << "told once";
    EXPECT_FALSE(exchange.on_timer(t0 + window));
    EXPECT_EQ(answer_to(exchange, session, id, content("x"), t0 + 1s).kind, Route::separate);
}

TEST_F(ExchangeTest, MessageIdAndTokenMustBothMatchACopy) {
    arrive(session, con(100, 7), t0);
    EXPECT_EQ(exchange.on_request(session, con(100, 8), t0).kind, Decision::fresh);
    EXPECT_EQ(exchange.on_request(session, con(101, 7), t0).kind, Decision::fresh);
}

TEST_F(ExchangeTest, AnAnsweredRequestIsForgottenAfterTheExchangeLifetime) {
    const auto id = arrive(session, con(100, 7), t0);
    answer_to(exchange, session, id, content("x"), t0);
    EXPECT_EQ(exchange.on_request(session, con(100, 7), t0 + 246s).kind, Decision::answer);
    EXPECT_EQ(exchange.on_request(session, con(100, 7), t0 + 247s).kind, Decision::fresh);
}

TEST_F(ExchangeTest, ACoreRetransmittingOneRequestManyTimesReachesTheBridgeOnce) {
    const auto header = con(100, 7);
    const auto id = arrive(session, header, t0);
    int told = 0;
    for (int i = 1; i <= 1000; ++i) {
        auto copy = exchange.on_request(session, header, t0 + i * 1ms);
        ASSERT_EQ(copy.kind, Decision::ack_again);
        told += copy.acknowledged ? 1 : 0;
    }
    EXPECT_EQ(told, 1);
    EXPECT_EQ(session.held_requests(), 1u) << "copies hold nothing";

    answer_to(exchange, session, id, content("once"), t0 + 2s);
    for (int i = 0; i < 1000; ++i) {
        auto copy = exchange.on_request(session, header, t0 + 3s + i * 1ms);
        ASSERT_EQ(copy.kind, Decision::answer);
        ASSERT_EQ(copy.answer->payload(), content("once").payload());
    }
    EXPECT_EQ(session.held_requests(), 0u);
    EXPECT_FALSE(exchange.on_timer(t0 + 1h));
}

TEST_F(ExchangeTest, AFloodBeyondTheBridgesBoundHoldsNoMoreThanTheBound) {
    // The bridge holds up to `bound` requests (the relay's queue) and answers the rest while
    // they arrive (5.03).
    constexpr std::size_t bound = 16;
    std::size_t piggybacked = 0;
    for (std::uint16_t i = 0; i < 1000; ++i) {
        const auto header = con(i, 10'000 + i);
        ASSERT_EQ(exchange.on_request(session, header, t0).kind, Decision::fresh);
        const auto id = exchange.hold(session, header);
        if (session.held_requests() > bound) {
            ASSERT_EQ(
                answer_to(exchange, session, id, coap::Message(code::service_unavailable), t0).kind,
                Route::in_reply);
        }
        if (exchange.finish_arrival(session, id, t0).kind == Outcome::answer) ++piggybacked;
    }
    EXPECT_EQ(session.held_requests(), bound);
    EXPECT_EQ(piggybacked, 1000 - bound);
    std::size_t empty_acks = 0;
    while (auto due = exchange.on_timer(t0 + window))
        ++empty_acks;
    EXPECT_EQ(empty_acks, bound) << "only the held ones wait for an ACK";
    EXPECT_EQ(exchange.next_deadline(), never);
}

TEST_F(ExchangeTest, AnswersForUnknownIdsGoNowhere) {
    EXPECT_EQ(answer_to(exchange, session, 42, content("x"), t0).kind, Route::none);
    EXPECT_EQ(exchange.acknowledge(session, 42), std::nullopt);
    EXPECT_EQ(exchange.release_ack(session, 42), std::nullopt);
    exchange.defer_ack(session, 42);
    EXPECT_FALSE(exchange.holds(session, 42));
    EXPECT_TRUE(exchange.acknowledged(session, 42)) << "not held: nothing left to acknowledge";

    const auto id = arrive(session, con(100, 7), t0);
    EXPECT_EQ(answer_to(exchange, session, id, content("x"), t0).kind, Route::piggyback);
    EXPECT_EQ(answer_to(exchange, session, id, content("y"), t0).kind, Route::none)
        << "answered once";
    EXPECT_EQ(exchange.on_request(session, con(100, 7), t0).answer->payload(),
              content("x").payload())
        << "the first answer stays the answer";
}

TEST_F(ExchangeTest, AClosedSessionAnswersNothingAndLeavesTheAckQueue) {
    ExchangeSession other;
    const auto id = arrive(session, con(100, 7), t0);
    const auto other_id = arrive(other, con(100, 7), t0 + 1ms);
    exchange.forget(session);
    EXPECT_FALSE(exchange.holds(session, id));
    EXPECT_EQ(answer_to(exchange, session, id, content("x"), t0).kind, Route::none);
    EXPECT_EQ(exchange.next_deadline(), t0 + 1ms + window);
    const auto due = exchange.on_timer(t0 + 1s);
    ASSERT_TRUE(due);
    EXPECT_EQ(due->session, &other);
    EXPECT_EQ(due->id, other_id);
}

TEST_F(ExchangeTest, TheAckQueueKeepsArrivalOrderAcrossSessions) {
    ExchangeSession other;
    const auto a = arrive(session, con(1, 1), t0);
    const auto b = arrive(other, con(1, 1), t0 + 10ms);
    const auto c = arrive(session, con(2, 2), t0 + 20ms);
    EXPECT_NE(a, b);
    EXPECT_NE(b, c);
    std::vector<CoreRequestId> order;
    while (auto due = exchange.on_timer(t0 + 1s))
        order.push_back(due->id);
    EXPECT_EQ(order, (std::vector<CoreRequestId>{a, b, c}));
}

TEST_F(ExchangeTest, AckAfterCommitHoldsTheAckUntilReleased) {
    exchange.set_ack_after_commit(true);
    const auto id = arrive(session, con(100, 7), t0);
    const auto due = exchange.on_timer(t0 + window);
    ASSERT_TRUE(due);
    EXPECT_EQ(due->ack_message_id, std::nullopt) << "no empty ACK before the commit";
    EXPECT_FALSE(exchange.acknowledged(session, id));
    EXPECT_EQ(exchange.on_request(session, con(100, 7), t0 + 1s).kind, Decision::no_ack);

    EXPECT_EQ(exchange.release_ack(session, id), std::optional<std::uint16_t>(100));
    EXPECT_TRUE(exchange.acknowledged(session, id));
    EXPECT_EQ(exchange.on_request(session, con(100, 7), t0 + 2s).kind, Decision::ack_again);
}

TEST_F(ExchangeTest, AckAfterCommitWaitsEvenWithoutAWindow) {
    UpstreamExchange committed{ExchangeParams{0ms, true}};
    committed.on_request(session, con(100, 7), t0);
    const auto id = committed.hold(session, con(100, 7));
    committed.defer_ack(session, id);  // the bridge: no connection, written to the store first
    EXPECT_EQ(committed.acknowledge(session, id), std::nullopt);
    EXPECT_EQ(committed.finish_arrival(session, id, t0).kind, Outcome::wait);
    EXPECT_FALSE(committed.on_timer(t0 + 1s)) << "deferred: the window does not acknowledge it";
    EXPECT_EQ(committed.release_ack(session, id), std::optional<std::uint16_t>(100));
    EXPECT_EQ(committed.release_ack(session, id), std::nullopt) << "released once";
}

TEST_F(ExchangeTest, ARestoredRequestIsRecognisedByItsTokenAndAnsweredSeparately) {
    constexpr CoreRequestId restored = CoreRequestId{1} << 63;
    exchange.hold_restored(session, restored, coap::Token::from_u64(7));
    EXPECT_TRUE(exchange.holds(session, restored));
    EXPECT_EQ(exchange.on_request(session, con(555, 7), t0).kind, Decision::ack_again)
        << "any Message ID: it was not stored";
    auto answer = content("x");
    auto route = exchange.on_answer(session, restored, answer, t0);
    EXPECT_EQ(route.kind, Route::separate);
    EXPECT_TRUE(route.confirmable);
    EXPECT_EQ(answer.token(), coap::Token::from_u64(7));
    EXPECT_EQ(exchange.on_request(session, con(556, 7), t0).kind, Decision::answer);
}

}  // namespace
}  // namespace lwgate::upstream
