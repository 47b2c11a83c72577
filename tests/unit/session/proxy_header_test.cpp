#include "session/proxy_header.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lwgate::session {
namespace {

using Bytes = std::vector<std::uint8_t>;
using Status = ProxyParse::Status;

Bytes bytes(std::string_view s) {
    return {s.begin(), s.end()};
}

const Bytes v2_sig{0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

Bytes v2(std::uint8_t ver_cmd, std::uint8_t family, const Bytes& body) {
    Bytes out = v2_sig;
    out.push_back(ver_cmd);
    out.push_back(family);
    out.push_back(static_cast<std::uint8_t>(body.size() >> 8));
    out.push_back(static_cast<std::uint8_t>(body.size()));
    out.insert(out.end(), body.begin(), body.end());
    return out;
}

// 192.0.2.1:40000 -> 10.0.0.7:5683, then one TLV (skipped).
Bytes v2_tcp4() {
    return v2(0x21, 0x11,
              {192, 0, 2, 1, 10, 0, 0, 7, 0x9C, 0x40, 0x16, 0x33, 0x04, 0x00, 0x01, 0x2A});
}

Bytes v2_tcp6() {
    Bytes body(36, 0);
    body[0] = 0x20, body[1] = 0x01, body[2] = 0x0d, body[3] = 0xb8, body[15] = 1;
    body[31] = 2;
    body[32] = 0x9C, body[33] = 0x40, body[34] = 0x16, body[35] = 0x33;
    return v2(0x21, 0x21, body);
}

// Every split of `input` (whole input followed by `tail`) parses like the whole: need_more on
// every proper prefix, then the same header and length.
ProxyParse at_every_split(const Bytes& header, const Bytes& tail = bytes("\xC0\x01")) {
    Bytes input = header;
    input.insert(input.end(), tail.begin(), tail.end());
    for (std::size_t split = 0; split < header.size(); ++split) {
        const auto p = parse_proxy_header(std::span(input).first(split));
        EXPECT_EQ(p.status, Status::need_more) << "split " << split;
    }
    for (std::size_t end = header.size(); end <= input.size(); ++end) {
        const auto p = parse_proxy_header(std::span(input).first(end));
        EXPECT_EQ(p.status, Status::parsed) << "end " << end;
        EXPECT_EQ(p.consumed, header.size()) << "end " << end;
    }
    return parse_proxy_header(input);
}

std::error_code error_of(const Bytes& input) {
    const auto p = parse_proxy_header(input);
    EXPECT_EQ(p.status, Status::error);
    return p.error;
}

TEST(ProxyHeader, V1Tcp4AtEverySplit) {
    const auto p = at_every_split(bytes("PROXY TCP4 192.0.2.1 10.0.0.7 40000 5683\r\n"));
    ASSERT_EQ(p.status, Status::parsed);
    EXPECT_FALSE(p.header.use_socket_address);
    EXPECT_EQ(to_string(p.header.source), "192.0.2.1:40000");
    EXPECT_EQ(to_string(p.header.destination), "10.0.0.7:5683");
    EXPECT_EQ(p.header.source.address[10], 0xFF);
}

TEST(ProxyHeader, V1Tcp6AtEverySplit) {
    const auto p = at_every_split(bytes("PROXY TCP6 2001:db8::1 ::ffff:10.0.0.7 40000 5683\r\n"));
    ASSERT_EQ(p.status, Status::parsed);
    EXPECT_EQ(to_string(p.header.source), "[2001:db8::1]:40000");
    EXPECT_EQ(p.header.destination.address[15], 7);
    EXPECT_EQ(to_string(p.header.destination), "[::ffff:a00:7]:5683");
}

TEST(ProxyHeader, V1UnknownUsesTheSocketAddress) {
    for (const char* line : {"PROXY UNKNOWN\r\n", "PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n"}) {
        const auto p = at_every_split(bytes(line));
        EXPECT_EQ(p.status, Status::parsed) << line;
        EXPECT_TRUE(p.header.use_socket_address) << line;
    }
}

TEST(ProxyHeader, V1LongestLineFits) {
    const std::string line =
        "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
    ASSERT_EQ(line.size(), max_v1_header - 3);  // the spec's 107 counts "UNKNOWN" lines too
    EXPECT_EQ(at_every_split(bytes(line)).status, Status::parsed);
}

TEST(ProxyHeader, V2Tcp4AtEverySplitSkipsTlvs) {
    const auto header = v2_tcp4();
    const auto p = at_every_split(header);
    ASSERT_EQ(p.status, Status::parsed);
    EXPECT_EQ(p.consumed, 16u + 16u);
    EXPECT_EQ(to_string(p.header.source), "192.0.2.1:40000");
    EXPECT_EQ(to_string(p.header.destination), "10.0.0.7:5683");
}

TEST(ProxyHeader, V2Tcp6AtEverySplit) {
    const auto p = at_every_split(v2_tcp6());
    ASSERT_EQ(p.status, Status::parsed);
    EXPECT_EQ(to_string(p.header.source), "[2001:db8::1]:40000");
    EXPECT_EQ(to_string(p.header.destination), "[::2]:5683");
}

TEST(ProxyHeader, V2LocalAndUnspecUseTheSocketAddress) {
    for (const auto& header : {v2(0x20, 0x00, {}), v2(0x20, 0x11, {1, 2, 3}), v2(0x21, 0x00, {}),
                               v2(0x21, 0x31, Bytes(216, 0))}) {
        const auto p = at_every_split(header);
        EXPECT_EQ(p.status, Status::parsed);
        EXPECT_TRUE(p.header.use_socket_address);
        EXPECT_EQ(p.consumed, header.size());
    }
}

TEST(ProxyHeader, BadSignature) {
    EXPECT_EQ(error_of(bytes("\x48")), ProxyErrc::bad_signature);  // a CoAP CSM's first byte
    EXPECT_EQ(error_of(bytes("PROXX")), ProxyErrc::bad_signature);
    EXPECT_EQ(error_of(bytes("proxy TCP4")), ProxyErrc::bad_signature);
    Bytes almost = v2_sig;
    almost[11] = 0x0B;
    EXPECT_EQ(error_of(almost), ProxyErrc::bad_signature);
    EXPECT_EQ(error_of({0x16, 0x03, 0x01}), ProxyErrc::bad_signature);  // a TLS ClientHello
}

TEST(ProxyHeader, V2BadVersionCommandFamily) {
    EXPECT_EQ(error_of(v2(0x11, 0x11, Bytes(12, 0))), ProxyErrc::bad_version);
    EXPECT_EQ(error_of(v2(0x22, 0x11, Bytes(12, 0))), ProxyErrc::bad_command);
    EXPECT_EQ(error_of(v2(0x21, 0x41, Bytes(12, 0))), ProxyErrc::bad_family);
    EXPECT_EQ(error_of(v2(0x21, 0x13, Bytes(12, 0))), ProxyErrc::bad_family);
    EXPECT_EQ(error_of(v2(0x21, 0x12, Bytes(12, 0))), ProxyErrc::bad_family);  // datagram
}

TEST(ProxyHeader, V2WrongFamilyLength) {
    EXPECT_EQ(error_of(v2(0x21, 0x11, Bytes(11, 0))), ProxyErrc::bad_length);
    EXPECT_EQ(error_of(v2(0x21, 0x21, Bytes(12, 0))), ProxyErrc::bad_length);
    EXPECT_EQ(error_of(v2(0x21, 0x31, Bytes(108, 0))), ProxyErrc::bad_length);
}

TEST(ProxyHeader, V2TooLongIsRefusedBeforeItArrives) {
    auto header = v2(0x21, 0x11, Bytes(max_v2_header - 16 + 1, 0));
    header.resize(16);  // only the fixed part: the length alone decides
    EXPECT_EQ(error_of(header), ProxyErrc::too_long);
    EXPECT_EQ(at_every_split(v2(0x21, 0x11, Bytes(max_v2_header - 16, 0))).status, Status::parsed);
}

TEST(ProxyHeader, V1TooLongWithoutCrlf) {
    std::string line = "PROXY TCP4 1.2.3.4 5.6.7.8 1 2";
    line.resize(max_v1_header - 1, ' ');
    EXPECT_EQ(parse_proxy_header(bytes(line)).status, Status::need_more);
    line += ' ';
    EXPECT_EQ(error_of(bytes(line)), ProxyErrc::too_long);
    EXPECT_EQ(error_of(bytes(line + "\r\n")), ProxyErrc::too_long);
}

TEST(ProxyHeader, V1BadFields) {
    EXPECT_EQ(error_of(bytes("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n")), ProxyErrc::bad_family);
    EXPECT_EQ(error_of(bytes("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n")), ProxyErrc::bad_address);
    EXPECT_EQ(error_of(bytes("PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n")), ProxyErrc::bad_address);
    EXPECT_EQ(error_of(bytes("PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n")), ProxyErrc::bad_address);
    EXPECT_EQ(error_of(bytes("PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n")), ProxyErrc::bad_address);
    EXPECT_EQ(error_of(bytes("PROXY TCP4 ::1 5.6.7.8 1 2\r\n")), ProxyErrc::bad_address);
    EXPECT_EQ(error_of(bytes("PROXY TCP6 1.2.3.4 ::1 1 2\r\n")), ProxyErrc::bad_address);
    EXPECT_EQ(error_of(bytes("PROXY TCP6 1::2::3 ::1 1 2\r\n")), ProxyErrc::bad_address);
    EXPECT_EQ(error_of(bytes("PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n")), ProxyErrc::bad_address);
    EXPECT_EQ(error_of(bytes("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n")), ProxyErrc::bad_port);
    EXPECT_EQ(error_of(bytes("PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n")), ProxyErrc::bad_port);
    EXPECT_EQ(error_of(bytes("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n")), ProxyErrc::bad_address);
}

TEST(ProxyHeader, TruncatedIsNeedMoreNotAnError) {
    const auto tcp4 = v2_tcp4();
    EXPECT_EQ(parse_proxy_header(std::span(tcp4).first(20)).status, Status::need_more);
    EXPECT_EQ(parse_proxy_header(bytes("PROXY TCP4 1.2.3.4")).status, Status::need_more);
    EXPECT_EQ(parse_proxy_header({}).status, Status::need_more);
}

TEST(ProxyHeader, ErrorsAreTypedCodes) {
    const std::error_code ec = ProxyErrc::too_long;
    EXPECT_EQ(ec.category(), proxy_category());
    EXPECT_EQ(ec.category().name(), std::string("lwgate.proxy"));
    EXPECT_FALSE(ec.message().empty());
}

}  // namespace
}  // namespace lwgate::session
