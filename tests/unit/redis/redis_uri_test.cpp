// store.uri for Redis (gateway/redis/redis_uri.hpp): the accepted forms, and for each bad form
// an error that names what is wrong.
#include "redis/redis_uri.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace lwgate::redis {
namespace {

using ::testing::HasSubstr;

RedisAddress ok(std::string_view uri) {
    auto parsed = parse_redis_uri(uri);
    EXPECT_TRUE(parsed) << uri << ": " << (parsed ? "" : parsed.error().message());
    return parsed ? *parsed : RedisAddress{};
}

std::string error(std::string_view uri) {
    auto parsed = parse_redis_uri(uri);
    EXPECT_FALSE(parsed) << uri << " was accepted";
    if (parsed) return {};
    EXPECT_EQ(parsed.error().code, RedisErrc::bad_uri);
    return parsed.error().detail;
}

TEST(RedisUri, Tcp) {
    EXPECT_EQ(ok("redis://127.0.0.1:6380"), (RedisAddress{"127.0.0.1", 6380, "", 0}));
    EXPECT_EQ(ok("redis://redis.example:7000/3"), (RedisAddress{"redis.example", 7000, "", 3}));
    EXPECT_EQ(ok("redis://localhost"), (RedisAddress{"localhost", 6379, "", 0}));
    EXPECT_EQ(ok("redis://localhost/"), (RedisAddress{"localhost", 6379, "", 0}));
    EXPECT_EQ(ok("redis://[::1]:6379/1"), (RedisAddress{"::1", 6379, "", 1}));
    EXPECT_EQ(ok("redis://[::1]"), (RedisAddress{"::1", 6379, "", 0}));
}

TEST(RedisUri, Unix) {
    EXPECT_EQ(ok("redis+unix:///run/redis/redis.sock"),
              (RedisAddress{"", 0, "/run/redis/redis.sock", 0}));
    EXPECT_EQ(ok("redis+unix:///tmp/r.sock?db=5"), (RedisAddress{"", 0, "/tmp/r.sock", 5}));
    EXPECT_TRUE(ok("redis+unix:///tmp/r.sock").is_unix());
}

TEST(RedisUri, Describe) {
    EXPECT_EQ(ok("redis://h:1/2").describe(), "h:1/2");
    EXPECT_EQ(ok("redis://[::1]:7").describe(), "[::1]:7");
    EXPECT_EQ(ok("redis+unix:///a/b.sock").describe(), "unix:/a/b.sock");
}

TEST(RedisUri, SchemeRecognisedEvenWhenMalformed) {
    EXPECT_TRUE(is_redis_uri("redis://"));
    EXPECT_TRUE(is_redis_uri("redis+unix://x"));
    EXPECT_FALSE(is_redis_uri("rediss://h"));
    EXPECT_FALSE(is_redis_uri("sqlite:///x.db"));
}

TEST(RedisUri, BadTcpNamesTheProblem) {
    EXPECT_THAT(error("redis://"), HasSubstr("missing host"));
    EXPECT_THAT(error("redis://:6379"), HasSubstr("missing host"));
    EXPECT_THAT(error("redis://h:"), HasSubstr("empty port"));
    EXPECT_THAT(error("redis://h:0"), HasSubstr("port must be 1..65535, got '0'"));
    EXPECT_THAT(error("redis://h:65536"), HasSubstr("got '65536'"));
    EXPECT_THAT(error("redis://h:63x"), HasSubstr("got '63x'"));
    EXPECT_THAT(error("redis://h:-1"), HasSubstr("got '-1'"));
    EXPECT_THAT(error("redis://h/x"), HasSubstr("database number"));
    EXPECT_THAT(error("redis://h/-1"), HasSubstr("got '-1'"));
    EXPECT_THAT(error("redis://h/99999999999"), HasSubstr("database number"));
    EXPECT_THAT(error("redis://h/1?x=y"), HasSubstr("no query"));
    EXPECT_THAT(error("redis://user:pw@h"), HasSubstr("password"));
    EXPECT_THAT(error("redis://::1:6379"), HasSubstr("brackets"));
    EXPECT_THAT(error("redis://[::1"), HasSubstr("missing ']'"));
    EXPECT_THAT(error("redis://[::1]x"), HasSubstr("':PORT' after ']'"));
    EXPECT_THAT(error("redis://[::1]:"), HasSubstr("empty port"));
    EXPECT_THAT(error("redis://[]:1"), HasSubstr("missing host"));
}

TEST(RedisUri, BadUnixNamesTheProblem) {
    EXPECT_THAT(error("redis+unix://"), HasSubstr("absolute socket path"));
    EXPECT_THAT(error("redis+unix://tmp/r.sock"), HasSubstr("absolute socket path"));
    EXPECT_THAT(error("redis+unix:///tmp/"), HasSubstr("names a directory"));
    EXPECT_THAT(error("redis+unix:///tmp/r.sock?database=1"), HasSubstr("only query parameter"));
    EXPECT_THAT(error("redis+unix:///tmp/r.sock?db="), HasSubstr("database number"));
    EXPECT_THAT(error("redis+unix:///tmp/r.sock?db=a"), HasSubstr("got 'a'"));
    EXPECT_THAT(error("redis+unix:///tmp/r.sock?db=1&x=2"), HasSubstr("got '1&x=2'"));
}

TEST(RedisUri, OtherSchemes) {
    EXPECT_THAT(error("sqlite:///x.db"), HasSubstr("expected redis://HOST:PORT[/DB]"));
    EXPECT_THAT(error(""), HasSubstr("got ''"));
}

}  // namespace
}  // namespace lwgate::redis
