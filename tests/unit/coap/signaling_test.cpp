// RFC 8323 §5 signaling: parsing semantics, CSM accumulation and the message builders.
#include <gtest/gtest.h>

#include <ostream>
#include <string>

#include "lwgate/coap/error.hpp"
#include "lwgate/coap/signaling.hpp"
#include "lwgate/coap/tcp_codec.hpp"

namespace lwgate::coap {

void PrintTo(const Message& message, std::ostream* os);  // message_test.cpp

void PrintTo(const SignalError& e, std::ostream* os) {
    *os << "SignalError{" << e.error.message() << ", option=" << e.option << "}";
}
void PrintTo(const Csm& s, std::ostream* os) {
    *os << "Csm{max_message_size="
        << (s.max_message_size ? std::to_string(*s.max_message_size) : "none")
        << ", block_wise_transfer=" << s.block_wise_transfer << "}";
}
void PrintTo(const Ping& s, std::ostream* os) {
    *os << "Ping{custody=" << s.custody << "}";
}
void PrintTo(const Pong& s, std::ostream* os) {
    *os << "Pong{custody=" << s.custody << "}";
}
void PrintTo(const Release& s, std::ostream* os) {
    *os << "Release{alternative_address=" << s.alternative_address.value_or("none")
        << ", hold_off=" << (s.hold_off_seconds ? std::to_string(*s.hold_off_seconds) : "none")
        << ", diagnostic='" << s.diagnostic << "'}";
}
void PrintTo(const Abort& s, std::ostream* os) {
    *os << "Abort{bad_csm_option="
        << (s.bad_csm_option ? std::to_string(*s.bad_csm_option) : "none") << ", diagnostic='"
        << s.diagnostic << "'}";
}

namespace {

using Parsed = std::variant<Signal, SignalError>;

Bytes bytes(std::initializer_list<int> values) {
    Bytes out;
    for (int v : values)
        out.push_back(static_cast<std::uint8_t>(v));
    return out;
}

Parsed ok(Signal s) {
    return s;
}

Parsed unknown_critical(std::uint16_t option) {
    return SignalError{make_error_code(CodecError::unknown_critical_signal_option), option};
}

Parsed bad_value(std::uint16_t option) {
    return SignalError{make_error_code(CodecError::bad_signal_option_value), option};
}

// Sends the message through the wire codec first, so parse_signal sees what a peer would send.
Message over_the_wire(const Message& m) {
    const Bytes wire = encode(m);
    TcpDecoder decoder(1u << 20);
    DecodeStep step = decoder.feed(wire);
    EXPECT_EQ(step.consumed, wire.size());
    if (!step.result || !std::holds_alternative<Message>(*step.result)) {
        ADD_FAILURE() << "did not decode " << describe(m);
        return {};
    }
    return std::get<Message>(*step.result);
}

// ---- CSM --------------------------------------------------------------------------------------

TEST(Csm, BuilderWireFormat) {
    EXPECT_EQ(encode(make_csm(1152, false)), bytes({0x30, 0xe1, 0x22, 0x04, 0x80}));
    EXPECT_EQ(encode(make_csm(1152, true)), bytes({0x40, 0xe1, 0x22, 0x04, 0x80, 0x20}));
    EXPECT_EQ(encode(make_csm(0, false)), bytes({0x10, 0xe1, 0x20}));
}

TEST(Csm, ParsesBuilderOutput) {
    EXPECT_EQ(parse_signal(over_the_wire(make_csm(1152, false))), ok(Csm{1152, false}));
    EXPECT_EQ(parse_signal(over_the_wire(make_csm(65536, true))), ok(Csm{65536, true}));
    EXPECT_EQ(parse_signal(over_the_wire(make_csm(0xffffffff, true))), ok(Csm{0xffffffff, true}));
}

TEST(Csm, EmptyCsmCarriesNothing) {
    EXPECT_EQ(parse_signal(Message(code::csm)), ok(Csm{std::nullopt, false}));
}

TEST(Csm, OnlyBlockWise) {
    Message m(code::csm);
    m.add_option(signal_option::block_wise_transfer, Bytes{});
    EXPECT_EQ(parse_signal(m), ok(Csm{std::nullopt, true}));
}

TEST(Csm, MaxMessageSizeLongerThanFourBytesIsBadValue) {
    Message m(code::csm);
    m.add_option(signal_option::max_message_size, bytes({1, 0, 0, 0, 0}));
    EXPECT_EQ(parse_signal(m), bad_value(signal_option::max_message_size));
}

TEST(Csm, BlockWiseWithValueIsBadValue) {
    Message m(code::csm);
    m.add_uint_option(signal_option::max_message_size, 2048);
    m.add_option(signal_option::block_wise_transfer, bytes({1}));
    EXPECT_EQ(parse_signal(m), bad_value(signal_option::block_wise_transfer));
}

TEST(Csm, UnknownCriticalOptionIsError) {
    for (std::uint16_t number : {1, 3, 5, 9, 65535}) {
        Message m = make_csm(2048, true);
        m.add_option(number, Bytes{});
        EXPECT_EQ(parse_signal(m), unknown_critical(number)) << number;
    }
}

TEST(Csm, FirstOffendingOptionIsReported) {
    Message m(code::csm);
    m.add_option(7, Bytes{});
    m.add_option(3, Bytes{});
    EXPECT_EQ(parse_signal(m), unknown_critical(3));
}

TEST(Csm, UnknownElectiveOptionIsIgnored) {
    Message m = make_csm(4096, false);
    m.add_option(6, "x");
    m.add_option(8, Bytes{});
    m.add_option(65534, bytes({1, 2, 3, 4, 5, 6}));
    EXPECT_EQ(parse_signal(m), ok(Csm{4096, false}));
}

TEST(Csm, RepeatedMaxMessageSizeKeepsTheFirst) {
    Message m(code::csm);
    m.add_uint_option(signal_option::max_message_size, 2000);
    m.add_uint_option(signal_option::max_message_size, 3000);
    EXPECT_EQ(parse_signal(m), ok(Csm{2000, false}));
}

TEST(Csm, PayloadIsIgnored) {
    Message m = make_csm(1500, false);
    m.set_payload("hello");
    EXPECT_EQ(parse_signal(m), ok(Csm{1500, false}));
}

// Max-Message-Size 0 is an option with an empty value: the codec reports the 0 as sent, at every
// split of the stream; refusing it is the receiver's business (min_peer_max_message_size).
TEST(Csm, MaxMessageSizeZeroParsesAtEverySplit) {
    const Bytes wire = encode(make_csm(0, false));
    for (std::size_t split = 0; split <= wire.size(); ++split) {
        TcpDecoder decoder(1u << 20);
        DecodeStep first = decoder.feed(ByteView(wire).first(split));
        std::optional<DecodeResult> result = first.result;
        if (!result) {
            DecodeStep second = decoder.feed(ByteView(wire).subspan(first.consumed));
            EXPECT_EQ(first.consumed + second.consumed, wire.size()) << "split " << split;
            result = second.result;
        }
        ASSERT_TRUE(result && std::holds_alternative<Message>(*result)) << "split " << split;
        EXPECT_EQ(parse_signal(std::get<Message>(*result)), ok(Csm{0, false})) << "split " << split;
    }
}

// The floor is what it claims: a response with the smallest RFC 7959 block (16 bytes), an 8-byte
// token, an 8-byte ETag, Content-Format and a Block2 with a 3-byte number fits in it.
TEST(Csm, FloorCarriesAResponseWithTheSmallestBlock) {
    Message response(code::content, Token::from_u64(0x0102030405060708));
    response.add_option(option::etag, bytes({1, 2, 3, 4, 5, 6, 7, 8}));
    response.add_uint_option(option::content_format, 11543);
    response.add_uint_option(option::block2, (0xfffffu << 4) | 0x8);  // more blocks, SZX 0
    response.set_payload(Bytes(16, 0x42));
    EXPECT_LE(encoded_size(response), min_peer_max_message_size);
    EXPECT_GT(encoded_size(response), min_peer_max_message_size / 2)
        << "the floor is not far above what it must carry";
}

TEST(PeerCapabilities, DefaultsToBaseValues) {
    PeerCapabilities caps;
    EXPECT_EQ(caps.max_message_size, 1152u);
    EXPECT_EQ(caps.max_message_size, base_max_message_size);
    EXPECT_FALSE(caps.block_wise_transfer);
}

TEST(PeerCapabilities, ValuesAccumulateAcrossCsms) {
    PeerCapabilities caps;
    caps.apply(Csm{2048, false});
    EXPECT_EQ(caps.max_message_size, 2048u);
    EXPECT_FALSE(caps.block_wise_transfer);

    caps.apply(Csm{std::nullopt, true});  // carries only Block-Wise: size unchanged
    EXPECT_EQ(caps.max_message_size, 2048u);
    EXPECT_TRUE(caps.block_wise_transfer);

    caps.apply(Csm{1024, false});  // no Block-Wise option: capability stays
    EXPECT_EQ(caps.max_message_size, 1024u);
    EXPECT_TRUE(caps.block_wise_transfer);

    caps.apply(Csm{});
    EXPECT_EQ(caps.max_message_size, 1024u);
    EXPECT_TRUE(caps.block_wise_transfer);
}

TEST(PeerCapabilities, FromParsedCsms) {
    PeerCapabilities caps;
    Message only_bwt(code::csm);
    only_bwt.add_option(signal_option::block_wise_transfer, Bytes{});
    for (const Message& m : {make_csm(8192, false), only_bwt}) {
        const Parsed parsed = parse_signal(over_the_wire(m));
        ASSERT_TRUE(std::holds_alternative<Signal>(parsed));
        ASSERT_TRUE(std::holds_alternative<Csm>(std::get<Signal>(parsed)));
        caps.apply(std::get<Csm>(std::get<Signal>(parsed)));
    }
    EXPECT_EQ(caps.max_message_size, 8192u);
    EXPECT_TRUE(caps.block_wise_transfer);
}

// ---- Ping / Pong ------------------------------------------------------------------------------

TEST(Ping, BuilderAndParse) {
    const Message ping = make_ping(Token(bytes({0xde, 0xad})));
    EXPECT_EQ(ping.code(), code::ping);
    EXPECT_EQ(encode(ping), bytes({0x02, 0xe2, 0xde, 0xad}));
    EXPECT_EQ(parse_signal(over_the_wire(ping)), ok(Ping{false}));

    const Message custody = make_ping(Token::from_u64(1), true);
    EXPECT_EQ(encode(custody), bytes({0x11, 0xe2, 0x01, 0x20}));
    EXPECT_EQ(parse_signal(over_the_wire(custody)), ok(Ping{true}));
}

TEST(Ping, CustodyWithValueIsBadValue) {
    Message m(code::ping);
    m.add_option(signal_option::custody, bytes({0}));
    EXPECT_EQ(parse_signal(m), bad_value(signal_option::custody));
}

TEST(Ping, UnknownOptions) {
    Message elective = make_ping(Token::from_u64(5));
    elective.add_option(4, "ignored");  // Hold-Off's number means nothing in a Ping
    EXPECT_EQ(parse_signal(elective), ok(Ping{false}));

    Message critical = make_ping(Token::from_u64(5));
    critical.add_option(1, Bytes{});
    EXPECT_EQ(parse_signal(critical), unknown_critical(1));
}

TEST(Pong, EchoesTokenWithoutCustody) {
    const Token token(bytes({1, 2, 3, 4, 5, 6, 7, 8}));
    const Message pong = make_pong(make_ping(token));
    EXPECT_EQ(pong.code(), code::pong);
    EXPECT_EQ(pong.token(), token);
    EXPECT_TRUE(pong.options().empty());
    EXPECT_TRUE(pong.payload().empty());
    EXPECT_EQ(parse_signal(over_the_wire(pong)), ok(Pong{false}));
}

TEST(Pong, EchoesCustody) {
    const Message ping = over_the_wire(make_ping(Token::from_u64(0x4242), true));
    const Message pong = make_pong(ping);
    EXPECT_EQ(pong.token(), Token::from_u64(0x4242));
    ASSERT_NE(pong.find_option(signal_option::custody), nullptr);
    EXPECT_TRUE(pong.find_option(signal_option::custody)->value.empty());
    EXPECT_EQ(encode(pong), bytes({0x12, 0xe3, 0x42, 0x42, 0x20}));
    EXPECT_EQ(parse_signal(over_the_wire(pong)), ok(Pong{true}));
}

TEST(Pong, EmptyTokenAndOtherOptionsNotEchoed) {
    Message ping(code::ping);
    ping.add_option(6, "x");
    ping.set_payload("p");
    const Message pong = make_pong(ping);
    EXPECT_EQ(pong, Message(code::pong));
}

// ---- Release ----------------------------------------------------------------------------------

TEST(Release, AllFields) {
    const Message m = make_release("coaps+tcp://other.example:5684", 30, "maintenance");
    EXPECT_EQ(m.code(), code::release);
    EXPECT_EQ(parse_signal(over_the_wire(m)),
              ok(Release{"coaps+tcp://other.example:5684", 30, "maintenance"}));
}

TEST(Release, NoFields) {
    const Message m = make_release(std::nullopt, std::nullopt);
    EXPECT_EQ(encode(m), bytes({0x00, 0xe4}));
    EXPECT_EQ(parse_signal(m), ok(Release{}));
}

TEST(Release, HoldOffOnlyWireFormat) {
    const Message m = make_release(std::nullopt, 300, "bye");
    // Hold-Off is option 4, uint 300 = 0x012c; then marker and "bye".
    EXPECT_EQ(encode(m), bytes({0x70, 0xe4, 0x42, 0x01, 0x2c, 0xff, 'b', 'y', 'e'}));
    EXPECT_EQ(parse_signal(m), ok(Release{std::nullopt, 300, "bye"}));
}

TEST(Release, BadValues) {
    Message long_hold_off(code::release);
    long_hold_off.add_option(signal_option::hold_off, bytes({1, 2, 3, 4, 5}));
    EXPECT_EQ(parse_signal(long_hold_off), bad_value(signal_option::hold_off));

    Message empty_address(code::release);
    empty_address.add_option(signal_option::alternative_address, Bytes{});
    EXPECT_EQ(parse_signal(empty_address), bad_value(signal_option::alternative_address));

    Message long_address(code::release);
    long_address.add_option(signal_option::alternative_address, std::string(256, 'a'));
    EXPECT_EQ(parse_signal(long_address), bad_value(signal_option::alternative_address));
}

TEST(Release, UnknownCriticalOption) {
    Message m = make_release("x", std::nullopt);
    m.add_option(3, "y");
    EXPECT_EQ(parse_signal(m), unknown_critical(3));
}

TEST(Release, FirstAlternativeAddressWins) {
    Message m(code::release);
    m.add_option(signal_option::alternative_address, "first");
    m.add_option(signal_option::alternative_address, "second");
    EXPECT_EQ(parse_signal(m), ok(Release{"first", std::nullopt, ""}));
}

// ---- Abort ------------------------------------------------------------------------------------

TEST(Abort, AllFields) {
    const Message m = make_abort(4, "Block-Wise not supported");
    EXPECT_EQ(m.code(), code::abort);
    EXPECT_EQ(encode(m).size(), encoded_size(m));
    EXPECT_EQ(parse_signal(over_the_wire(m)), ok(Abort{4, "Block-Wise not supported"}));
}

TEST(Abort, WireFormat) {
    EXPECT_EQ(encode(make_abort(std::nullopt, "x")), bytes({0x20, 0xe5, 0xff, 'x'}));
    EXPECT_EQ(encode(make_abort(65535, "")), bytes({0x30, 0xe5, 0x22, 0xff, 0xff}));
    EXPECT_EQ(parse_signal(make_abort(65535, "")), ok(Abort{65535, ""}));
    EXPECT_EQ(parse_signal(make_abort(std::nullopt, "")), ok(Abort{}));
}

TEST(Abort, BadCsmOptionAbove65535IsBadValue) {
    Message m(code::abort);
    m.add_uint_option(signal_option::bad_csm_option, 65536);
    EXPECT_EQ(parse_signal(m), bad_value(signal_option::bad_csm_option));
}

TEST(Abort, BadCsmOptionWithLeadingZerosIsAccepted) {
    Message m(code::abort);
    m.add_option(signal_option::bad_csm_option, bytes({0, 0, 0, 2}));
    EXPECT_EQ(parse_signal(m), ok(Abort{2, ""}));
}

TEST(Abort, UnknownElectiveIgnoredCriticalRejected) {
    Message elective = make_abort(std::nullopt, "d");
    elective.add_option(4, Bytes{});
    EXPECT_EQ(parse_signal(elective), ok(Abort{std::nullopt, "d"}));
    Message critical = make_abort(std::nullopt, "d");
    critical.add_option(17, Bytes{});
    EXPECT_EQ(parse_signal(critical), unknown_critical(17));
}

// ---- Unknown signal codes ---------------------------------------------------------------------

TEST(UnknownSignal, Code700And706To731) {
    std::vector<std::uint8_t> codes = {make_code(7, 0)};
    for (unsigned detail = 6; detail <= 31; ++detail)
        codes.push_back(make_code(7, detail));
    for (std::uint8_t c : codes) {
        EXPECT_EQ(parse_signal(Message(c)), unknown_critical(0)) << code_to_string(c);
    }
}

TEST(UnknownSignal, NonSignalingCodeIsNotASignal) {
    EXPECT_EQ(parse_signal(Message(code::get)), unknown_critical(0));
    EXPECT_EQ(parse_signal(Message(code::content)), unknown_critical(0));
}

TEST(SignalError, ErrorCodesUseTheCodecCategory) {
    Message m(code::csm);
    m.add_option(1, Bytes{});
    const Parsed parsed = parse_signal(m);
    ASSERT_TRUE(std::holds_alternative<SignalError>(parsed));
    const SignalError& e = std::get<SignalError>(parsed);
    EXPECT_EQ(e.error, CodecError::unknown_critical_signal_option);
    EXPECT_EQ(&e.error.category(), &codec_category());
    EXPECT_EQ(e.option, 1u);
}

}  // namespace
}  // namespace lwgate::coap
