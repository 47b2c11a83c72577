// RFC 8323 §3.2 framing: encoder, incremental decoder, parse_body.
//
// Expected wire bytes come from a reference builder written here from the RFC tables (and from
// literal byte tables for the boundaries), so encoder and decoder are not only checked against
// each other. Every decoder input is also fed split at every position and byte by byte.
#include <gtest/gtest.h>

#include <algorithm>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "lwgate/coap/tcp_codec.hpp"

namespace lwgate::coap {

void PrintTo(const Message& message, std::ostream* os);  // message_test.cpp
void PrintTo(const Token& token, std::ostream* os);      // message_test.cpp

void PrintTo(const DecodeFailure& f, std::ostream* os) {
    *os << "DecodeFailure{" << make_error_code(f.error).message() << ", fatal=" << f.fatal
        << ", has_header=" << f.has_header << ", code=" << code_to_string(f.code)
        << ", token=" << f.token.to_hex() << ", frame_size=" << f.frame_size << "}";
}

namespace {

using Results = std::vector<DecodeResult>;

Bytes bytes(std::initializer_list<int> values) {
    Bytes out;
    for (int v : values)
        out.push_back(static_cast<std::uint8_t>(v));
    return out;
}

Bytes cat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const Bytes& p : parts)
        out.insert(out.end(), p.begin(), p.end());
    return out;
}

Bytes pattern(std::size_t n, std::uint8_t seed = 0) {
    Bytes out(n);
    for (std::size_t i = 0; i < n; ++i)
        out[i] = static_cast<std::uint8_t>(seed + i * 7 + (i >> 8));
    return out;
}

// ---- Reference encoder (RFC 8323 §3.2, RFC 7252 §3.1), independent of the codec ----------------

// First byte (without TKL) and extended length for a frame whose Len is `len`.
Bytes ref_length_header(std::uint64_t len, std::size_t tkl) {
    Bytes out;
    if (len <= 12) {
        out.push_back(static_cast<std::uint8_t>(len << 4 | tkl));
    } else if (len <= 12 + 256) {
        out.push_back(static_cast<std::uint8_t>(13 << 4 | tkl));
        out.push_back(static_cast<std::uint8_t>(len - 13));
    } else if (len <= 268 + 65536) {
        out.push_back(static_cast<std::uint8_t>(14 << 4 | tkl));
        out.push_back(static_cast<std::uint8_t>((len - 269) >> 8));
        out.push_back(static_cast<std::uint8_t>((len - 269) & 0xff));
    } else {
        out.push_back(static_cast<std::uint8_t>(15 << 4 | tkl));
        const std::uint64_t e = len - 65805;
        for (int shift = 24; shift >= 0; shift -= 8)
            out.push_back(static_cast<std::uint8_t>(e >> shift));
    }
    return out;
}

Bytes ref_frame(std::uint8_t code, const Bytes& token, const Bytes& body) {
    Bytes out = ref_length_header(body.size(), token.size());
    out.push_back(code);
    out.insert(out.end(), token.begin(), token.end());
    out.insert(out.end(), body.begin(), body.end());
    return out;
}

// Nibble and extension bytes of one option delta or length.
std::pair<unsigned, Bytes> ref_option_field(std::uint32_t v) {
    if (v <= 12) return {v, {}};
    if (v <= 268) return {13, {static_cast<std::uint8_t>(v - 13)}};
    const std::uint32_t e = v - 269;
    return {14, {static_cast<std::uint8_t>(e >> 8), static_cast<std::uint8_t>(e & 0xff)}};
}

Bytes ref_option(std::uint32_t delta, const Bytes& value) {
    auto [dn, dext] = ref_option_field(delta);
    auto [ln, lext] = ref_option_field(static_cast<std::uint32_t>(value.size()));
    Bytes out{static_cast<std::uint8_t>(dn << 4 | ln)};
    out.insert(out.end(), dext.begin(), dext.end());
    out.insert(out.end(), lext.begin(), lext.end());
    out.insert(out.end(), value.begin(), value.end());
    return out;
}

Bytes ref_encode(const Message& m) {
    Bytes body;
    std::uint32_t previous = 0;
    for (const Option& o : m.options()) {
        const Bytes opt = ref_option(o.number - previous, o.value.to_bytes());
        body.insert(body.end(), opt.begin(), opt.end());
        previous = o.number;
    }
    if (!m.payload().empty()) {
        body.push_back(0xff);
        body.insert(body.end(), m.payload().begin(), m.payload().end());
    }
    const ByteView tok = m.token().bytes();
    return ref_frame(m.code(), Bytes(tok.begin(), tok.end()), body);
}

// ---- Decoder harness ---------------------------------------------------------------------------

struct Limits {
    std::size_t max_message_size = 1u << 20;
    std::uint64_t skip_limit = 16u << 20;
};

struct Outcome {
    Results results;
    std::size_t consumed = 0;
    bool idle = false;
    bool failed = false;
};

