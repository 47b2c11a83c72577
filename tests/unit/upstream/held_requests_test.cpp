#include "upstream/held_requests.hpp"

#include <gtest/gtest.h>

namespace lwgate::upstream {
namespace {

coap::Token token(std::uint64_t value) {
    return coap::Token::from_u64(value);
}

TEST(HeldRequests, ARetransmissionOfAHeldRequestIsRecognised) {
    HeldRequests held;
    held.hold(1, 100, token(7), true);
    const auto* copy = held.find(100, token(7));
    ASSERT_NE(copy, nullptr);
    EXPECT_EQ(copy->id, 1u);
    EXPECT_EQ(held.size(), 1u) << "finding a copy holds nothing new";
}

TEST(HeldRequests, MessageIdAndTokenMustBothMatch) {
    HeldRequests held;
    held.hold(1, 100, token(7), true);
    EXPECT_EQ(held.find(101, token(7)), nullptr);  // a new request with the same token
    EXPECT_EQ(held.find(100, token(8)), nullptr);  // another request reusing the Message ID
    EXPECT_EQ(held.find(100, coap::Token{}), nullptr);
}

TEST(HeldRequests, ReleaseReturnsWhatTheAnswerNeedsOnce) {
    HeldRequests held;
    held.hold(1, 100, token(7), true);
    held.hold(2, 101, token(8), false);
    auto answered = held.release(2);
    ASSERT_TRUE(answered);
    EXPECT_EQ(answered->message_id, 101);
    EXPECT_EQ(answered->token, token(8));
    EXPECT_FALSE(answered->confirmable);
    EXPECT_FALSE(held.release(2)) << "answered once";
    EXPECT_EQ(held.find(101, token(8)), nullptr) << "a later copy is no longer held";
    ASSERT_NE(held.find(100, token(7)), nullptr) << "the other one still is";
    EXPECT_EQ(held.size(), 1u);
}

TEST(HeldRequests, AcknowledgementStateIsKeptPerRequest) {
    HeldRequests held;
    held.hold(1, 100, token(7), true, false);  // within the piggyback window
    held.hold(2, 101, token(8), true);         // acknowledged at once
    ASSERT_NE(held.get(1), nullptr);
    EXPECT_FALSE(held.get(1)->acknowledged);
    EXPECT_TRUE(held.get(2)->acknowledged);
    held.get(1)->acknowledged = true;  // the window passed: empty ACK sent
    EXPECT_TRUE(held.find(100, token(7))->acknowledged);
    EXPECT_EQ(held.get(3), nullptr);
    auto released = held.release(1);
    ASSERT_TRUE(released);
    EXPECT_TRUE(released->acknowledged);
    EXPECT_EQ(held.get(1), nullptr);
}

TEST(HeldRequests, ARestoredRequestIsRecognisedByItsTokenAlone) {
    HeldRequests held;
    held.hold_restored(1u << 30, token(7));  // its Message ID was not stored
    for (std::uint16_t mid : {0, 1, 4711, 65535}) {
        const auto* copy = held.find(mid, token(7));
        ASSERT_NE(copy, nullptr) << mid;
        EXPECT_EQ(copy->id, 1u << 30);
        EXPECT_TRUE(copy->acknowledged);
        EXPECT_TRUE(copy->confirmable) << "answered as a separate CON response";
    }
    EXPECT_EQ(held.find(4711, token(8)), nullptr);
    ASSERT_TRUE(held.release(1u << 30));
    EXPECT_EQ(held.find(4711, token(7)), nullptr);
}

TEST(HeldRequests, UnknownIdsAndClearedSessionsReleaseNothing) {
    HeldRequests held;
    EXPECT_FALSE(held.release(42));
    held.hold(1, 100, token(7), true);
    held.hold(2, 100, token(9), true);  // same Message ID, other token: another request
    EXPECT_EQ(held.find(100, token(9))->id, 2u);
    held.clear();
    EXPECT_EQ(held.size(), 0u);
    EXPECT_FALSE(held.release(1));
    EXPECT_EQ(held.find(100, token(7)), nullptr);
}

TEST(HeldRequests, ManyHeldRequestsStayIndividuallyAddressable) {
    HeldRequests held;
    for (std::uint16_t i = 0; i < 300; ++i)
        held.hold(i + 1, i, token(i + 1000), i % 2 == 0);
    for (std::uint16_t i = 0; i < 300; i += 3)
        ASSERT_TRUE(held.release(i + 1));
    EXPECT_EQ(held.size(), 200u);
    for (std::uint16_t i = 0; i < 300; ++i) {
        const auto* h = held.find(i, token(i + 1000));
        if (i % 3 == 0) {
            EXPECT_EQ(h, nullptr) << i;
        } else {
            ASSERT_NE(h, nullptr) << i;
            EXPECT_EQ(h->id, i + 1u);
            EXPECT_EQ(h->confirmable, i % 2 == 0);
        }
    }
}

}  // namespace
}  // namespace lwgate::upstream
