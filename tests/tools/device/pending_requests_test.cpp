#include "lwgate/device/pending.hpp"

#include <gtest/gtest.h>

#include "lwgate/coap/signaling.hpp"

namespace lwgate::device {
namespace {

using Pending = PendingRequests<int>;
using Kind = Pending::Kind;
using Clock = Pending::Clock;
using namespace std::chrono_literals;

const Clock::time_point t0{};

coap::Message response(const coap::Token& token) {
    return coap::Message(coap::code::content, token);
}

TEST(PendingRequestsTest, TokensAreFourBytesFromTheSeedUp) {
    Pending pending(0x01020304);
    EXPECT_EQ(pending.next_token().to_hex(), "01020304");
    EXPECT_EQ(pending.next_token().to_hex(), "01020305");
}

TEST(PendingRequestsTest, AResponseTakesTheRequestWithItsToken) {
    Pending pending;
    const auto a = pending.next_token();
    const auto b = pending.next_token();
    pending.add(a, Kind::request, t0 + 1s, 1);
    pending.add(b, Kind::request, t0 + 1s, 2);
    EXPECT_EQ(pending.take_response(response(b)), 2);
    EXPECT_EQ(pending.take_response(response(b)), std::nullopt) << "answered once";
    EXPECT_EQ(pending.size(), 1u);
}

TEST(PendingRequestsTest, AResponseDoesNotTakeAPing) {
    Pending pending;
    const auto token = pending.next_token();
    pending.add(token, Kind::ping, t0 + 1s, 1);
    EXPECT_EQ(pending.take_response(response(token)), std::nullopt);
    EXPECT_EQ(pending.take_pong(coap::make_pong(coap::make_ping(token)), Pending::PongMatch::exact),
              1);
}

TEST(PendingRequestsTest, APongWithAnUnknownTokenTakesTheOldestPingOnlyWhenAsked) {
    Pending pending(0xff);  // the newer Ping's token (empty) comes first in token order
    const auto older = pending.next_token();
    pending.add(pending.next_token(), Kind::request, t0 + 1s, 0);
    pending.add(older, Kind::ping, t0 + 1s, 1);
    pending.add(coap::Token::from_u64(0), Kind::ping, t0 + 1s, 2);
    const auto pong = coap::make_pong(coap::make_ping(coap::Token::from_u64(0x77)));
    EXPECT_EQ(pending.take_pong(pong, Pending::PongMatch::exact), std::nullopt);
    EXPECT_EQ(pending.take_pong(pong, Pending::PongMatch::any_pong_is_life), 1);
    EXPECT_EQ(pending.take_pong(pong, Pending::PongMatch::any_pong_is_life), 2);
    EXPECT_EQ(pending.take_pong(pong, Pending::PongMatch::any_pong_is_life), std::nullopt);
}

TEST(PendingRequestsTest, DeadlinesExpireOldestFirst) {
    Pending pending;
    pending.add(pending.next_token(), Kind::request, t0 + 3s, 1);
    pending.add(pending.next_token(), Kind::ping, t0 + 2s, 2);
    pending.add(pending.next_token(), Kind::request, t0 + 1s, 3);
    EXPECT_EQ(pending.next_deadline(), t0 + 1s);
    EXPECT_TRUE(pending.take_expired(t0 + 999ms).empty());
    EXPECT_EQ(pending.take_expired(t0 + 2s), (std::vector<int>{2, 3}));
    EXPECT_EQ(pending.next_deadline(), t0 + 3s);
    EXPECT_EQ(pending.take_all(), std::vector<int>{1});
    EXPECT_EQ(pending.next_deadline(), std::nullopt);
    EXPECT_TRUE(pending.empty());
}

TEST(PendingRequestsTest, EraseOnlyWhatStillWaits) {
    Pending pending;
    const auto token = pending.next_token();
    pending.add(token, Kind::request, t0 + 1s, 1);
    pending.add(token, Kind::request, t0 + 1s, 2);  // the same token again replaces it
    EXPECT_FALSE(pending.erase(token, 1));
    EXPECT_TRUE(pending.erase(token, 2));
    EXPECT_TRUE(pending.empty());
}

}  // namespace
}  // namespace lwgate::device