// Feeds `data` cut at `cuts` (ascending positions), looping over each chunk like a session does.
Outcome feed_in_chunks(ByteView data, const std::vector<std::size_t>& cuts, Limits limits) {
    TcpDecoder decoder(limits.max_message_size, limits.skip_limit);
    Outcome run;
    auto feed_chunk = [&](ByteView chunk) {
        while (!chunk.empty()) {
            DecodeStep step = decoder.feed(chunk);
            if (step.consumed > chunk.size()) {
                ADD_FAILURE() << "consumed " << step.consumed << " of " << chunk.size();
                return;
            }
            run.consumed += step.consumed;
            if (step.result) run.results.push_back(std::move(*step.result));
            if (step.consumed == 0) {
                if (step.result) ADD_FAILURE() << "result without consuming input";
                if (!decoder.failed()) ADD_FAILURE() << "decoder stalled without failing";
                return;
            }
            chunk = chunk.subspan(step.consumed);
        }
    };
    std::size_t begin = 0;
    for (std::size_t cut : cuts) {
        cut = std::clamp(cut, begin, data.size());
        feed_chunk(data.subspan(begin, cut - begin));
        begin = cut;
    }
    feed_chunk(data.subspan(begin));
    run.idle = decoder.idle();
    run.failed = decoder.failed();
    return run;
}

std::string cuts_to_string(const std::vector<std::size_t>& cuts) {
    std::string s = "cuts at";
    for (std::size_t c : cuts)
        s += " " + std::to_string(c);
    return s;
}

// Split points to try: all of them for inputs up to 4 KiB; for the 64 KiB boundary frames every
// position near the frame edges (where header, extended length, token and body meet) plus a
// stride through the middle, since all positions would cost O(n^2) copying.
std::vector<std::size_t> split_points(std::size_t n) {
    std::vector<std::size_t> points;
    if (n <= 4096) {
        for (std::size_t i = 1; i < n; ++i)
            points.push_back(i);
        return points;
    }
    for (std::size_t i = 1; i < n; ++i) {
        if (i < 96 || n - i < 96 || i % 509 == 0) points.push_back(i);
    }
    return points;
}

// Decodes `data` whole, at every split point, in three chunks (small inputs) and byte by byte,
// and requires the same outcome each time. Returns the whole-input run.
Outcome expect_split_invariant(ByteView data, const Results& expected, Limits limits = {},
                               bool expect_failed = false) {
    const Outcome whole = feed_in_chunks(data, {}, limits);
    EXPECT_EQ(whole.results, expected);
    EXPECT_EQ(whole.failed, expect_failed);
    EXPECT_EQ(whole.idle, !expect_failed);
    if (!expect_failed) {
        EXPECT_EQ(whole.consumed, data.size());
    }

    int mismatches = 0;
    auto check = [&](const std::vector<std::size_t>& cuts) {
        if (mismatches > 3) return;  // one broken split is enough to diagnose; keep output short
        const Outcome r = feed_in_chunks(data, cuts, limits);
        const bool same = r.results == whole.results && r.consumed == whole.consumed &&
                          r.idle == whole.idle && r.failed == whole.failed;
        if (!same) {
            ++mismatches;
            ADD_FAILURE() << cuts_to_string(cuts) << " (" << data.size()
                          << " bytes): " << testing::PrintToString(r.results)
                          << " consumed=" << r.consumed << " idle=" << r.idle
                          << " failed=" << r.failed << "; whole input gave "
                          << testing::PrintToString(whole.results)
                          << " consumed=" << whole.consumed;
        }
    };
    for (std::size_t i : split_points(data.size()))
        check({i});
    if (data.size() <= 48) {
        for (std::size_t i = 1; i < data.size(); ++i) {
            for (std::size_t j = i + 1; j < data.size(); ++j)
                check({i, j});
        }
    }
    std::vector<std::size_t> every_byte;
    for (std::size_t i = 1; i < data.size(); ++i)
        every_byte.push_back(i);
    check(every_byte);
    return whole;
}

DecodeFailure body_failure(CodecError e, std::uint8_t code, const Bytes& token,
                           std::uint64_t frame_size) {
    DecodeFailure f;
    f.error = e;
    f.fatal = false;
    f.has_header = true;
    f.code = code;
    f.token = Token(token);
    f.frame_size = frame_size;
    return f;
}

DecodeFailure fatal_failure(CodecError e, std::uint64_t frame_size) {
    DecodeFailure f;
    f.error = e;
    f.fatal = true;
    f.frame_size = frame_size;
    return f;
}

Message sample_message(std::uint8_t code_value, std::uint64_t token) {
    Message m(code_value, Token::from_u64(token));
    m.add_option(option::uri_path, "rd");
    m.add_uint_option(option::content_format, 40);
    m.add_option(option::uri_query, "ep=urn:dev:1");
    m.add_option(option::uri_query, "lt=300");
    m.set_payload("</1/0>,</3/0>");
    return m;
}

// ---- Known vectors ----------------------------------------------------------------------------

TEST(Encode, KnownVectors) {
    EXPECT_EQ(encode(Message(code::empty)), bytes({0x00, 0x00}));
    EXPECT_EQ(encode(Message(code::ping, Token(bytes({0x01, 0x02})))),
              bytes({0x02, 0xe2, 0x01, 0x02}));
    Message csm(code::csm);
    csm.add_uint_option(2, 1152);
    EXPECT_EQ(encode(csm), bytes({0x30, 0xe1, 0x22, 0x04, 0x80}));
    Message get(code::get, Token(bytes({0xaa})));
    get.add_option(option::uri_path, "rd");
    EXPECT_EQ(encode(get), bytes({0x31, 0x01, 0xaa, 0xb2, 'r', 'd'}));
    Message content(code::content);
    content.set_payload("hi");
    EXPECT_EQ(encode(content), bytes({0x30, 0x45, 0xff, 'h', 'i'}));
    // Repeated option: the second occurrence has delta 0.
    Message two(code::get);
    two.add_option(option::uri_path, "a");
    two.add_option(option::uri_path, "b");
    EXPECT_EQ(encode(two), bytes({0x40, 0x01, 0xb1, 'a', 0x01, 'b'}));
}

