#include "session/downstream_protocol.hpp"

#include <gtest/gtest.h>

#include "lwgate/coap/signaling.hpp"
#include "lwgate/coap/tcp_codec.hpp"

namespace lwgate::session {
namespace {

using namespace std::chrono_literals;
using coap::Bytes;
using coap::Message;
using coap::Token;
namespace code = coap::code;

std::vector<Message> decode_all(const Bytes& bytes) {
    coap::TcpDecoder decoder(1 << 20);
    std::vector<Message> out;
    coap::ByteView in(bytes);
    while (!in.empty()) {
        auto step = decoder.feed(in);
        in = in.subspan(step.consumed);
        if (step.result) {
            auto* m = std::get_if<Message>(&*step.result);
            EXPECT_NE(m, nullptr) << "gateway produced an undecodable frame";
            if (m) out.push_back(*m);
        }
        if (step.consumed == 0 && !step.result) break;
    }
    return out;
}

Bytes concat(std::initializer_list<Message> messages) {
    Bytes out;
    for (const auto& m : messages)
        coap::encode_into(m, out);
    return out;
}

Message request(std::uint8_t c, std::uint64_t token, std::string_view path) {
    Message m(c, Token::from_u64(token));
    m.add_option(coap::option::uri_path, path);
    return m;
}

struct Protocol : ::testing::Test {
    TimePoint t0 = TimePoint{} + 1000h;
    ProtocolParams params;

    Protocol() {
        params.max_message_size = 2048;
        params.keepalive.idle = 60s;
        params.keepalive.pong_timeout = 10s;
        params.keepalive.max_missed = 2;
        params.keepalive.csm_timeout = 5s;
        params.keepalive.unregistered_idle = Duration::zero();
    }

    // A started connection whose own CSM was already taken.
    DownstreamProtocol started() {
        DownstreamProtocol p(params, t0);
        p.start(t0);
        p.take_output();
        return p;
    }
};

TEST_F(Protocol, SendsCsmFirstWithoutWaitingForPeer) {
    DownstreamProtocol p(params, t0);
    p.start(t0);
    auto out = decode_all(p.take_output());
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].code(), code::csm);
    EXPECT_EQ(out[0].uint_option(coap::signal_option::max_message_size), 2048u);
    EXPECT_NE(out[0].find_option(coap::signal_option::block_wise_transfer), nullptr);
}

TEST_F(Protocol, CsmThenPingAtEverySplitGetsPongWithSameToken) {
    Message ping = coap::make_ping(Token::from_u64(0xabcdef), true);
    const Bytes input = concat({coap::make_csm(4096, true), ping, request(code::get, 7, "3")});
    for (std::size_t split = 0; split <= input.size(); ++split) {
        auto p = started();
        p.on_bytes(coap::ByteView(input).first(split), t0 + 1s);
        p.on_bytes(coap::ByteView(input).subspan(split), t0 + 1s);
        ASSERT_FALSE(p.close_decision()) << "split " << split;
        auto out = decode_all(p.take_output());
        ASSERT_EQ(out.size(), 1u) << "split " << split;
        EXPECT_EQ(out[0].code(), code::pong);
        EXPECT_EQ(out[0].token(), ping.token());
        EXPECT_NE(out[0].find_option(coap::signal_option::custody), nullptr);
        EXPECT_EQ(p.peer().max_message_size, 4096u);
        EXPECT_TRUE(p.peer().block_wise_transfer);
        auto inbound = p.take_inbound();
        ASSERT_EQ(inbound.size(), 1u);
        EXPECT_EQ(inbound[0].code(), code::get);
    }
}

TEST_F(Protocol, PingWithoutCustodyGetsPongWithoutCustody) {
    auto p = started();
    p.on_bytes(concat({coap::make_csm(1152, false), coap::make_ping(Token::from_u64(1))}), t0);
    auto out = decode_all(p.take_output());
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].find_option(coap::signal_option::custody), nullptr);
}

TEST_F(Protocol, RequestRightAfterPeerCsmIsValid) {
    // Anjay sends Register right after its CSM, before reading ours.
    DownstreamProtocol p(params, t0);
    p.start(t0);
    p.on_bytes(concat({coap::make_csm(1152, false), request(code::post, 1, "rd")}), t0);
    EXPECT_FALSE(p.close_decision());
    EXPECT_EQ(p.take_inbound().size(), 1u);
}

