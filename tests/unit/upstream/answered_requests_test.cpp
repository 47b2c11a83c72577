#include "upstream/answered_requests.hpp"

#include <gtest/gtest.h>

#include "lwgate/coap/code.hpp"

namespace lwgate::upstream {
namespace {

namespace code = coap::code;

coap::Message answer(std::string_view text) {
    coap::Message m(code::content, coap::Token::from_u64(7));
    m.set_payload(text);
    return m;
}

const TimePoint t0{};

TEST(AnsweredRequests, ACopyGetsTheSameAnswer) {
    AnsweredRequests answered;
    answered.remember(100, coap::Token::from_u64(7), answer("first"), t0);
    auto again = answered.find(100, coap::Token::from_u64(7), t0 + Duration{3000});
    ASSERT_TRUE(again);
    EXPECT_EQ(again->payload(), answer("first").payload());
}

TEST(AnsweredRequests, ARestoredRequestIsMatchedByItsTokenAlone) {
    AnsweredRequests answered;
    answered.remember(0, coap::Token::from_u64(7), answer("restored"), t0, true);
    answered.remember(100, coap::Token::from_u64(8), answer("live"), t0);
    for (std::uint16_t mid : {0, 100, 65535}) {
        auto again = answered.find(mid, coap::Token::from_u64(7), t0);
        ASSERT_TRUE(again) << mid;
        EXPECT_EQ(again->payload(), answer("restored").payload());
    }
    EXPECT_FALSE(answered.find(101, coap::Token::from_u64(8), t0)) << "live ones need both";
}

TEST(AnsweredRequests, MessageIdAndTokenMustBothMatch) {
    AnsweredRequests answered;
    answered.remember(100, coap::Token::from_u64(7), answer("a"), t0);
    EXPECT_FALSE(answered.find(101, coap::Token::from_u64(7), t0));  // a new request
    EXPECT_FALSE(answered.find(100, coap::Token::from_u64(8), t0));  // Message ID reused later
}

TEST(AnsweredRequests, ForgetsAfterTheExchangeLifetime) {
    AnsweredRequests answered;
    answered.remember(1, coap::Token::from_u64(1), answer("a"), t0);
    EXPECT_TRUE(answered.find(1, coap::Token::from_u64(1),
                              t0 + AnsweredRequests::exchange_lifetime - Duration{1}));
    EXPECT_FALSE(
        answered.find(1, coap::Token::from_u64(1), t0 + AnsweredRequests::exchange_lifetime));
    EXPECT_EQ(answered.size(), 0u);
}

TEST(AnsweredRequests, BoundedKeepsTheNewest) {
    AnsweredRequests answered(2);
    for (std::uint16_t mid = 1; mid <= 3; ++mid)
        answered.remember(mid, coap::Token::from_u64(mid), answer("x"), t0);
    EXPECT_EQ(answered.size(), 2u);
    EXPECT_FALSE(answered.find(1, coap::Token::from_u64(1), t0));
    EXPECT_TRUE(answered.find(3, coap::Token::from_u64(3), t0));
}

// find() skips entries by their Message ID unless a restored (token-only) entry is present;
// once that entry is evicted, a live entry needs its Message ID again.
TEST(AnsweredRequests, TokenOnlyMatchingEndsWithTheRestoredEntry) {
    AnsweredRequests answered(3);
    answered.remember(0, coap::Token::from_u64(7), answer("restored"), t0, true);
    answered.remember(10, coap::Token::from_u64(9), answer("live"), t0);
    EXPECT_TRUE(answered.find(55, coap::Token::from_u64(7), t0));
    EXPECT_FALSE(answered.find(55, coap::Token::from_u64(9), t0));
    for (std::uint16_t mid = 20; mid < 22; ++mid)  // evicts the restored entry, keeps "live"
        answered.remember(mid, coap::Token::from_u64(mid), answer("x"), t0);
    EXPECT_FALSE(answered.find(55, coap::Token::from_u64(7), t0));
    EXPECT_FALSE(answered.find(0, coap::Token::from_u64(7), t0));
    auto live = answered.find(10, coap::Token::from_u64(9), t0);
    ASSERT_TRUE(live);
    EXPECT_EQ(live->payload(), answer("live").payload());
    EXPECT_TRUE(answered.find(21, coap::Token::from_u64(21), t0));
}

}  // namespace
}  // namespace lwgate::upstream