TEST(Decode, KnownVectors) {
    Message get(code::get, Token(bytes({0xaa})));
    get.add_option(option::uri_path, "rd");
    expect_split_invariant(bytes({0x31, 0x01, 0xaa, 0xb2, 'r', 'd'}), {get});

    Message content(code::content);
    content.set_payload("hi");
    expect_split_invariant(bytes({0x30, 0x45, 0xff, 'h', 'i'}), {content});
}

TEST(Encode, MatchesReferenceForSamples) {
    const Message samples[] = {
        Message(code::empty),
        sample_message(code::post, 0x1234),
        Message(code::pong, Token::from_u64(0xffffffffffffffff)),
    };
    for (const Message& m : samples) {
        EXPECT_EQ(encode(m), ref_encode(m)) << describe(m);
        EXPECT_EQ(encoded_size(m), ref_encode(m).size());
    }
}

TEST(Encode, EncodeIntoAppends) {
    const Message a = sample_message(code::post, 1);
    const Message b(code::ping, Token::from_u64(2));
    Bytes out{0xde, 0xad};
    encode_into(a, out);
    encode_into(b, out);
    EXPECT_EQ(out, cat({bytes({0xde, 0xad}), encode(a), encode(b)}));
    expect_split_invariant(ByteView(out).subspan(2), {a, b});
}

TEST(Encode, OverlongOptionValueIsTruncatedToTheLargestEncodable) {
    Message m(code::content);
    m.add_option(option::etag, pattern(65805));
    const Bytes wire = encode(m);
    EXPECT_EQ(wire.size(), encoded_size(m));
    Message expected(code::content);
    expected.add_option(option::etag, pattern(65804));
    EXPECT_EQ(wire, ref_encode(expected));
    const Outcome run = feed_in_chunks(wire, {}, {});
    EXPECT_EQ(run.results, Results{expected});
}

// ---- Frame length boundaries (RFC 8323 §3.2) --------------------------------------------------

struct LenCase {
    std::uint64_t len;  // the Len field value: options + marker + payload
    Bytes header;       // expected first byte (TKL 0) and extended length
};

void PrintTo(const LenCase& c, std::ostream* os) {
    *os << "Len=" << c.len;
}

class LenBoundary : public testing::TestWithParam<LenCase> {};

TEST_P(LenBoundary, EncodesMinimallyAndDecodesInAllSplits) {
    const LenCase& c = GetParam();
    const Bytes token = bytes({0x5a, 0xa5});
    Message m(code::content, Token(token));
    Bytes body;
    if (c.len > 0) {
        // Len = 1 (marker) + payload.
        m.set_payload(pattern(c.len - 1, 3));
        body = cat({bytes({0xff}), m.payload()});
    }
    Bytes header = c.header;
    header[0] |= 2;  // TKL
    const Bytes expected = cat({header, bytes({code::content}), token, body});

    EXPECT_EQ(ref_frame(code::content, token, body), expected) << "reference builder disagrees";
    EXPECT_EQ(encode(m), expected);
    EXPECT_EQ(encoded_size(m), expected.size());
    expect_split_invariant(expected, {m});
}

INSTANTIATE_TEST_SUITE_P(
    Tcp, LenBoundary,
    testing::Values(LenCase{0, bytes({0x00})}, LenCase{2, bytes({0x20})},
                    LenCase{12, bytes({0xc0})}, LenCase{13, bytes({0xd0, 0x00})},
                    LenCase{14, bytes({0xd0, 0x01})}, LenCase{267, bytes({0xd0, 0xfe})},
                    LenCase{268, bytes({0xd0, 0xff})}, LenCase{269, bytes({0xe0, 0x00, 0x00})},
                    LenCase{270, bytes({0xe0, 0x00, 0x01})},
                    LenCase{65803, bytes({0xe0, 0xff, 0xfe})},
                    LenCase{65804, bytes({0xe0, 0xff, 0xff})},
                    LenCase{65805, bytes({0xf0, 0x00, 0x00, 0x00, 0x00})},
                    LenCase{65806, bytes({0xf0, 0x00, 0x00, 0x00, 0x01})}));

// ---- Option delta and length boundaries (RFC 7252 §3.1) ---------------------------------------

struct OptionCase {
    std::uint16_t first;   // number of a preceding option (0 = none)
    std::uint16_t number;  // number of the option under test
    std::size_t length;    // its value length
    Bytes header;          // expected option header of the option under test
};

void PrintTo(const OptionCase& c, std::ostream* os) {
    *os << "first=" << c.first << " number=" << c.number << " length=" << c.length;
}

class OptionBoundary : public testing::TestWithParam<OptionCase> {};

TEST_P(OptionBoundary, EncodesMinimallyAndDecodesInAllSplits) {
    const OptionCase& c = GetParam();
    const Bytes token = bytes({0x77});
    Message m(code::put, Token(token));
    Bytes body;
    if (c.first != 0) {
        m.add_option(c.first, Bytes{});
        body = ref_option(c.first, {});
    }
    const Bytes value = pattern(c.length, 9);
    m.add_option(c.number, value);
    EXPECT_EQ(ref_option(c.number - c.first, value), cat({c.header, value}))
        << "reference builder disagrees";
    body = cat({body, c.header, value});
    const Bytes expected = ref_frame(code::put, token, body);

    EXPECT_EQ(encode(m), expected);
    EXPECT_EQ(encoded_size(m), expected.size());
    expect_split_invariant(expected, {m});
    EXPECT_EQ(parse_body(code::put, Token(token), body), (std::variant<Message, CodecError>(m)));
}

