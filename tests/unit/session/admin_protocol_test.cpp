// What DownstreamProtocol offers the admin API: the RTT history (microseconds, last 16) and an
// operator's Release with Alternative-Address and Hold-Off followed by a close.
#include <gtest/gtest.h>

#include "lwgate/coap/signaling.hpp"
#include "lwgate/coap/tcp_codec.hpp"
#include "lwgate/session/downstream_protocol.hpp"

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
