// The floor forwarder's translation (tools/bench/src/floor_relay.hpp), checked against lwgate's
// own codec on the TCP side: every frame the device sends is also fed split at every byte.
#include "floor_relay.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "lwgate/coap/code.hpp"
#include "lwgate/coap/option.hpp"
#include "lwgate/coap/tcp_codec.hpp"

namespace lwgate::bench {
namespace {

namespace code = coap::code;
using Bytes = std::vector<std::uint8_t>;

struct Recorder final : FloorRelay::Sink {
    std::vector<Bytes> device;
    std::vector<Bytes> core;
    void to_device(lite::Span f) override { device.emplace_back(f.begin(), f.end()); }
    void to_core(lite::Span d) override { core.emplace_back(d.begin(), d.end()); }
};

Bytes tcp_frame(const coap::Message& m) {
    return coap::encode(m);
}

coap::Message read_request(std::uint64_t token) {
    coap::Message m(code::get, coap::Token::from_u64(token));
    m.add_option(coap::option::uri_path, "3");
    m.add_option(coap::option::uri_path, "0");
    m.add_option(coap::option::uri_path, "13");
    return m;
}

Bytes udp_datagram(lite::Type type, std::uint8_t c, std::uint16_t mid, std::uint64_t token,
                   const coap::Message* body_from = nullptr) {
    std::uint8_t buf[512];
    lite::Builder b(buf, sizeof buf);
    b.udp(type, c, mid, token);
    if (body_from) {
        for (const auto& o : body_from->options())
            b.option(o.number, lite::Span(o.value.data(), o.value.size()));
        b.payload(body_from->payload());
    }
    return Bytes(buf, buf + b.finish());
}

// Feeds `stream` to a fresh relay split at `cut` (0: in one piece, else two pieces).
Recorder feed_split(const Bytes& stream, std::size_t cut, bool& ok, FloorRelay& relay) {
    Recorder r;
    ok = true;
    if (cut == 0) {
        ok = relay.from_device(stream, r);
    } else {
        ok = relay.from_device(lite::Span(stream.data(), cut), r) &&
             relay.from_device(lite::Span(stream.data() + cut, stream.size() - cut), r);
    }
    return r;
}

TEST(FloorRelayTest, DeviceRequestsBecomeConWithFreshMessageIdsAtEverySplit) {
    coap::Message reg(code::post, coap::Token::from_u64(0xabcdef));
    reg.add_option(coap::option::uri_path, "rd");
    reg.add_option(coap::option::uri_query, "ep=bench-1");
    reg.add_option(coap::option::uri_query, "lt=300");
    reg.set_payload(std::string_view("</1/0>,</3/0>"));
    coap::Message send(code::post, coap::Token::from_u64(7));
    send.add_option(coap::option::uri_path, "dp");
    send.set_payload(std::string(300, 'x'));  // Len >= 269: a 2-byte extended length
    Bytes stream = tcp_frame(reg);
    const Bytes second = tcp_frame(send);
    stream.insert(stream.end(), second.begin(), second.end());

    for (std::size_t cut = 0; cut < stream.size(); ++cut) {
        SCOPED_TRACE(cut);
        FloorRelay relay;
        bool ok = false;
        const Recorder r = feed_split(stream, cut, ok, relay);
        ASSERT_TRUE(ok);
        EXPECT_TRUE(r.device.empty());
        ASSERT_EQ(r.core.size(), 2u);
        const auto a = lite::parse_udp(r.core[0]);
        const auto b = lite::parse_udp(r.core[1]);
        ASSERT_TRUE(a && b);
        EXPECT_EQ(a->type, lite::Type::con);
        EXPECT_EQ(b->type, lite::Type::con);
        EXPECT_NE(a->mid, b->mid);
        EXPECT_EQ(a->code, code::post);
        EXPECT_EQ(a->token_u64(), 0xabcdefu);
        EXPECT_EQ(b->token_u64(), 7u);
        // Options and payload arrive unchanged: re-encode them as a TCP frame and compare.
        std::uint8_t buf[1024];
        lite::Builder back(buf, sizeof buf);
        back.tcp(a->code, a->token);
        back.encoded_body(a->body);
        const auto decoded = coap::decode_frame(lite::Span(buf, back.finish()));
        ASSERT_TRUE(decoded);
        EXPECT_EQ(*decoded, reg);
        EXPECT_EQ(b->payload.size(), 300u);
    }
}

TEST(FloorRelayTest, CoreReadIsAnsweredWithAPiggybackedAck) {
    FloorRelay relay;
    Recorder r;
    const coap::Message read = read_request(0x8000000100000005ull);
    relay.from_core(udp_datagram(lite::Type::con, code::get, 0x1234, 0x8000000100000005ull, &read),
                    r);
    ASSERT_EQ(r.device.size(), 1u);
    EXPECT_TRUE(r.core.empty());
    const auto forwarded = coap::decode_frame(r.device[0]);
    ASSERT_TRUE(forwarded);
    EXPECT_EQ(*forwarded, read);
    EXPECT_EQ(relay.pending(), 1u);

    coap::Message answer(code::content, read.token());
    answer.add_uint_option(coap::option::content_format, 0);
    answer.set_payload(std::string_view("42"));
    ASSERT_TRUE(relay.from_device(tcp_frame(answer), r));
    ASSERT_EQ(r.core.size(), 1u);
    const auto ack = lite::parse_udp(r.core[0]);
    ASSERT_TRUE(ack);
    EXPECT_EQ(ack->type, lite::Type::ack);
    EXPECT_EQ(ack->mid, 0x1234);
    EXPECT_EQ(ack->code, code::content);
    EXPECT_EQ(ack->token_u64(), 0x8000000100000005ull);
    EXPECT_EQ(std::string(ack->payload.begin(), ack->payload.end()), "42");
    EXPECT_EQ(relay.pending(), 0u);

    // The same token again (a notification after the Observe was answered) has no CON to
    // piggyback on: it goes out NON with a Message ID of the relay's own.
    ASSERT_TRUE(relay.from_device(tcp_frame(answer), r));
    ASSERT_EQ(r.core.size(), 2u);
    const auto notification = lite::parse_udp(r.core[1]);
    ASSERT_TRUE(notification);
    EXPECT_EQ(notification->type, lite::Type::non);
}

TEST(FloorRelayTest, CoreResponsesPingsAndResets) {
    FloorRelay relay;
    Recorder r;
    // A piggybacked response to the device's request goes to the device, nothing back.
    coap::Message created(code::created, coap::Token::from_u64(9));
    created.add_option(coap::option::location_path, "rd");
    created.add_option(coap::option::location_path, "5a3f");
    relay.from_core(udp_datagram(lite::Type::ack, code::created, 1, 9, &created), r);
    ASSERT_EQ(r.device.size(), 1u);
    EXPECT_EQ(coap::decode_frame(r.device[0]), created);
    EXPECT_TRUE(r.core.empty());
    // A separate response (CON) is ACKed with its Message ID and forwarded.
    relay.from_core(udp_datagram(lite::Type::con, code::changed, 0x0102, 10), r);
    ASSERT_EQ(r.device.size(), 2u);
    ASSERT_EQ(r.core.size(), 1u);
    const auto ack = lite::parse_udp(r.core[0]);
    ASSERT_TRUE(ack);
    EXPECT_EQ(ack->type, lite::Type::ack);
    EXPECT_EQ(ack->code, code::empty);
    EXPECT_EQ(ack->mid, 0x0102);
    EXPECT_EQ(relay.pending(), 0u);  // a response is not awaited by anyone
    // Empty ACK and RST: dropped. CoAP ping (empty CON): RST.
    relay.from_core(udp_datagram(lite::Type::ack, code::empty, 2, 0), r);
    relay.from_core(udp_datagram(lite::Type::rst, code::empty, 3, 0), r);
    EXPECT_EQ(r.device.size(), 2u);
    EXPECT_EQ(r.core.size(), 1u);
    relay.from_core(udp_datagram(lite::Type::con, code::empty, 4, 0), r);
    ASSERT_EQ(r.core.size(), 2u);
    const auto rst = lite::parse_udp(r.core[1]);
    ASSERT_TRUE(rst);
    EXPECT_EQ(rst->type, lite::Type::rst);
    EXPECT_EQ(rst->mid, 4);
}

TEST(FloorRelayTest, SignalingStaysOnTheTcpSide) {
    FloorRelay relay;
    Recorder r;
    coap::Message csm(code::csm);
    csm.add_uint_option(coap::signal_option::max_message_size, 1152);
    ASSERT_TRUE(relay.from_device(tcp_frame(csm), r));
    ASSERT_TRUE(
        relay.from_device(tcp_frame(coap::Message(code::ping, coap::Token::from_u64(3))), r));
    ASSERT_TRUE(relay.from_device(tcp_frame(coap::Message(code::pong)), r));
    ASSERT_TRUE(relay.from_device(tcp_frame(coap::Message(code::empty)), r));
    EXPECT_TRUE(r.core.empty());
    ASSERT_EQ(r.device.size(), 2u);
    EXPECT_EQ(coap::decode_frame(r.device[0]), coap::Message(code::csm));
    EXPECT_EQ(coap::decode_frame(r.device[1]), coap::Message(code::pong, coap::Token::from_u64(3)));
    EXPECT_FALSE(relay.from_device(tcp_frame(coap::Message(code::abort)), r));
}

TEST(FloorRelayTest, BrokenDeviceStreamsEndTheConnection) {
    {
        FloorRelay relay;
        Recorder r;
        const Bytes bad_tkl{0x09, 0x01};  // TKL 9 is reserved
        EXPECT_FALSE(relay.from_device(bad_tkl, r));
    }
    {
        FloorRelay relay;
        Recorder r;
        // Len 15 with an extended length far beyond max_frame: refused before buffering.
        const Bytes huge{0xf0, 0x00, 0x10, 0x00, 0x00, 0x01};
        EXPECT_FALSE(relay.from_device(huge, r));
    }
    {
        FloorRelay relay;
        Recorder r;
        const Bytes bad_option{0x20, 0x01, 0xf0, 0x00};  // option delta nibble 15
        EXPECT_FALSE(relay.from_device(bad_option, r));
        EXPECT_TRUE(r.core.empty());
    }
}

TEST(FloorRelayTest, MalformedDatagramsAreDropped) {
    FloorRelay relay;
    Recorder r;
    relay.from_core(Bytes{0x40, 0x01}, r);                    // shorter than the header
    relay.from_core(Bytes{0x80, 0x01, 0x00, 0x01}, r);        // version 2
    relay.from_core(Bytes{0x49, 0x01, 0x00, 0x01}, r);        // TKL 9
    relay.from_core(Bytes{0x40, 0x01, 0x00, 0x01, 0xff}, r);  // marker without payload
    EXPECT_TRUE(r.device.empty());
    EXPECT_TRUE(r.core.empty());
    EXPECT_EQ(relay.pending(), 0u);
}

TEST(FloorRelayTest, RequestsAwaitingTheDeviceAreBounded) {
    FloorRelay relay;
    Recorder r;
    for (std::uint16_t i = 0; i < FloorRelay::max_pending + 10; ++i)
        relay.from_core(udp_datagram(lite::Type::con, code::get, i, 100 + i), r);
    EXPECT_EQ(relay.pending(), FloorRelay::max_pending);
    // The oldest were forgotten: their answers go out NON; the newest are still piggybacked.
    ASSERT_TRUE(
        relay.from_device(tcp_frame(coap::Message(code::content, coap::Token::from_u64(100))), r));
    ASSERT_TRUE(relay.from_device(
        tcp_frame(
            coap::Message(code::content, coap::Token::from_u64(100 + FloorRelay::max_pending + 9))),
        r));
    ASSERT_EQ(r.core.size(), 2u);
    EXPECT_EQ(lite::parse_udp(r.core[0])->type, lite::Type::non);
    EXPECT_EQ(lite::parse_udp(r.core[1])->type, lite::Type::ack);
}

}  // namespace
}  // namespace lwgate::bench