INSTANTIATE_TEST_SUITE_P(Delta, OptionBoundary,
                         testing::Values(OptionCase{0, 0, 0, bytes({0x00})},
                                         OptionCase{0, 12, 0, bytes({0xc0})},
                                         OptionCase{0, 13, 0, bytes({0xd0, 0x00})},
                                         OptionCase{0, 14, 0, bytes({0xd0, 0x01})},
                                         OptionCase{0, 268, 0, bytes({0xd0, 0xff})},
                                         OptionCase{0, 269, 0, bytes({0xe0, 0x00, 0x00})},
                                         OptionCase{0, 270, 0, bytes({0xe0, 0x00, 0x01})},
                                         OptionCase{0, 65535, 0, bytes({0xe0, 0xfe, 0xf2})},
                                         OptionCase{5, 5, 0, bytes({0x00})},
                                         OptionCase{5, 17, 0, bytes({0xc0})},
                                         OptionCase{5, 18, 0, bytes({0xd0, 0x00})},
                                         OptionCase{5, 273, 0, bytes({0xd0, 0xff})},
                                         OptionCase{5, 274, 0, bytes({0xe0, 0x00, 0x00})},
                                         OptionCase{1, 65535, 0, bytes({0xe0, 0xfe, 0xf1})}));

INSTANTIATE_TEST_SUITE_P(Length, OptionBoundary,
                         testing::Values(OptionCase{0, 1, 1, bytes({0x11})},
                                         OptionCase{0, 1, 12, bytes({0x1c})},
                                         OptionCase{0, 1, 13, bytes({0x1d, 0x00})},
                                         OptionCase{0, 1, 14, bytes({0x1d, 0x01})},
                                         OptionCase{0, 1, 268, bytes({0x1d, 0xff})},
                                         OptionCase{0, 1, 269, bytes({0x1e, 0x00, 0x00})},
                                         OptionCase{0, 1, 270, bytes({0x1e, 0x00, 0x01})},
                                         OptionCase{0, 1, 65804, bytes({0x1e, 0xff, 0xff})}));

// The delta extension precedes the length extension.
INSTANTIATE_TEST_SUITE_P(DeltaAndLength, OptionBoundary,
                         testing::Values(OptionCase{0, 14, 270, bytes({0xde, 0x01, 0x00, 0x01})},
                                         OptionCase{0, 270, 14, bytes({0xed, 0x00, 0x01, 0x01})},
                                         OptionCase{0, 13, 13, bytes({0xdd, 0x00, 0x00})},
                                         OptionCase{0, 269, 269,
                                                    bytes({0xee, 0x00, 0x00, 0x00, 0x00})}));

// ---- Token length -----------------------------------------------------------------------------

class TokenLength : public testing::TestWithParam<int> {};

TEST_P(TokenLength, ValidLengthsRoundTrip) {
    const auto tkl = static_cast<std::size_t>(GetParam());
    const Bytes token = pattern(tkl, 0x80);
    Message m(code::get, Token(token));
    m.add_option(option::uri_path, "x");
    const Bytes wire = ref_frame(code::get, token, ref_option(option::uri_path, {'x'}));
    EXPECT_EQ(wire[0] & 0x0f, static_cast<int>(tkl));
    EXPECT_EQ(encode(m), wire);
    expect_split_invariant(wire, {m});
    // Also with Len == 0, where the frame ends with the token.
    const Message bare(code::get, Token(token));
    expect_split_invariant(ref_frame(code::get, token, {}), {bare});
}

INSTANTIATE_TEST_SUITE_P(Tcp, TokenLength, testing::Range(0, 9));

class ReservedTokenLength : public testing::TestWithParam<int> {};

TEST_P(ReservedTokenLength, IsFatal) {
    const auto tkl = static_cast<std::uint8_t>(GetParam());
    // A valid-looking frame follows; it must never be decoded.
    const Bytes data =
        cat({bytes({0x10 | tkl, code::get}), pattern(15), encode(Message(code::get))});
    const Outcome run = expect_split_invariant(
        data, {fatal_failure(CodecError::invalid_token_length, 0)}, {}, true);
    EXPECT_EQ(run.consumed, 1u);

    TcpDecoder decoder;
    const DecodeStep step = decoder.feed(data);
    EXPECT_EQ(step.consumed, 1u);
    ASSERT_TRUE(step.result);
    EXPECT_TRUE(decoder.failed());
    EXPECT_FALSE(decoder.idle());
    const DecodeStep after = decoder.feed(data);
    EXPECT_EQ(after.consumed, 0u);
    EXPECT_FALSE(after.result);
}

INSTANTIATE_TEST_SUITE_P(Tcp, ReservedTokenLength, testing::Range(9, 16));

// ---- Streams of several frames ----------------------------------------------------------------

TEST(Decode, ConcatenatedFramesInAllSplits) {
    Message big(code::content, Token::from_u64(0xabcdef));
    big.set_payload(pattern(300));
    Message csm(code::csm);
    csm.add_uint_option(2, 4096);
    csm.add_option(4, Bytes{});
    const Results messages = {Message(code::empty),
                              sample_message(code::post, 7),
                              big,
                              csm,
                              Message(code::ping, Token::from_u64(1)),
                              Message(code::pong, Token::from_u64(1)),
                              sample_message(code::changed, 0x0102030405060708ULL)};
    Bytes stream;
    for (const DecodeResult& r : messages)
        encode_into(std::get<Message>(r), stream);
    expect_split_invariant(stream, messages);
}

