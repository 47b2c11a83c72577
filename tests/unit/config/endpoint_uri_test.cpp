#include <gtest/gtest.h>

#include <string>

#include "config/config_loader.hpp"

namespace lwgate::config {
namespace {

Endpoint ok(std::string_view uri) {
    auto r = parse_endpoint_uri(uri);
    if (!r) {
        ADD_FAILURE() << uri << ": " << r.error().message();
        return {};
    }
    return std::move(r).value();
}

std::string bad(std::string_view uri) {
    auto r = parse_endpoint_uri(uri);
    if (r) {
        ADD_FAILURE() << uri << " was accepted";
        return {};
    }
    return std::move(r).error().detail;
}

TEST(ParseEndpointUri, SchemesAndDefaultPorts) {
    auto e = ok("coap+tcp://127.0.0.1");
    EXPECT_EQ(e.scheme, Scheme::coap_tcp);
    EXPECT_EQ(e.host, "127.0.0.1");
    EXPECT_EQ(e.port, 5683);
    EXPECT_EQ(e.text, "coap+tcp://127.0.0.1");

    e = ok("coaps+tcp://127.0.0.1");
    EXPECT_EQ(e.scheme, Scheme::coaps_tcp);
    EXPECT_EQ(e.port, 5684);

    e = ok("coap://core.example.net");
    EXPECT_EQ(e.scheme, Scheme::coap);
    EXPECT_EQ(e.host, "core.example.net");
    EXPECT_EQ(e.port, 5683);

    e = ok("coaps://core.example.net");
    EXPECT_EQ(e.scheme, Scheme::coaps);
    EXPECT_EQ(e.port, 5684);

    EXPECT_EQ(ok("COAP+TCP://localhost").scheme, Scheme::coap_tcp);  // schemes ignore case
}

TEST(ParseEndpointUri, ExplicitPortsIncludingZero) {
    EXPECT_EQ(ok("coap+tcp://0.0.0.0:0").port, 0);
    EXPECT_EQ(ok("coap+tcp://0.0.0.0:65535").port, 65535);
    EXPECT_EQ(ok("coaps://core.example.net:5784").port, 5784);
    EXPECT_EQ(ok("coap+tcp://127.0.0.1:5683/").port, 5683);  // trailing slash tolerated
}

TEST(ParseEndpointUri, Ipv6InBrackets) {
    auto e = ok("coaps+tcp://[::1]:5684");
    EXPECT_EQ(e.host, "::1");
    EXPECT_EQ(e.port, 5684);
    e = ok("coap://[2001:db8::17]");
    EXPECT_EQ(e.host, "2001:db8::17");
    EXPECT_EQ(e.port, 5683);
}

TEST(ParseEndpointUri, Rejects) {
    EXPECT_NE(bad("http://127.0.0.1:80").find("unsupported scheme 'http'"), std::string::npos);
    EXPECT_NE(bad("127.0.0.1:5683").find("not a URI"), std::string::npos);
    EXPECT_NE(bad("coap+tcp://").find("missing host"), std::string::npos);
    EXPECT_NE(bad("coap+tcp://:5683").find("missing host"), std::string::npos);
    EXPECT_NE(bad("coap+tcp://127.0.0.1:").find("missing port"), std::string::npos);
    EXPECT_NE(bad("coap+tcp://127.0.0.1:65536").find("port out of range"), std::string::npos);
    EXPECT_NE(bad("coap+tcp://127.0.0.1:123456").find("not a valid port"), std::string::npos);
    EXPECT_NE(bad("coap+tcp://127.0.0.1:http").find("not a valid port"), std::string::npos);
    EXPECT_NE(bad("coap+tcp://127.0.0.1:-1").find("not a valid port"), std::string::npos);
    EXPECT_NE(bad("coap+tcp://::1:5683").find("brackets"), std::string::npos);
    EXPECT_NE(bad("coap+tcp://[::1").find("']'"), std::string::npos);
    EXPECT_NE(bad("coap+tcp://[::g]:5683").find("IPv6"), std::string::npos);
    EXPECT_NE(bad("coap+tcp://[::1]x").find("after ']'"), std::string::npos);
    EXPECT_NE(bad("coap+tcp://256.1.1.1").find("IPv4"), std::string::npos);
    EXPECT_NE(bad("coap+tcp://1.2.3").find("IPv4"), std::string::npos);
    EXPECT_NE(bad("coap+tcp://host_name").find("host name"), std::string::npos);
    EXPECT_NE(bad("coap+tcp://-host").find("host name"), std::string::npos);
    EXPECT_NE(bad("coap+tcp://a..b").find("host name"), std::string::npos);
    EXPECT_NE(bad("coap://core/rd").find("path"), std::string::npos);
    EXPECT_NE(bad("coap://core?x=1").find("query"), std::string::npos);
    EXPECT_NE(bad("coap://user@core").find("user info"), std::string::npos);
    EXPECT_NE(bad("coap://" + std::string(64, 'a') + ".net").find("host name"), std::string::npos);
}

}  // namespace
}  // namespace lwgate::config