TEST_F(Protocol, StrictModeAbortsWhenFirstMessageIsNotCsm) {
    auto p = started();
    p.on_bytes(concat({request(code::get, 1, "3")}), t0);
    ASSERT_TRUE(p.close_decision());
    EXPECT_EQ(p.close_decision()->reason, CloseReason::abort_sent);
    EXPECT_EQ(p.close_decision()->mode, CloseMode::after_flush);
    auto out = decode_all(p.take_output());
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].code(), code::abort);
    EXPECT_TRUE(p.take_inbound().empty());
}

TEST_F(Protocol, LenientModeAcceptsPeersWithoutCsm) {
    params.keepalive.csm_strict = false;
    auto p = started();
    p.on_bytes(concat({request(code::get, 1, "3")}), t0);
    EXPECT_FALSE(p.close_decision());
    EXPECT_EQ(p.take_inbound().size(), 1u);
    EXPECT_EQ(p.peer().max_message_size, coap::base_max_message_size);
    p.on_tick(t0 + 6s);  // CSM deadline passes: lenient continues with base values
    EXPECT_FALSE(p.close_decision());
}

TEST_F(Protocol, CsmTimeoutStrictAborts) {
    auto p = started();
    p.on_tick(t0 + 4s);
    EXPECT_FALSE(p.close_decision());
    p.on_tick(t0 + 5s);
    ASSERT_TRUE(p.close_decision());
    EXPECT_EQ(p.close_decision()->reason, CloseReason::csm_timeout);
    auto out = decode_all(p.take_output());
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].code(), code::abort);
}

TEST_F(Protocol, CsmClockStartsWhenTheProtocolStartsNotAtConstruction) {
    // A TLS handshake may take seconds; the device's CSM deadline begins after it.
    DownstreamProtocol p(params, t0);
    p.start(t0 + 4s);
    p.take_output();
    p.on_tick(t0 + 8s);
    EXPECT_FALSE(p.close_decision());
    p.on_tick(t0 + 9s);
    ASSERT_TRUE(p.close_decision());
    EXPECT_EQ(p.close_decision()->reason, CloseReason::csm_timeout);
}

TEST_F(Protocol, IdlePingThenHalfOpenAfterMaxMissed) {
    auto p = started();
    p.on_bytes(concat({coap::make_csm(1152, false)}), t0);
    p.on_tick(t0 + 60s);
    auto out = decode_all(p.take_output());
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].code(), code::ping);
    p.on_tick(t0 + 70s);  // first missed -> second Ping
    out = decode_all(p.take_output());
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].code(), code::ping);
    EXPECT_FALSE(p.close_decision());
    p.on_tick(t0 + 80s);
    ASSERT_TRUE(p.close_decision());
    EXPECT_EQ(p.close_decision()->reason, CloseReason::half_open);
    EXPECT_EQ(p.close_decision()->mode, CloseMode::reset);
    EXPECT_EQ(p.stats().pings_sent, 2u);
    EXPECT_EQ(p.stats().missed_pongs, 2u);
    EXPECT_EQ(p.next_deadline(), never);
}

TEST_F(Protocol, PongWithOurTokenGivesRtt) {
    auto p = started();
    p.on_bytes(concat({coap::make_csm(1152, false)}), t0);
    p.on_tick(t0 + 60s);
    auto ping = decode_all(p.take_output()).at(0);
    p.on_bytes(concat({coap::make_pong(ping)}), t0 + 60s + 30ms);
    EXPECT_EQ(p.stats().pongs_received, 1u);
    ASSERT_TRUE(p.stats().last_rtt);
    EXPECT_EQ(*p.stats().last_rtt, 30ms);
    p.on_tick(t0 + 75s);
    EXPECT_FALSE(p.close_decision());
}