TEST(Decode, SmallConcatenatedFramesInAllThreeChunkSplits) {
    const Message a(code::ping, Token::from_u64(0x0102));
    Message b(code::get, Token::from_u64(3));
    b.add_option(option::uri_path, "a");
    Message c(code::content);
    c.set_payload("xyz");
    const Bytes stream = cat({encode(a), encode(b), encode(Message(code::empty)), encode(c)});
    ASSERT_LE(stream.size(), 48u);  // the harness tries all three-chunk splits up to this size
    expect_split_invariant(stream, {a, b, Message(code::empty), c});
}

TEST(Decode, AtMostOneResultPerFeed) {
    const Bytes stream = cat(
        {encode(Message(code::empty)), encode(Message(code::ping)), encode(Message(code::pong))});
    TcpDecoder decoder;
    ByteView rest(stream);
    for (std::uint8_t expected_code : {code::empty, code::ping, code::pong}) {
        const DecodeStep step = decoder.feed(rest);
        EXPECT_EQ(step.consumed, 2u);
        ASSERT_TRUE(step.result);
        ASSERT_TRUE(std::holds_alternative<Message>(*step.result));
        EXPECT_EQ(std::get<Message>(*step.result).code(), expected_code);
        EXPECT_TRUE(decoder.idle());
        rest = rest.subspan(step.consumed);
    }
    EXPECT_TRUE(rest.empty());
}

TEST(Decode, EmptyInputConsumesNothing) {
    TcpDecoder decoder;
    const DecodeStep step = decoder.feed({});
    EXPECT_EQ(step.consumed, 0u);
    EXPECT_FALSE(step.result);
    EXPECT_TRUE(decoder.idle());
    EXPECT_FALSE(decoder.failed());
}

TEST(Decode, DefaultLimits) {
    TcpDecoder decoder;
    EXPECT_EQ(decoder.max_message_size(), 1152u);
    EXPECT_EQ(TcpDecoder(64).max_message_size(), 64u);
}

// ---- Truncation -------------------------------------------------------------------------------

TEST(Decode, EveryProperPrefixWaitsForMore) {
    Message big(code::content, Token::from_u64(0x11223344));
    big.add_option(300, pattern(20));
    big.set_payload(pattern(400));
    for (const Message& m : {Message(code::empty), sample_message(code::get, 0x99), big}) {
        const Bytes wire = encode(m);
        for (std::size_t n = 1; n < wire.size(); ++n) {
            TcpDecoder decoder;
            const DecodeStep step = decoder.feed(ByteView(wire).first(n));
            ASSERT_EQ(step.consumed, n) << describe(m) << " prefix " << n;
            ASSERT_FALSE(step.result) << describe(m) << " prefix " << n;
            ASSERT_FALSE(decoder.idle()) << describe(m) << " prefix " << n;
            ASSERT_FALSE(decoder.failed());
            const DecodeStep rest = decoder.feed(ByteView(wire).subspan(n));
            ASSERT_EQ(rest.consumed, wire.size() - n);
            ASSERT_TRUE(rest.result);
            ASSERT_EQ(*rest.result, DecodeResult(m));
            ASSERT_TRUE(decoder.idle());
        }
    }
}

// ---- Malformed bodies: non-fatal, reported after the frame, with code and token ---------------

struct BadBody {
    const char* name;
    Bytes body;
    CodecError error;
};

void PrintTo(const BadBody& c, std::ostream* os) {
    *os << c.name;
}

class MalformedBody : public testing::TestWithParam<BadBody> {};

TEST_P(MalformedBody, ReportedWithHeaderThenNextFrameDecodes) {
    const BadBody& c = GetParam();
    const Bytes token = bytes({0xc0, 0xff, 0xee});
    const Bytes bad = ref_frame(code::post, token, c.body);
    const Message next = sample_message(code::get, 42);
    const Bytes stream = cat({bad, encode(next)});
    expect_split_invariant(stream, {body_failure(c.error, code::post, token, bad.size()), next});
    EXPECT_EQ(parse_body(code::post, Token(token), c.body),
              (std::variant<Message, CodecError>(c.error)));
}

