// What DownstreamProtocol offers the admin API: the RTT history (microseconds, last 16), an
// operator's Release with Alternative-Address and Hold-Off followed by a close, and operator
// Pings with an id that end with a Pong, a timeout or the close.
#include <gtest/gtest.h>

#include "lwgate/coap/signaling.hpp"
#include "lwgate/coap/tcp_codec.hpp"
#include "session/downstream_protocol.hpp"

namespace lwgate::session {
namespace {

using namespace std::chrono_literals;
using coap::Message;

const TimePoint t0 = TimePoint{} + 1000h;

std::vector<Message> decode_all(const coap::Bytes& bytes) {
    coap::TcpDecoder decoder(1 << 20);
    std::vector<Message> out;
    coap::ByteView in(bytes);
    while (!in.empty()) {
        auto step = decoder.feed(in);
        in = in.subspan(step.consumed);
        if (step.result)
            if (auto* m = std::get_if<Message>(&*step.result)) out.push_back(*m);
        if (step.consumed == 0 && !step.result) break;
    }
    return out;
}

DownstreamProtocol started() {
    ProtocolParams params;
    params.keepalive.unregistered_idle = Duration::zero();
    DownstreamProtocol p(params, t0);
    p.start(t0);
    p.on_bytes(coap::encode(coap::make_csm(1152, false)), t0);
    p.take_output();
    return p;
}

TEST(AdminProtocol, RttHistoryKeepsTheLastSixteenInMicroseconds) {
    auto p = started();
    EXPECT_TRUE(p.recent_rtts().empty());
    TimePoint now = t0 + 1s;
    for (int i = 1; i <= 20; ++i) {
        p.send_ping(now);
        const auto ping = decode_all(p.take_output()).at(0);
        now += std::chrono::microseconds(100 * i);
        p.on_bytes(coap::encode(coap::make_pong(ping)), now);
        now += 1s;
    }
    EXPECT_EQ(p.stats().rtt_samples, 20u);
    const auto rtts = p.recent_rtts();
    ASSERT_EQ(rtts.size(), DownstreamProtocol::rtt_history);
    EXPECT_EQ(rtts.front(), Rtt(500)) << "oldest kept: the 5th";
    EXPECT_EQ(rtts.back(), Rtt(2000));
    EXPECT_EQ(*p.stats().last_rtt, Rtt(2000));
}

using Outcome = AdminPingResult::Outcome;

TEST(AdminProtocol, AnOperatorPingEndsWithItsPongAndTheExactRtt) {
    auto p = started();
    const auto id = p.start_admin_ping(t0 + 1s, 5s);
    const auto out = decode_all(p.take_output());
    ASSERT_EQ(out.size(), 1u);
    ASSERT_EQ(out[0].code(), coap::code::ping);
    EXPECT_EQ(p.next_deadline(), std::min(t0 + 1s + 5s, p.keepalive().next_deadline()));
    EXPECT_FALSE(p.has_admin_ping_outcomes());
    const auto pong = coap::encode(coap::make_pong(out[0]));
    // Split at every byte: the outcome comes only with the whole Pong.
    for (std::size_t i = 0; i + 1 < pong.size(); ++i) {
        p.on_bytes(coap::ByteView(pong).subspan(i, 1), t0 + 1s + 250ms);
        EXPECT_FALSE(p.has_admin_ping_outcomes()) << "after byte " << i;
    }
    p.on_bytes(coap::ByteView(pong).subspan(pong.size() - 1), t0 + 1s + 250ms);
    const auto outcomes = p.take_admin_ping_outcomes();
    ASSERT_EQ(outcomes.size(), 1u);
    EXPECT_EQ(outcomes[0].id, id);
    EXPECT_EQ(outcomes[0].result.outcome, Outcome::pong);
    EXPECT_EQ(outcomes[0].result.rtt, Rtt(250'000));
    EXPECT_FALSE(p.has_admin_ping_outcomes()) << "taken once";
}

// libcoap answers with a Pong that does not echo the Ping's token: it still ends every wait,
// measured from when each Ping left.
TEST(AdminProtocol, APongWithoutOurTokenEndsEveryWait) {
    auto p = started();
    const auto first = p.start_admin_ping(t0 + 1s, 5s);
    const auto second = p.start_admin_ping(t0 + 2s, 5s);
    p.take_output();
    p.on_bytes(coap::encode(coap::make_pong(Message(coap::code::ping))), t0 + 3s);
    const auto outcomes = p.take_admin_ping_outcomes();
    ASSERT_EQ(outcomes.size(), 2u);
    EXPECT_EQ(outcomes[0].id, first);
    EXPECT_EQ(outcomes[0].result.rtt, Rtt(2'000'000));
    EXPECT_EQ(outcomes[1].id, second);
    EXPECT_EQ(outcomes[1].result.rtt, Rtt(1'000'000));
}

TEST(AdminProtocol, AnUnansweredOperatorPingTimesOutAtItsDeadline) {
    auto p = started();
    const auto id = p.start_admin_ping(t0 + 1s, 2s);
    p.take_output();
    p.on_tick(t0 + 2s);
    EXPECT_FALSE(p.has_admin_ping_outcomes());
    EXPECT_EQ(p.next_deadline(), t0 + 3s);
    p.on_tick(t0 + 3s);
    const auto outcomes = p.take_admin_ping_outcomes();
    ASSERT_EQ(outcomes.size(), 1u);
    EXPECT_EQ(outcomes[0].id, id);
    EXPECT_EQ(outcomes[0].result.outcome, Outcome::timeout);
    EXPECT_NE(p.next_deadline(), t0 + 3s) << "no deadline left for it";
}

TEST(AdminProtocol, OperatorPingsEndWhenTheConnectionCloses) {
    auto p = started();
    const auto id = p.start_admin_ping(t0 + 1s, 60s);
    p.abort(CloseReason::admin, "closed by an operator");
    auto outcomes = p.take_admin_ping_outcomes();
    ASSERT_EQ(outcomes.size(), 1u);
    EXPECT_EQ(outcomes[0].id, id);
    EXPECT_EQ(outcomes[0].result.outcome, Outcome::closed);
    // One asked for after the close decision ends at once, without a Ping on the wire.
    p.take_output();
    const auto late = p.start_admin_ping(t0 + 2s, 60s);
    EXPECT_FALSE(p.has_output());
    outcomes = p.take_admin_ping_outcomes();
    ASSERT_EQ(outcomes.size(), 1u);
    EXPECT_EQ(outcomes[0].id, late);
    EXPECT_EQ(outcomes[0].result.outcome, Outcome::closed);
}

// An operator (or a script gone wrong) asking for Pings faster than the device answers does not
// grow what the connection holds: beyond the bound the oldest wait ends as a timeout.
TEST(AdminProtocol, WaitingOperatorPingsAreBounded) {
    auto p = started();
    std::vector<std::uint64_t> ids;
    for (std::size_t i = 0; i < AdminPings::max_waiting + 3; ++i)
        ids.push_back(p.start_admin_ping(t0 + 1s, 60s));
    const auto outcomes = p.take_admin_ping_outcomes();
    ASSERT_EQ(outcomes.size(), 3u);
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(outcomes[i].id, ids[i]);
        EXPECT_EQ(outcomes[i].result.outcome, Outcome::timeout);
    }
}

TEST(AdminProtocol, ReleaseWithAlternativeAddressAndHoldOffThenClose) {
    auto p = started();
    p.release_and_close(CloseReason::admin, "coap+tcp://10.0.0.2:5683", 30, "by operator");
    const auto out = decode_all(p.take_output());
    ASSERT_EQ(out.size(), 1u);
    auto parsed = coap::parse_signal(out[0]);
    auto* signal = std::get_if<coap::Signal>(&parsed);
    ASSERT_NE(signal, nullptr);
    auto* release = std::get_if<coap::Release>(signal);
    ASSERT_NE(release, nullptr);
    EXPECT_EQ(release->alternative_address, "coap+tcp://10.0.0.2:5683");
    EXPECT_EQ(release->hold_off_seconds, 30u);
    ASSERT_TRUE(p.close_decision());
    EXPECT_EQ(p.close_decision()->reason, CloseReason::admin);
    EXPECT_EQ(p.close_decision()->mode, CloseMode::after_flush);
    // A second operator action on a closing connection sends nothing more.
    p.release_and_close(CloseReason::admin, std::nullopt, std::nullopt, "again");
    EXPECT_FALSE(p.has_output());
}

}  // namespace
}  // namespace lwgate::session