// The wire cost of keeping a device reachable counts every Ping and Pong both ways, exactly as
// framed: a 1-byte-token Ping is 3 bytes, libcoap's token-less Pong 2; a device's Ping with a
// Custody option and its echo are 5 each. Nothing else (CSM, requests) is keepalive traffic.
TEST_F(Protocol, KeepaliveTrafficCountsEveryPingAndPongBothWays) {
    const Message device_ping = coap::make_ping(Token::from_u64(0xab), true);
    const Bytes input =
        concat({request(code::get, 7, "3"), device_ping, Message(code::pong, Token{})});
    for (std::size_t split = 0; split <= input.size(); ++split) {
        auto p = started();
        p.on_bytes(concat({coap::make_csm(1152, false)}), t0);
        p.on_tick(t0 + 60s);  // our Ping, token 0x01
        const auto ping = decode_all(p.take_output()).at(0);
        ASSERT_EQ(coap::encoded_size(ping), 3u);
        p.on_bytes(coap::ByteView(input).first(split), t0 + 61s);
        p.on_bytes(coap::ByteView(input).subspan(split), t0 + 61s);
        const auto& k = p.stats().keepalive;
        EXPECT_EQ(k.frames_out, 2u) << "split " << split;  // our Ping, the Pong to theirs
        EXPECT_EQ(k.frames_in, 2u) << "split " << split;
        EXPECT_EQ(k.bytes_out, 3u + coap::encoded_size(coap::make_pong(device_ping)));
        EXPECT_EQ(k.bytes_in, coap::encoded_size(device_ping) + 2u);
    }
}

TEST_F(Protocol, PongWithWrongTokenStillCountsAsLife) {
    // libcoap 4.3.1 answers with a Pong that does not echo the token.
    auto p = started();
    p.on_bytes(concat({coap::make_csm(1152, false)}), t0);
    p.on_tick(t0 + 60s);
    p.take_output();
    p.on_bytes(concat({coap::make_ping(Token{})}), t0 + 61s);  // any byte
    p.on_bytes(concat({Message(code::pong, Token::from_u64(0x999))}), t0 + 61s);
    EXPECT_FALSE(p.stats().last_rtt);
    p.on_tick(t0 + 80s);
    EXPECT_FALSE(p.close_decision());
}

TEST_F(Protocol, EmptyMessageIsIgnoredButIsLife) {
    auto p = started();
    p.on_bytes(concat({coap::make_csm(1152, false)}), t0);
    p.on_bytes(concat({Message(code::empty)}), t0 + 59s);
    EXPECT_TRUE(p.take_inbound().empty());
    EXPECT_FALSE(p.has_output());
    p.on_tick(t0 + 60s);
    EXPECT_FALSE(p.has_output()) << "idle restarted at the empty message";
}

TEST_F(Protocol, GarbageAbortsWithBadFrame) {
    auto p = started();
    const Bytes garbage = {0x0f, 0x01, 0x02};  // TKL 15
    p.on_bytes(garbage, t0);
    ASSERT_TRUE(p.close_decision());
    EXPECT_EQ(p.close_decision()->reason, CloseReason::bad_frame);
    auto out = decode_all(p.take_output());
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].code(), code::abort);
    // Whatever follows is not processed.
    p.on_bytes(concat({coap::make_ping(Token::from_u64(1))}), t0);
    EXPECT_FALSE(p.has_output());
}

TEST_F(Protocol, OversizeRequestGets413AndConnectionContinues) {
    auto p = started();
    Message big = request(code::put, 0x42, "5/0/0");
    big.set_payload(Bytes(5000, 0xaa));
    const Bytes input = concat({coap::make_csm(1152, false), big, request(code::get, 0x43, "3/0")});
    for (std::size_t split = 0; split <= input.size(); split += 97) {
        auto q = started();
        q.on_bytes(coap::ByteView(input).first(split), t0);
        q.on_bytes(coap::ByteView(input).subspan(split), t0);
        ASSERT_FALSE(q.close_decision());
        auto out = decode_all(q.take_output());
        ASSERT_EQ(out.size(), 1u);
        EXPECT_EQ(out[0].code(), code::request_entity_too_large);
        EXPECT_EQ(out[0].token(), Token::from_u64(0x42));
        EXPECT_EQ(out[0].uint_option(coap::option::size1), 2048u);
        auto inbound = q.take_inbound();
        ASSERT_EQ(inbound.size(), 1u);
        EXPECT_EQ(inbound[0].token(), Token::from_u64(0x43));
    }
}