INSTANTIATE_TEST_SUITE_P(
    Tcp, MalformedBody,
    testing::Values(
        BadBody{"delta_nibble_15", bytes({0xf0}), CodecError::invalid_option},
        BadBody{"delta_nibble_15_with_length", bytes({0xf1, 0x00}), CodecError::invalid_option},
        BadBody{"length_nibble_15", bytes({0x0f}), CodecError::invalid_option},
        BadBody{"length_nibble_15_after_delta", bytes({0x1f, 0x00}), CodecError::invalid_option},
        // Enough bytes follow that a decoder reading nibble 15 like 14 would find a valid option.
        BadBody{"delta_nibble_15_then_bytes", bytes({0xf0, 0x00, 0x00}),
                CodecError::invalid_option},
        BadBody{"length_nibble_15_then_bytes", cat({bytes({0x0f, 0x00, 0x00}), pattern(269)}),
                CodecError::invalid_option},
        BadBody{"nibble_15_after_valid_option", bytes({0xb1, 'a', 0x3f}),
                CodecError::invalid_option},
        BadBody{"value_past_end", bytes({0x03, 'a'}), CodecError::invalid_option},
        BadBody{"value_past_end_by_one", bytes({0xb3, 'a', 'b'}), CodecError::invalid_option},
        BadBody{"long_value_past_end", bytes({0x0d, 0x00, 'a'}), CodecError::invalid_option},
        BadBody{"delta_ext1_missing", bytes({0xd0}), CodecError::invalid_option},
        BadBody{"delta_ext2_half", bytes({0xe0, 0x01}), CodecError::invalid_option},
        BadBody{"length_ext1_missing", bytes({0x0d}), CodecError::invalid_option},
        BadBody{"length_ext2_half", bytes({0x0e, 0x00}), CodecError::invalid_option},
        BadBody{"length_ext_after_delta_ext_missing", bytes({0xdd, 0x00}),
                CodecError::invalid_option},
        BadBody{"number_65536", bytes({0xe0, 0xfe, 0xf3}), CodecError::option_number_overflow},
        BadBody{"max_delta", bytes({0xe0, 0xff, 0xff}), CodecError::option_number_overflow},
        BadBody{"accumulated_past_65535", bytes({0xe0, 0xfe, 0xf2, 0x10}),
                CodecError::option_number_overflow},
        BadBody{"accumulated_ext", bytes({0xe0, 0x80, 0x00, 0xe0, 0x80, 0x00}),
                CodecError::option_number_overflow},
        BadBody{"marker_only", bytes({0xff}), CodecError::empty_payload},
        BadBody{"marker_after_option", bytes({0xb2, 'r', 'd', 0xff}), CodecError::empty_payload}),
    [](const testing::TestParamInfo<BadBody>& info) { return std::string(info.param.name); });

TEST(ParseBody, EdgeCasesThatAreValid) {
    const Token token = Token::from_u64(5);
    // Option 65535 exactly, then payload.
    Message max_number(code::get, token);
    max_number.add_option(65535, Bytes{});
    max_number.set_payload(bytes({0x00}));
    EXPECT_EQ(parse_body(code::get, token, bytes({0xe0, 0xfe, 0xf2, 0xff, 0x00})),
              (std::variant<Message, CodecError>(max_number)));
    // A payload may contain 0xff bytes and look like options.
    Message tricky(code::content, token);
    tricky.set_payload(bytes({0xff, 0xf0, 0x0f}));
    EXPECT_EQ(parse_body(code::content, token, bytes({0xff, 0xff, 0xf0, 0x0f})),
              (std::variant<Message, CodecError>(tricky)));
    // Empty body.
    EXPECT_EQ(parse_body(code::get, token, {}),
              (std::variant<Message, CodecError>(Message(code::get, token))));
    // Repeated options keep wire order.
    Message repeated(code::get, token);
    repeated.add_option(11, "b");
    repeated.add_option(11, "a");
    EXPECT_EQ(parse_body(code::get, token, bytes({0xb1, 'b', 0x01, 'a'})),
              (std::variant<Message, CodecError>(repeated)));
}

// ---- Size limits ------------------------------------------------------------------------------

TEST(Limits, FrameOfExactlyMaxSizeIsAccepted) {
    Message m(code::content, Token::from_u64(0x0102));
    m.set_payload(pattern(50));
    const Bytes wire = encode(m);
    expect_split_invariant(wire, {m}, Limits{wire.size(), 1000});
}

TEST(Limits, OversizeIsReportedSkippedAndTheNextFrameDecodes) {
    Message m(code::content, Token::from_u64(0x0102));
    m.set_payload(pattern(50));
    const Bytes oversize = encode(m);
    const Message next = sample_message(code::get, 3);
    const Bytes stream = cat({oversize, encode(next), oversize, encode(Message(code::empty))});
    const Limits limits{oversize.size() - 1, 1000};
    ASSERT_LE(encode(next).size(), limits.max_message_size);
    const DecodeFailure failure =
        body_failure(CodecError::message_too_large, code::content, bytes({1, 2}), oversize.size());
    expect_split_invariant(stream, {failure, next, failure, Message(code::empty)}, limits);
}

TEST(Limits, OversizeIsReportedAsSoonAsTheTokenIsRead) {
    Message m(code::content, Token::from_u64(0xa1a2a3));
    m.set_payload(pattern(2000));
    const Bytes wire = encode(m);  // 0xe3 ext ext code token(3) body
    const std::size_t header = 1 + 2 + 1 + 3;
    TcpDecoder decoder(1152, 1u << 20);

    const DecodeStep first = decoder.feed(ByteView(wire).first(header));
    EXPECT_EQ(first.consumed, header);
    ASSERT_TRUE(first.result);
    EXPECT_EQ(*first.result, DecodeResult(body_failure(CodecError::message_too_large, code::content,
                                                       bytes({0xa1, 0xa2, 0xa3}), wire.size())));
    EXPECT_FALSE(decoder.idle());  // still skipping the body

    // The body is consumed without a result, then the decoder is at a boundary again.
    const DecodeStep skip = decoder.feed(ByteView(wire).subspan(header, 1000));
    EXPECT_EQ(skip.consumed, 1000u);
    EXPECT_FALSE(skip.result);
    EXPECT_FALSE(decoder.idle());
    const DecodeStep rest = decoder.feed(ByteView(wire).subspan(header + 1000));
    EXPECT_EQ(rest.consumed, wire.size() - header - 1000);
    EXPECT_FALSE(rest.result);
    EXPECT_TRUE(decoder.idle());
}

TEST(Limits, OversizeWithEmptyBody) {
    // Len 0 but header + 8-byte token exceed a tiny maximum: nothing to skip.
    const Bytes token = pattern(8, 1);
    const Bytes stream = cat({ref_frame(code::get, token, {}), encode(Message(code::empty))});
    expect_split_invariant(
        stream, {body_failure(CodecError::message_too_large, code::get, token, 10), Message()},
        Limits{9, 100});
}

