// Message model, Token, uint options, describe() and the error category.
#include <gtest/gtest.h>

#include <ostream>
#include <set>
#include <string>
#include <system_error>

#include "lwgate/coap/code.hpp"
#include "lwgate/coap/error.hpp"
#include "lwgate/coap/message.hpp"
#include "lwgate/coap/option.hpp"

namespace lwgate::coap {

// gtest printers for the codec types, shared by every test file of unit_coap (the others declare
// them) so that all translation units print these types the same way.
void PrintTo(const Message& message, std::ostream* os) {
    *os << describe(message);
    const Bytes& payload = message.payload();
    if (payload.empty()) return;
    static constexpr char digits[] = "0123456789abcdef";
    *os << " payload=";
    const std::size_t shown = std::min<std::size_t>(payload.size(), 16);
    for (std::size_t i = 0; i < shown; ++i)
        *os << digits[payload[i] >> 4] << digits[payload[i] & 15];
    if (payload.size() > shown) *os << "...";
}

void PrintTo(const Token& token, std::ostream* os) {
    *os << "Token{" << token.to_hex() << "}";
}

namespace {

Bytes bytes(std::initializer_list<int> values) {
    Bytes out;
    for (int v : values)
        out.push_back(static_cast<std::uint8_t>(v));
    return out;
}

Bytes to_bytes(ByteView view) {
    return Bytes(view.begin(), view.end());
}

std::vector<std::uint16_t> numbers(const Message& m) {
    std::vector<std::uint16_t> out;
    for (const Option& o : m.options())
        out.push_back(o.number);
    return out;
}

TEST(Code, ClassAndDetail) {
    EXPECT_EQ(make_code(2, 5), 0x45);
    EXPECT_EQ(code_class(code::content), 2u);
    EXPECT_EQ(code_detail(code::content), 5u);
    EXPECT_TRUE(is_request(code::get));
    EXPECT_FALSE(is_request(code::empty));
    EXPECT_TRUE(is_response(code::not_found));
    EXPECT_FALSE(is_response(code::csm));
    EXPECT_TRUE(is_signaling(code::abort));
    EXPECT_FALSE(is_signaling(code::gateway_timeout));
}

TEST(Code, ToString) {
    EXPECT_EQ(code_to_string(code::empty), "0.00");
    EXPECT_EQ(code_to_string(code::get), "0.01");
    EXPECT_EQ(code_to_string(code::content), "2.05");
    EXPECT_EQ(code_to_string(code::continue_), "2.31");
    EXPECT_EQ(code_to_string(code::request_entity_too_large), "4.13");
    EXPECT_EQ(code_to_string(code::service_unavailable), "5.03");
    EXPECT_EQ(code_to_string(code::ping), "7.02");
    EXPECT_EQ(code_to_string(0xff), "7.31");
}

TEST(Token, DefaultIsEmpty) {
    Token t;
    EXPECT_TRUE(t.empty());
    EXPECT_EQ(t.size(), 0u);
    EXPECT_EQ(t.to_hex(), "");
}

TEST(Token, FromBytes) {
    const Bytes b = bytes({0x0a, 0x1b, 0xff});
    Token t(b);
    EXPECT_EQ(t.size(), 3u);
    EXPECT_EQ(to_bytes(t.bytes()), b);
    EXPECT_EQ(t.to_hex(), "0a1bff");
}

TEST(Token, TruncatesToEightBytes) {
    const Bytes b = bytes({1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
    Token t(b);
    EXPECT_EQ(t.size(), 8u);
    EXPECT_EQ(to_bytes(t.bytes()), bytes({1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST(Token, FromU64IsBigEndianShortest) {
    EXPECT_TRUE(Token::from_u64(0).empty());
    EXPECT_EQ(to_bytes(Token::from_u64(1).bytes()), bytes({0x01}));
    EXPECT_EQ(to_bytes(Token::from_u64(0xff).bytes()), bytes({0xff}));
    EXPECT_EQ(to_bytes(Token::from_u64(0x100).bytes()), bytes({0x01, 0x00}));
    EXPECT_EQ(to_bytes(Token::from_u64(0x0102030405).bytes()), bytes({1, 2, 3, 4, 5}));
    EXPECT_EQ(Token::from_u64(0xffffffffffffffffULL).to_hex(), "ffffffffffffffff");
    EXPECT_EQ(Token::from_u64(0x8000000000000000ULL).to_hex(), "8000000000000000");
}

TEST(Token, Equality) {
    EXPECT_EQ(Token::from_u64(0x1234), Token(bytes({0x12, 0x34})));
    EXPECT_NE(Token(bytes({0x00, 0x12})), Token(bytes({0x12})));
    EXPECT_NE(Token(bytes({0x00})), Token());
}

TEST(Message, ConstructionAndAccessors) {
    Message m(code::get, Token::from_u64(7));
    EXPECT_EQ(m.code(), code::get);
    EXPECT_EQ(m.token(), Token::from_u64(7));
    m.set_code(code::post);
    m.set_token(Token::from_u64(9));
    EXPECT_EQ(m.code(), code::post);
    EXPECT_EQ(m.token().to_hex(), "09");
    EXPECT_TRUE(m.options().empty());
    EXPECT_TRUE(m.payload().empty());
}

TEST(Message, OptionsStaySortedAndStable) {
    Message m(code::get);
    m.add_option(option::uri_query, "q=1");
    m.add_option(option::uri_path, "rd");
    m.add_option(option::content_format, Bytes{});
    m.add_option(option::uri_path, "ep");
    m.add_option(option::uri_host, "h");
    m.add_option(option::uri_path, "x");
    m.add_option(option::uri_query, "q=2");
    EXPECT_EQ(numbers(m), (std::vector<std::uint16_t>{3, 11, 11, 11, 12, 15, 15}));
    auto paths = m.find_options(option::uri_path);
    ASSERT_EQ(paths.size(), 3u);
    EXPECT_EQ(paths[0]->value, bytes({'r', 'd'}));
    EXPECT_EQ(paths[1]->value, bytes({'e', 'p'}));
    EXPECT_EQ(paths[2]->value, bytes({'x'}));
    auto queries = m.find_options(option::uri_query);
    ASSERT_EQ(queries.size(), 2u);
    EXPECT_EQ(queries[0]->value, bytes({'q', '=', '1'}));
    EXPECT_EQ(queries[1]->value, bytes({'q', '=', '2'}));
}

TEST(Message, FindOptionReturnsFirstOrNull) {
    Message m(code::get);
    EXPECT_EQ(m.find_option(11), nullptr);
    m.add_option(11, "a");
    m.add_option(11, "b");
    m.add_option(65535, "z");
    m.add_option(0, "zero");
    ASSERT_NE(m.find_option(11), nullptr);
    EXPECT_EQ(m.find_option(11)->value, bytes({'a'}));
    ASSERT_NE(m.find_option(65535), nullptr);
    ASSERT_NE(m.find_option(0), nullptr);
    EXPECT_EQ(m.find_option(12), nullptr);
    EXPECT_EQ(m.find_option(10), nullptr);
    EXPECT_TRUE(m.find_options(12).empty());
}

TEST(Message, RemoveOptions) {
    Message m(code::get);
    m.add_option(11, "a");
    m.add_option(12, Bytes{});
    m.add_option(11, "b");
    m.add_option(15, "q");
    m.remove_options(11);
    EXPECT_EQ(numbers(m), (std::vector<std::uint16_t>{12, 15}));
    m.remove_options(99);
    EXPECT_EQ(numbers(m), (std::vector<std::uint16_t>{12, 15}));
}

TEST(Message, UintOptionMinimalEncoding) {
    struct Case {
        std::uint32_t value;
        Bytes wire;
    };
    const Case cases[] = {
        {0, {}},
        {1, bytes({0x01})},
        {255, bytes({0xff})},
        {256, bytes({0x01, 0x00})},
        {0xffff, bytes({0xff, 0xff})},
        {0x10000, bytes({0x01, 0x00, 0x00})},
        {0xffffff, bytes({0xff, 0xff, 0xff})},
        {0x1000000, bytes({0x01, 0x00, 0x00, 0x00})},
        {0xffffffff, bytes({0xff, 0xff, 0xff, 0xff})},
    };
    for (const Case& c : cases) {
        Message m(code::get);
        m.add_uint_option(option::content_format, c.value);
        ASSERT_NE(m.find_option(option::content_format), nullptr);
        EXPECT_EQ(m.find_option(option::content_format)->value, c.wire) << c.value;
        EXPECT_EQ(m.uint_option(option::content_format), c.value);
        EXPECT_EQ(encode_uint(c.value), c.wire);
        EXPECT_EQ(decode_uint(c.wire), c.value);
    }
}

TEST(Message, UintOptionMissingOrTooLong) {
    Message m(code::get);
    EXPECT_EQ(m.uint_option(option::max_age), std::nullopt);
    m.add_option(option::max_age, bytes({1, 2, 3, 4, 5}));
    EXPECT_EQ(m.uint_option(option::max_age), std::nullopt);
}

TEST(DecodeUint, AcceptsLeadingZeros) {
    EXPECT_EQ(decode_uint(Bytes{}), 0u);
    EXPECT_EQ(decode_uint(bytes({0x00})), 0u);
    EXPECT_EQ(decode_uint(bytes({0x00, 0x00, 0x00, 0x2a})), 42u);
    EXPECT_EQ(decode_uint(bytes({0x12, 0x34, 0x56})), 0x123456u);
    EXPECT_EQ(decode_uint(bytes({0, 0, 0, 0, 1})), std::nullopt);
}

TEST(Message, PayloadSetters) {
    Message m(code::content);
    m.set_payload("</1/0>");
    EXPECT_EQ(m.payload(), bytes({'<', '/', '1', '/', '0', '>'}));
    m.set_payload(bytes({0x00, 0xff}));
    EXPECT_EQ(m.payload(), bytes({0x00, 0xff}));
    m.payload().push_back(1);
    EXPECT_EQ(m.payload().size(), 3u);
    m.set_payload(std::string_view{});
    EXPECT_TRUE(m.payload().empty());
}

TEST(Message, Equality) {
    Message a(code::get, Token::from_u64(1));
    a.add_option(11, "rd");
    Message b = a;
    EXPECT_EQ(a, b);
    b.add_option(11, "x");
    EXPECT_NE(a, b);
    b = a;
    b.set_payload("p");
    EXPECT_NE(a, b);
    b = a;
    b.set_token(Token::from_u64(2));
    EXPECT_NE(a, b);
    b = a;
    b.set_code(code::put);
    EXPECT_NE(a, b);
}

TEST(Describe, DocumentedExample) {
    Message m(code::ping, Token(bytes({0x0a, 0x1b})));
    m.add_option(2, Bytes{});
    EXPECT_EQ(describe(m), "7.02 token=0a1b opts=[2:'']");
}

TEST(Describe, TextBinaryUintAndPayload) {
    Message m(code::post, Token::from_u64(0xbeef));
    m.add_option(option::uri_path, "rd");
    m.add_uint_option(option::content_format, 40);
    m.add_option(option::uri_query, "ep=dev'1");
    m.add_option(option::etag, bytes({0x00, 0x7f}));
    m.set_payload("</1/0>");
    EXPECT_EQ(describe(m),
              "0.02 token=beef opts=[4:0x007f,11:'rd',12:40,15:0x65703d6465762731] payload=6B");
}

TEST(Describe, SignalingUintOptionsDependOnCode) {
    Message csm(code::csm);
    csm.add_uint_option(2, 1152);
    csm.add_option(4, Bytes{});
    EXPECT_EQ(describe(csm), "7.01 token= opts=[2:1152,4:'']");
    Message release(code::release);
    release.add_option(2, "alt");
    release.add_uint_option(4, 30);
    EXPECT_EQ(describe(release), "7.04 token= opts=[2:'alt',4:30]");
    // A uint option whose value is too long to be a uint is still shown, as raw bytes.
    Message bad(code::content);
    bad.add_option(option::content_format, bytes({1, 2, 3, 4, 5}));
    EXPECT_EQ(describe(bad), "2.05 token= opts=[12:0x0102030405]");
}

TEST(Describe, NoOptionsNoToken) {
    EXPECT_EQ(describe(Message(code::empty)), "0.00 token= opts=[]");
}

TEST(Describe, LongValueIsBoundedAndControlCharsAreHex) {
    Message m(code::content);
    m.add_option(option::location_path, std::string(1000, 'a'));
    m.add_option(option::uri_path, "a\nb");
    const std::string d = describe(m);
    EXPECT_LT(d.size(), 200u) << d;
    EXPECT_NE(d.find("11:0x610a62"), std::string::npos) << d;
    EXPECT_NE(d.find("..."), std::string::npos) << d;
    EXPECT_EQ(d.find('\n'), std::string::npos);
}

TEST(ErrorCategory, NameAndMessages) {
    EXPECT_STREQ(codec_category().name(), "lwgate.coap");
    std::set<std::string> messages;
    for (int v = static_cast<int>(CodecError::invalid_token_length);
         v <= static_cast<int>(CodecError::bad_signal_option_value); ++v) {
        const std::string msg = codec_category().message(v);
        EXPECT_FALSE(msg.empty());
        EXPECT_EQ(msg.find("unknown lwgate.coap error"), std::string::npos) << v;
        messages.insert(msg);
    }
    EXPECT_EQ(messages.size(), 8u);
    EXPECT_NE(codec_category().message(999).find("999"), std::string::npos);
}

TEST(ErrorCategory, ErrorCodeIntegration) {
    std::error_code ec = CodecError::invalid_option;
    EXPECT_EQ(&ec.category(), &codec_category());
    EXPECT_EQ(ec.value(), static_cast<int>(CodecError::invalid_option));
    EXPECT_TRUE(ec);
    EXPECT_EQ(ec, make_error_code(CodecError::invalid_option));
    EXPECT_NE(ec, make_error_code(CodecError::empty_payload));
    EXPECT_EQ(ec, CodecError::invalid_option);
    EXPECT_NE(ec.message().find("option"), std::string::npos);
    EXPECT_NE(make_error_code(CodecError::invalid_token_length).message().find("token"),
              std::string::npos);
}

}  // namespace
}  // namespace lwgate::coap
