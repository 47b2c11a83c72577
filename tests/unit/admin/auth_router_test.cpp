#include <gtest/gtest.h>

#include "admin/auth.hpp"
#include "admin/router.hpp"

namespace lwgate::admin {
namespace {

TEST(AdminAuth, BearerToken) {
    EXPECT_TRUE(authorized("", "")) << "no token configured: open (loopback only)";
    EXPECT_TRUE(authorized("anything", ""));
    EXPECT_TRUE(authorized("Bearer s3cret", "s3cret"));
    EXPECT_TRUE(authorized("bearer s3cret", "s3cret"));
    EXPECT_TRUE(authorized("BEARER  s3cret ", "s3cret"));
    EXPECT_FALSE(authorized("", "s3cret"));
    EXPECT_FALSE(authorized("Bearer s3cre", "s3cret"));
    EXPECT_FALSE(authorized("Bearer s3cretX", "s3cret"));
    EXPECT_FALSE(authorized("Bearer S3cret", "s3cret")) << "the token is case-sensitive";
    EXPECT_FALSE(authorized("Basic s3cret", "s3cret"));
    EXPECT_FALSE(authorized("s3cret", "s3cret"));
    EXPECT_FALSE(authorized("Bearer", "s3cret"));
}

TEST(AdminRouter, Routes) {
    EXPECT_EQ(route("GET", "/v1/health").op, Op::health);
    EXPECT_EQ(route("GET", "/v1/health/").op, Op::health);
    EXPECT_EQ(route("GET", "/metrics").op, Op::metrics);
    EXPECT_EQ(route("GET", "/v1/connections").op, Op::connections);
    EXPECT_EQ(route("POST", "/v1/drain").op, Op::drain);
    EXPECT_EQ(route("GET", "/v1/cluster").op, Op::cluster);
    auto r = route("GET", "/v1/connections/urn:imei:42");
    EXPECT_EQ(r.op, Op::connection);
    EXPECT_EQ(r.target, "urn:imei:42");
    r = route("POST", "/v1/connections/id:17/ping");
    EXPECT_EQ(r.op, Op::ping);
    EXPECT_EQ(r.target, "id:17");
    EXPECT_EQ(route("POST", "/v1/connections/dev/release").op, Op::release);
    EXPECT_EQ(route("POST", "/v1/connections/dev/close").op, Op::close);
}

TEST(AdminRouter, EndpointNamesArePercentDecodedAfterTheSplit) {
    auto r = route("GET", "/v1/connections/urn%3Adev%2Fa%2Fb");
    EXPECT_EQ(r.op, Op::connection);
    EXPECT_EQ(r.target, "urn:dev/a/b");
    r = route("POST", "/v1/connections/dev%2F1/ping");
    EXPECT_EQ(r.op, Op::ping);
    EXPECT_EQ(r.target, "dev/1");
    r = route("POST", "/v1/connections/caf%C3%a9/close");
    EXPECT_EQ(r.target, "caf\xc3\xa9");
    for (const char* path : {"/v1/connections/bad%2", "/v1/connections/bad%zz",
                             "/v1/connections/%/ping", "/v1/connections/%2/close"}) {
        EXPECT_EQ(route("GET", path).op, Op::not_found) << path;
        EXPECT_EQ(route("POST", path).op, Op::not_found) << path;
    }
}

TEST(AdminRouter, WrongMethodAndUnknownPaths) {
    auto r = route("POST", "/v1/health");
    EXPECT_EQ(r.op, Op::method_not_allowed);
    EXPECT_EQ(r.allow, "GET");
    EXPECT_EQ(route("GET", "/v1/drain").op, Op::method_not_allowed);
    EXPECT_EQ(route("GET", "/v1/connections/dev/ping").op, Op::method_not_allowed);
    EXPECT_EQ(route("DELETE", "/v1/connections/dev").op, Op::method_not_allowed);
    for (const char* path :
         {"", "/v1", "/v1/connections//ping", "/v1/connections/dev/reboot",
          "/v1/connections/dev/ping/x", "/v2/health", "/metricsx", "/x", "//x", "/index.html"}) {
        EXPECT_EQ(route("GET", path).op, Op::not_found) << path;
        EXPECT_EQ(route("POST", path).op, Op::not_found) << path;
    }
}

// GET / is the status page, the one route the token is not asked for; its neighbours are not.
TEST(AdminRouter, StatusPageIsTheOnlyRouteWithoutToken) {
    EXPECT_EQ(route("GET", "/").op, Op::status_page);
    EXPECT_EQ(route("POST", "/").op, Op::method_not_allowed);
    EXPECT_EQ(route("POST", "/").allow, "GET");
    for (const auto& spec : routes())
        EXPECT_EQ(needs_token(spec.op), spec.op != Op::status_page) << spec.path;
    EXPECT_TRUE(needs_token(Op::not_found));
    EXPECT_TRUE(needs_token(Op::method_not_allowed));
}

// The query as cpp-httplib decoded it before (lwgatectl sends the filters this way): '+' is a
// space, a stray '%' stays, repeated keys are kept.
TEST(AdminRouter, QueryIsSplitAndDecoded) {
    using Query = std::multimap<std::string, std::string>;
    EXPECT_EQ(parse_query(""), Query{});
    EXPECT_EQ(parse_query("state=idle&endpoint=urn%3Aimei%3A4"),
              (Query{{"state", "idle"}, {"endpoint", "urn:imei:4"}}));
    EXPECT_EQ(parse_query("remote=1.2.3.4&remote=::1"),
              (Query{{"remote", "1.2.3.4"}, {"remote", "::1"}}));
    EXPECT_EQ(parse_query("endpoint=a+b%2Bc"), (Query{{"endpoint", "a b+c"}}));
    EXPECT_EQ(parse_query("endpoint=50%&x=%zz%4"), (Query{{"endpoint", "50%"}, {"x", "%zz%4"}}));
    EXPECT_EQ(parse_query("flag&=nokey&&e="), (Query{{"flag", ""}, {"e", ""}}));
    EXPECT_EQ(parse_query("k=%FF"), (Query{{"k", "\xff"}}));
}

}  // namespace
}  // namespace lwgate::admin