TEST_F(Protocol, MalformedOptionInRequestGets400) {
    auto p = started();
    p.on_bytes(concat({coap::make_csm(1152, false)}), t0);
    // Len=2, TKL=1, code GET, token 0x09, option byte 0xF1 (delta 15 is reserved), 1 byte.
    const Bytes bad = {0x21, 0x01, 0x09, 0xf1, 0x00};
    p.on_bytes(bad, t0);
    ASSERT_FALSE(p.close_decision());
    auto out = decode_all(p.take_output());
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].code(), code::bad_request);
    EXPECT_EQ(out[0].token(), Token::from_u64(9));
}

TEST_F(Protocol, UnknownCriticalCsmOptionAbortsWithBadCsmOption) {
    auto p = started();
    Message csm = coap::make_csm(1152, false);
    csm.add_option(9, Bytes{});
    p.on_bytes(concat({csm}), t0);
    ASSERT_TRUE(p.close_decision());
    EXPECT_EQ(p.close_decision()->reason, CloseReason::abort_sent);
    auto out = decode_all(p.take_output());
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].code(), code::abort);
    EXPECT_EQ(out[0].uint_option(coap::signal_option::bad_csm_option), 9u);
}

// A Max-Message-Size below the floor would make every answer to the device too large to send:
// bad input, at every split of the stream, and the request behind the CSM is not served.
TEST_F(Protocol, CsmMaxMessageSizeBelowTheFloorAbortsNamingOptionAndFloor) {
    for (std::uint32_t size : {0u, 1u, coap::min_peer_max_message_size - 1}) {
        const Bytes input = concat({coap::make_csm(size, false), request(code::get, 7, "3")});
        for (std::size_t split = 0; split <= input.size(); ++split) {
            auto p = started();
            p.on_bytes(coap::ByteView(input).first(split), t0);
            p.on_bytes(coap::ByteView(input).subspan(split), t0);
            ASSERT_TRUE(p.close_decision()) << size << " split " << split;
            EXPECT_EQ(p.close_decision()->reason, CloseReason::abort_sent);
            EXPECT_EQ(p.close_decision()->mode, CloseMode::after_flush);
            EXPECT_TRUE(p.take_inbound().empty()) << size << " split " << split;
            auto out = decode_all(p.take_output());
            ASSERT_EQ(out.size(), 1u) << size << " split " << split;
            EXPECT_EQ(out[0].code(), code::abort);
            EXPECT_EQ(out[0].uint_option(coap::signal_option::bad_csm_option),
                      std::optional<std::uint32_t>(coap::signal_option::max_message_size));
            const std::string diagnostic(out[0].payload().begin(), out[0].payload().end());
            EXPECT_EQ(diagnostic, "Max-Message-Size " + std::to_string(size) +
                                      " is below the minimum of 64 bytes");
        }
    }
}

TEST_F(Protocol, CsmMaxMessageSizeAtTheFloorIsAccepted) {
    auto p = started();
    p.on_bytes(concat({coap::make_csm(coap::min_peer_max_message_size, false)}), t0);
    EXPECT_FALSE(p.close_decision());
    EXPECT_EQ(p.peer().max_message_size, 64u);
}

// CSM values accumulate, so a later CSM is held to the same floor; the value it carried never
// takes effect.
TEST_F(Protocol, LaterCsmBelowTheFloorAborts) {
    auto p = started();
    p.on_bytes(concat({coap::make_csm(1152, false)}), t0);
    ASSERT_FALSE(p.close_decision());
    p.on_bytes(concat({coap::make_csm(10, false)}), t0);
    ASSERT_TRUE(p.close_decision());
    EXPECT_EQ(p.close_decision()->reason, CloseReason::abort_sent);
    EXPECT_EQ(p.peer().max_message_size, 1152u);
    auto out = decode_all(p.take_output());
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].code(), code::abort);
}