TEST(Limits, OversizeWithEmptyBodyLeavesTheDecoderIdle) {
    TcpDecoder decoder(4);
    const Bytes frame = ref_frame(code::get, bytes({1, 2, 3}), {});
    const DecodeStep step = decoder.feed(frame);
    EXPECT_EQ(step.consumed, frame.size());
    ASSERT_TRUE(step.result);
    EXPECT_EQ(*step.result, DecodeResult(body_failure(CodecError::message_too_large, code::get,
                                                      bytes({1, 2, 3}), 5)));
    EXPECT_TRUE(decoder.idle());
}

TEST(Limits, SkipLimitIsInclusive) {
    const Bytes token = bytes({0x01});
    const Bytes at_limit = ref_frame(code::post, token, cat({bytes({0xff}), pattern(99)}));
    expect_split_invariant(
        cat({at_limit, encode(Message(code::ping))}),
        {body_failure(CodecError::message_too_large, code::post, token, at_limit.size()),
         Message(code::ping)},
        Limits{50, 100});

    const Bytes over = ref_frame(code::post, token, cat({bytes({0xff}), pattern(100)}));
    const Outcome run = expect_split_invariant(
        cat({over, encode(Message(code::ping))}),
        {fatal_failure(CodecError::frame_too_large, over.size())}, Limits{50, 100}, true);
    EXPECT_EQ(run.consumed, 2u);  // first byte and the one extended length byte
}

TEST(Limits, FrameTooLargeWithLiteralLength) {
    const Bytes frame = ref_frame(code::get, bytes({7, 7}), bytes({0xb1, 'a', 0xb1, 'b'}));
    expect_split_invariant(frame, {fatal_failure(CodecError::frame_too_large, frame.size())},
                           Limits{1000, 3}, true);
}

TEST(Limits, FrameTooLargeWithFourByteLength) {
    // Len = 2^32 - 1 + 65805: must be rejected from the header alone, without allocating.
    const Bytes header = bytes({0xf8, 0xff, 0xff, 0xff, 0xff});
    const Bytes stream = cat({header, bytes({code::get}), pattern(8), pattern(100)});
    const Outcome run = expect_split_invariant(
        stream, {fatal_failure(CodecError::frame_too_large, 1 + 4 + 1 + 8 + 0xffffffffULL + 65805)},
        Limits{}, true);
    EXPECT_EQ(run.consumed, header.size());
}

TEST(Limits, HugeOversizeFrameIsSkippedNotBuffered) {
    // Within the skip limit, a 4 GiB frame is reported after its token and then skipped; the
    // decoder must not try to allocate it (ASan would flag a 4 GiB allocation).
    TcpDecoder decoder(1152, std::uint64_t{1} << 40);
    const Bytes head = cat({bytes({0xf1, 0xff, 0xff, 0xff, 0xff, code::put, 0x42})});
    const DecodeStep step = decoder.feed(head);
    EXPECT_EQ(step.consumed, head.size());
    ASSERT_TRUE(step.result);
    EXPECT_EQ(*step.result,
              DecodeResult(body_failure(CodecError::message_too_large, code::put, bytes({0x42}),
                                        1 + 4 + 1 + 1 + 0xffffffffULL + 65805)));
    const Bytes chunk(1 << 20, 0xff);
    for (int i = 0; i < 8; ++i) {
        const DecodeStep s = decoder.feed(chunk);
        ASSERT_EQ(s.consumed, chunk.size());
        ASSERT_FALSE(s.result);
    }
    EXPECT_FALSE(decoder.idle());
    EXPECT_FALSE(decoder.failed());
}

TEST(Limits, LargeFrameWithinMaximumDecodes) {
    Message m(code::content, Token::from_u64(9));
    m.add_option(option::etag, pattern(8));
    m.set_payload(pattern(100000));
    const Bytes wire = encode(m);
    EXPECT_EQ(wire, ref_encode(m));
    expect_split_invariant(wire, {m}, Limits{wire.size(), 1u << 20});
}

TEST(Limits, ZeroMaximumRejectsEverythingButKeepsFraming) {
    const Bytes stream = cat({encode(Message(code::ping)), encode(sample_message(code::get, 1))});
    const Results expected = {body_failure(CodecError::message_too_large, code::ping, {}, 2),
                              body_failure(CodecError::message_too_large, code::get, bytes({1}),
                                           encode(sample_message(code::get, 1)).size())};
    expect_split_invariant(stream, expected, Limits{0, 1000});
}

// ---- Mixed stream: good, malformed, oversize and good again ------------------------------------

TEST(Decode, MixedStreamInAllSplits) {
    const Message a = sample_message(code::post, 0x0a);
    const Bytes bad_token = bytes({0xbb});
    const Bytes malformed = ref_frame(code::get, bad_token, bytes({0xb1, 'x', 0xff}));
    Message big(code::content, Token::from_u64(0x0c));
    big.set_payload(pattern(200));
    const Bytes oversize = encode(big);
    const Message d(code::pong, Token::from_u64(0x0d));
    const Bytes stream = cat({encode(a), malformed, oversize, encode(d)});
    expect_split_invariant(
        stream,
        {a, body_failure(CodecError::empty_payload, code::get, bad_token, malformed.size()),
         body_failure(CodecError::message_too_large, code::content, bytes({0x0c}), oversize.size()),
         d},
        Limits{128, 4096});
}

