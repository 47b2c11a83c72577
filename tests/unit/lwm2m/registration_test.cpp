#include "lwm2m/registration.hpp"

#include <gtest/gtest.h>

namespace lwgate::lwm2m {
namespace {

using coap::Message;
namespace code = coap::code;

Message req(std::uint8_t method, std::vector<std::string> path, std::vector<std::string> query) {
    Message m(method, coap::Token::from_u64(1));
    for (auto& p : path)
        m.add_option(coap::option::uri_path, p);
    for (auto& q : query)
        m.add_option(coap::option::uri_query, q);
    return m;
}

std::vector<std::string> queries(const Message& m) {
    std::vector<std::string> out;
    for (const auto* o : m.find_options(coap::option::uri_query)) {
        out.emplace_back(o->value.begin(), o->value.end());
    }
    return out;
}

TEST(Classify, RegistrationInterface) {
    EXPECT_EQ(classify_uplink(req(code::post, {"rd"}, {"ep=a"})), Uplink::register_);
    EXPECT_EQ(classify_uplink(req(code::post, {"rd", "5a3f"}, {})), Uplink::update);
    EXPECT_EQ(classify_uplink(req(code::del, {"rd", "5a3f"}, {})), Uplink::deregister);
    EXPECT_EQ(classify_uplink(req(code::post, {"bs"}, {"ep=a"})), Uplink::bootstrap_request);
    EXPECT_EQ(classify_uplink(req(code::post, {"dp"}, {})), Uplink::send);
    EXPECT_EQ(classify_uplink(req(code::get, {"rd"}, {})), Uplink::other);
    EXPECT_EQ(classify_uplink(req(code::post, {}, {})), Uplink::other);
    EXPECT_EQ(classify_uplink(req(code::put, {"rd", "x"}, {})), Uplink::other);
}

TEST(ParseRegister, AllParameters) {
    auto p = parse_register(
        req(code::post, {"rd"}, {"ep=urn:imei:1", "lt=300", "lwm2m=1.1", "b=T", "Q"}));
    ASSERT_TRUE(p);
    EXPECT_EQ(p->endpoint, "urn:imei:1");
    EXPECT_EQ(p->lifetime, 300u);
    EXPECT_EQ(p->version, "1.1");
    EXPECT_EQ(p->binding, "T");
    EXPECT_TRUE(p->queue_mode);
}

TEST(ParseRegister, Lwm2m10QueueInBinding) {
    auto p = parse_register(req(code::post, {"rd"}, {"ep=a", "b=TQ", "lwm2m=1.0"}));
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->queue_mode);
    EXPECT_FALSE(p->lifetime);
}

TEST(ParseRegister, RejectsMissingEndpointAndBadLifetime) {
    EXPECT_FALSE(parse_register(req(code::post, {"rd"}, {"lt=60"})));
    EXPECT_FALSE(parse_register(req(code::post, {"rd"}, {"ep=a", "lt=6x0"})));
    EXPECT_FALSE(parse_register(req(code::post, {"rd"}, {"ep=a", "lt=-1"})));
    EXPECT_FALSE(parse_register(req(code::post, {"rd"}, {"ep=a", "lt=99999999999"})));
}

TEST(Binding, Rewrite) {
    EXPECT_EQ(udp_binding("T"), "U");
    EXPECT_EQ(udp_binding("TQ"), "UQ");
    EXPECT_EQ(udp_binding("UT"), "U");
    EXPECT_EQ(udp_binding("TS"), "US");
    EXPECT_EQ(udp_binding("U"), "U");
    EXPECT_EQ(udp_binding("TSQ"), "USQ");
}

TEST(Binding, RewriteKeepsOtherParametersInOrder) {
    auto m = req(code::post, {"rd"}, {"ep=a", "lt=60", "b=T", "Q", "lwm2m=1.1", "sms=123"});
    m.set_payload(std::string_view("</1/0>,</3/0>"));
    const Message before = m;
    auto b = rewrite_binding_for_udp(m);
    ASSERT_TRUE(b);
    EXPECT_EQ(*b, "U");
    EXPECT_EQ(queries(m),
              (std::vector<std::string>{"ep=a", "lt=60", "b=U", "Q", "lwm2m=1.1", "sms=123"}));
    EXPECT_EQ(m.payload(), before.payload());
    EXPECT_EQ(uri_path(m), uri_path(before));
    EXPECT_EQ(m.token(), before.token());
}

TEST(Binding, NoBindingParameterNoChange) {
    auto m = req(code::post, {"rd", "x"}, {"lt=60"});
    const Message before = m;
    EXPECT_FALSE(rewrite_binding_for_udp(m));
    EXPECT_EQ(m, before);
}

TEST(Update, Params) {
    auto u = parse_update(req(code::post, {"rd", "a", "b"}, {"lt=90", "b=TQ"}));
    EXPECT_EQ(u.lifetime, 90u);
    EXPECT_EQ(u.binding, "TQ");
    EXPECT_TRUE(u.queue_mode);
    EXPECT_EQ(registration_location(req(code::post, {"rd", "a", "b"}, {})),
              (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(uri_path_string(req(code::get, {"3", "0", "1"}, {})), "/3/0/1");
}

}  // namespace
}  // namespace lwgate::lwm2m