// A later CSM that lowers Max-Message-Size (above the floor): what was queued before it goes out
// as it is (it was valid when queued); what comes after and no longer fits is refused and
// counted, never dropped without a trace. A refusal because the connection is closing is not
// a size problem and is not counted.
TEST_F(Protocol, LoweredMaxMessageSizeCountsWhatNoLongerFits) {
    auto p = started();
    p.on_bytes(concat({coap::make_csm(1152, false)}), t0);
    Message big(code::content, Token::from_u64(1));
    big.set_payload(Bytes(500, 1));
    ASSERT_TRUE(p.send(big));
    p.on_bytes(concat({coap::make_csm(128, false)}), t0);
    EXPECT_EQ(p.peer().max_message_size, 128u);
    EXPECT_FALSE(p.send(big));
    EXPECT_EQ(p.stats().too_large_for_peer, 1u);
    auto out = decode_all(p.take_output());
    ASSERT_EQ(out.size(), 1u) << "the frame queued before the CSM is still written";
    EXPECT_EQ(out[0], big);

    p.abort(CloseReason::admin, "bye");
    EXPECT_FALSE(p.send(big));
    EXPECT_EQ(p.stats().too_large_for_peer, 1u);
}

TEST_F(Protocol, UnknownElectiveCsmOptionIgnored) {
    auto p = started();
    Message csm = coap::make_csm(3000, false);
    csm.add_option(8, Bytes{1});
    p.on_bytes(concat({csm}), t0);
    EXPECT_FALSE(p.close_decision());
    EXPECT_EQ(p.peer().max_message_size, 3000u);
}

TEST_F(Protocol, CsmValuesAccumulate) {
    auto p = started();
    p.on_bytes(concat({coap::make_csm(3000, true)}), t0);
    Message second(code::csm);  // carries nothing: nothing changes
    p.on_bytes(concat({second}), t0);
    EXPECT_EQ(p.peer().max_message_size, 3000u);
    EXPECT_TRUE(p.peer().block_wise_transfer);
    p.on_bytes(concat({coap::make_csm(5000, false)}), t0);
    EXPECT_EQ(p.peer().max_message_size, 5000u);
    EXPECT_TRUE(p.peer().block_wise_transfer);
}

TEST_F(Protocol, ReleaseFromPeerClosesGracefully) {
    auto p = started();
    p.on_bytes(concat({coap::make_csm(1152, false), coap::make_release(std::nullopt, 5)}), t0);
    ASSERT_TRUE(p.close_decision());
    EXPECT_EQ(p.close_decision()->reason, CloseReason::release_received);
    EXPECT_EQ(p.close_decision()->mode, CloseMode::after_flush);
    EXPECT_FALSE(p.has_output()) << "no Abort for a Release";
}

TEST_F(Protocol, AbortFromPeerClosesImmediately) {
    auto p = started();
    p.on_bytes(concat({coap::make_csm(1152, false), coap::make_abort(std::nullopt, "bye")}), t0);
    ASSERT_TRUE(p.close_decision());
    EXPECT_EQ(p.close_decision()->reason, CloseReason::abort_received);
    EXPECT_EQ(p.close_decision()->mode, CloseMode::immediate);
    EXPECT_NE(p.close_decision()->detail.find("bye"), std::string::npos);
}

TEST_F(Protocol, ReleaseSentAnswersLaterRequestsWith503) {
    auto p = started();
    p.on_bytes(concat({coap::make_csm(1152, false)}), t0);
    p.release(std::nullopt, 30, "shutting down");
    auto out = decode_all(p.take_output());
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].code(), code::release);
    EXPECT_EQ(out[0].uint_option(coap::signal_option::hold_off), 30u);
    p.on_bytes(concat({request(code::get, 5, "3")}), t0);
    out = decode_all(p.take_output());
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].code(), code::service_unavailable);
    EXPECT_TRUE(p.take_inbound().empty());
}

TEST_F(Protocol, RefuseSendsReleaseAndDecidesClose) {
    DownstreamProtocol p(params, t0);
    p.start(t0);
    p.refuse(CloseReason::limit_connections, 42, "full");
    auto out = decode_all(p.take_output());
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].code(), code::csm);
    EXPECT_EQ(out[1].code(), code::release);
    EXPECT_EQ(out[1].uint_option(coap::signal_option::hold_off), 42u);
    ASSERT_TRUE(p.close_decision());
    EXPECT_EQ(p.close_decision()->reason, CloseReason::limit_connections);
}