TEST(Decode, NothingIsConsumedAfterAFatalError) {
    const Bytes stream =
        cat({encode(Message(code::ping)), bytes({0x0c}), encode(Message(code::pong))});
    TcpDecoder decoder;
    const DecodeStep ping = decoder.feed(stream);
    EXPECT_EQ(ping.consumed, 2u);
    const DecodeStep bad = decoder.feed(ByteView(stream).subspan(2));
    EXPECT_EQ(bad.consumed, 1u);
    ASSERT_TRUE(bad.result);
    EXPECT_EQ(*bad.result, DecodeResult(fatal_failure(CodecError::invalid_token_length, 0)));
    EXPECT_TRUE(decoder.failed());
    for (int i = 0; i < 3; ++i) {
        const DecodeStep after = decoder.feed(ByteView(stream).subspan(3));
        EXPECT_EQ(after.consumed, 0u);
        EXPECT_FALSE(after.result);
    }
    EXPECT_TRUE(decoder.failed());
    EXPECT_FALSE(decoder.idle());
}

// ---- Randomized round trips against the reference encoder --------------------------------------

Message random_message(std::mt19937& rng) {
    auto pick = [&](std::size_t n) {
        return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
    };
    static constexpr std::uint16_t interesting_numbers[] = {
        0, 1, 2, 4, 11, 12, 13, 14, 15, 60, 268, 269, 270, 281, 282, 537, 538, 65000, 65535};
    static constexpr std::size_t interesting_lengths[] = {0, 1, 2, 4, 8, 12, 13, 14, 268, 269, 270};

    Message m(static_cast<std::uint8_t>(pick(256)),
              Token(pattern(pick(9), static_cast<std::uint8_t>(pick(256)))));
    const std::size_t count = pick(8);
    for (std::size_t i = 0; i < count; ++i) {
        const std::uint16_t number = pick(2)
                                         ? interesting_numbers[pick(std::size(interesting_numbers))]
                                         : static_cast<std::uint16_t>(pick(65536));
        const std::size_t length =
            pick(3) ? pick(20) : interesting_lengths[pick(std::size(interesting_lengths))];
        m.add_option(number, pattern(length, static_cast<std::uint8_t>(pick(256))));
    }
    if (pick(3) != 0) {
        const std::size_t length = pick(4) ? pick(40) : 200 + pick(400);
        m.set_payload(pattern(length, static_cast<std::uint8_t>(pick(256))));
    }
    return m;
}

TEST(RoundTrip, RandomMessagesMatchReferenceAndSurviveRandomSplits) {
    std::mt19937 rng(20240521);
    for (int iteration = 0; iteration < 400; ++iteration) {
        const Message m = random_message(rng);
        const Bytes wire = encode(m);
        ASSERT_EQ(wire, ref_encode(m)) << describe(m);
        ASSERT_EQ(encoded_size(m), wire.size());

        // Three frames back to back, cut at random places.
        const Bytes stream = cat({wire, wire, wire});
        std::vector<std::size_t> cuts;
        for (std::size_t pos = 0;;) {
            pos += 1 + std::uniform_int_distribution<std::size_t>(0, wire.size())(rng);
            if (pos >= stream.size()) break;
            cuts.push_back(pos);
        }
        const Outcome run = feed_in_chunks(stream, cuts, {});
        ASSERT_EQ(run.results, (Results{m, m, m})) << describe(m) << " " << cuts_to_string(cuts);
        ASSERT_TRUE(run.idle);
    }
}

TEST(RoundTrip, EveryTokenLengthWithEveryFrameLengthForm) {
    for (std::size_t tkl = 0; tkl <= 8; ++tkl) {
        for (std::size_t payload : {0u, 11u, 12u, 267u, 268u, 65803u, 65804u}) {
            Message m(code::content, Token(pattern(tkl, 0xf0)));
            m.set_payload(pattern(payload));
            const Bytes wire = encode(m);
            ASSERT_EQ(wire, ref_encode(m)) << tkl << " " << payload;
            const Outcome run = feed_in_chunks(wire, {1, 2, 3, 4, 5, 6}, {});
            ASSERT_EQ(run.results, Results{m}) << tkl << " " << payload;
        }
    }
}

// decode_frame(): one whole frame back into the message encode() wrote, nothing else.
TEST(DecodeFrame, RoundTripsAndRefusesAnythingButOneWholeFrame) {
    Message m(code::content, Token::from_u64(0x0102030405));
    m.add_option(option::content_format, encode_uint(110));
    m.set_payload(std::string_view("{\"n\":\"3/0/0\",\"vs\":\"lwgate\"}"));
    const Bytes frame = encode(m);
    auto back = decode_frame(frame);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->code(), m.code());
    EXPECT_EQ(back->token(), m.token());
    EXPECT_EQ(back->payload(), m.payload());
    ASSERT_EQ(back->options().size(), 1u);
    EXPECT_EQ(back->options()[0].value, m.options()[0].value);

    for (std::size_t cut = 0; cut < frame.size(); ++cut) {
        EXPECT_FALSE(decode_frame(ByteView(frame).first(cut))) << "truncated at " << cut;
    }
    Bytes trailing = frame;
    trailing.push_back(0);
    EXPECT_FALSE(decode_frame(trailing));
    Bytes two = frame;
    two.insert(two.end(), frame.begin(), frame.end());
    EXPECT_FALSE(decode_frame(two));
    EXPECT_FALSE(decode_frame(Bytes{0xFF, 0xFF, 0xFF}));
}

}  // namespace
}  // namespace lwgate::coap