// The write buffer travels between session and protocol: a recycled buffer's capacity carries
// the next frames (no allocation per write), and recycling never mixes in or drops output.
TEST_F(Protocol, RecycledWriteBufferCarriesTheNextFrames) {
    auto p = started();
    Message m(code::content, Token::from_u64(1));
    m.set_payload(Bytes(100, 7));
    ASSERT_TRUE(p.send(m));
    Bytes write_buffer;
    p.take_output_into(write_buffer);
    EXPECT_FALSE(p.has_output());
    ASSERT_EQ(decode_all(write_buffer).size(), 1u);
    const auto* storage = write_buffer.data();
    p.recycle_output(std::move(write_buffer));  // written: back to the protocol
    ASSERT_TRUE(p.send(m));
    Bytes next;
    p.take_output_into(next);
    EXPECT_EQ(next.data(), storage) << "the recycled buffer was reused";
    ASSERT_EQ(decode_all(next).size(), 1u);

    // Output queued while a write was in flight stays; the returned buffer is dropped.
    ASSERT_TRUE(p.send(m));
    Bytes written(50, 9);
    p.recycle_output(std::move(written));
    const auto pending = decode_all(p.take_output());
    ASSERT_EQ(pending.size(), 1u);
    EXPECT_EQ(pending[0], m);
}

TEST_F(Protocol, SendRespectsPeerMaxMessageSize) {
    auto p = started();
    p.on_bytes(concat({coap::make_csm(1152, false)}), t0);
    Message small(code::content, Token::from_u64(1));
    small.set_payload(Bytes(100, 1));
    EXPECT_TRUE(p.send(small));
    Message big(code::content, Token::from_u64(2));
    big.set_payload(Bytes(2000, 1));
    EXPECT_FALSE(p.send(big));
    EXPECT_EQ(decode_all(p.take_output()).size(), 1u);
}

// The I/O layer stops reading a device with too many requests unanswered: a burst waits in the
// device's socket, not in lwgate's memory. Signals and the device's own responses do not count.
TEST_F(Protocol, UnansweredRequestsAreCountedUntilAnswered) {
    params.max_unanswered_requests = 3;
    auto p = started();
    p.on_bytes(concat({coap::make_csm(1152, false), request(code::post, 1, "dp"),
                       Message(code::content, Token::from_u64(9)),
                       coap::make_ping(Token::from_u64(8)), request(code::post, 2, "dp")}),
               t0);
    EXPECT_EQ(p.unanswered_requests(), 2u);
    EXPECT_FALSE(p.too_many_unanswered());
    p.on_bytes(concat({request(code::post, 3, "dp")}), t0);
    EXPECT_TRUE(p.too_many_unanswered());
    // lwgate's own requests to the device are not answers.
    EXPECT_TRUE(p.send(request(code::get, 50, "3")));
    EXPECT_TRUE(p.too_many_unanswered());
    EXPECT_TRUE(p.send(Message(code::changed, Token::from_u64(1))));
    EXPECT_FALSE(p.too_many_unanswered());
    // An answer too large for the device still answers its request.
    Message big(code::content, Token::from_u64(2));
    big.set_payload(std::string(4000, 'x'));
    EXPECT_FALSE(p.send(big));
    EXPECT_EQ(p.unanswered_requests(), 1u);
    EXPECT_TRUE(p.send(Message(code::changed, Token::from_u64(3))));
    EXPECT_TRUE(p.send(Message(code::changed, Token::from_u64(4))));
    EXPECT_EQ(p.unanswered_requests(), 0u) << "never below zero";
}

TEST_F(Protocol, ResponsesFromDeviceAreDelivered) {
    auto p = started();
    p.on_bytes(concat({coap::make_csm(1152, false), Message(code::content, Token::from_u64(3))}),
               t0);
    auto inbound = p.take_inbound();
    ASSERT_EQ(inbound.size(), 1u);
    EXPECT_EQ(inbound[0].code(), code::content);
}

}  // namespace
}  // namespace lwgate::session
