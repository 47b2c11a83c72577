// store.uri for Redis (gateway/redis/redis_uri.hpp): the accepted forms, and for each bad form
// an error that names what is wrong.
#include "redis/redis_uri.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace lwgate::redis {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

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
    EXPECT_EQ(ok("redis://127.0.0.1:6380"), (RedisAddress{"127.0.0.1", 6380, "", 0, "", ""}));
    EXPECT_EQ(ok("redis://redis.example:7000/3"),
              (RedisAddress{"redis.example", 7000, "", 3, "", ""}));
    EXPECT_EQ(ok("redis://localhost"), (RedisAddress{"localhost", 6379, "", 0, "", ""}));
    EXPECT_EQ(ok("redis://localhost/"), (RedisAddress{"localhost", 6379, "", 0, "", ""}));
    EXPECT_EQ(ok("redis://[::1]:6379/1"), (RedisAddress{"::1", 6379, "", 1, "", ""}));
    EXPECT_EQ(ok("redis://[::1]"), (RedisAddress{"::1", 6379, "", 0, "", ""}));
}

TEST(RedisUri, Unix) {
    EXPECT_EQ(ok("redis+unix:///run/redis/redis.sock"),
              (RedisAddress{"", 0, "/run/redis/redis.sock", 0, "", ""}));
    EXPECT_EQ(ok("redis+unix:///tmp/r.sock?db=5"), (RedisAddress{"", 0, "/tmp/r.sock", 5, "", ""}));
    EXPECT_TRUE(ok("redis+unix:///tmp/r.sock").is_unix());
}

TEST(RedisUri, Describe) {
    EXPECT_EQ(ok("redis://h:1/2").describe(), "h:1/2");
    EXPECT_EQ(ok("redis://[::1]:7").describe(), "[::1]:7");
    EXPECT_EQ(ok("redis+unix:///a/b.sock").describe(), "unix:/a/b.sock");
}

TEST(RedisUri, UserAndPassword) {
    EXPECT_EQ(ok("redis://alice:s3cret@redis.example:7000/2"),
              (RedisAddress{"redis.example", 7000, "", 2, "alice", "s3cret"}));
    EXPECT_EQ(ok("redis://alice:s3cret@[::1]"),
              (RedisAddress{"::1", 6379, "", 0, "alice", "s3cret"}));
    // ':' splits at the first one: the password may hold more.
    EXPECT_EQ(ok("redis://alice:a:b@h").password, "a:b");
}

TEST(RedisUri, PasswordOnlyIsRedisDefaultUser) {
    const auto a = ok("redis://:s3cret@127.0.0.1:6380");
    EXPECT_EQ(a, (RedisAddress{"127.0.0.1", 6380, "", 0, "", "s3cret"}));
    EXPECT_TRUE(a.username.empty());
    EXPECT_TRUE(ok("redis://127.0.0.1").password.empty()) << "no userinfo: no AUTH";
}

TEST(RedisUri, CredentialsArePercentDecoded) {
    EXPECT_EQ(ok("redis://:p%40ss%3Aw%2Frd%25@h").password, "p@ss:w/rd%");
    EXPECT_EQ(ok("redis://a%3Ab%40c:x@h").username, "a:b@c");
    EXPECT_EQ(ok("redis://:%e2%82%AC@h").password, "\xe2\x82\xac") << "UTF-8, either case";
    EXPECT_EQ(ok("redis://:%20@h").password, " ");
    // Unescaped '@' and '/' in a password: the last '@' ends it, as no other part holds one.
    EXPECT_EQ(ok("redis://:p@ss/w@h:1/3"), (RedisAddress{"h", 1, "", 3, "", "p@ss/w"}));
}

TEST(RedisUri, UnixWithUserInfo) {
    EXPECT_EQ(ok("redis+unix://alice:s3cret@/run/redis/redis.sock?db=4"),
              (RedisAddress{"", 0, "/run/redis/redis.sock", 4, "alice", "s3cret"}));
    EXPECT_EQ(ok("redis+unix://:p%40ss@/tmp/r.sock"),
              (RedisAddress{"", 0, "/tmp/r.sock", 0, "", "p@ss"}));
    // The path may hold '@' itself (systemd instance names): the user information ends at "@/".
    EXPECT_EQ(ok("redis+unix://:pw@/run/redis@main/r.sock"),
              (RedisAddress{"", 0, "/run/redis@main/r.sock", 0, "", "pw"}));
    EXPECT_EQ(ok("redis+unix:///run/redis@main/r.sock").unix_path, "/run/redis@main/r.sock");
    EXPECT_TRUE(ok("redis+unix:///run/redis@main/r.sock").password.empty());
}

TEST(RedisUri, BadEscapesAndControlCharacters) {
    EXPECT_THAT(error("redis://:pa%zzss@h"), HasSubstr("malformed %-escape in the password"));
    EXPECT_THAT(error("redis://:pass%4@h"), HasSubstr("malformed %-escape in the password"));
    EXPECT_THAT(error("redis://:pass%@h"), HasSubstr("malformed %-escape in the password"));
    EXPECT_THAT(error("redis://al%g1ce:pw@h"), HasSubstr("malformed %-escape in the user name"));
    EXPECT_THAT(error("redis://:pa%0Ass@h"), HasSubstr("password holds a control character"));
    EXPECT_THAT(error("redis://:pa%00ss@h"), HasSubstr("password holds a control character"));
    EXPECT_THAT(error("redis://:pa\x7fss@h"), HasSubstr("password holds a control character"));
    EXPECT_THAT(error("redis://al\tice:pw@h"), HasSubstr("user name holds a control character"));
    EXPECT_THAT(error("redis+unix://:pa%zz@/tmp/r.sock"), HasSubstr("malformed %-escape"));
}

TEST(RedisUri, UserNameNeedsAPassword) {
    EXPECT_THAT(error("redis://alice@h"), HasSubstr("a user name needs a password"));
    EXPECT_THAT(error("redis://alice:@h"), HasSubstr("a user name needs a password"));
    EXPECT_THAT(error("redis+unix://alice@/tmp/r.sock"), HasSubstr("a user name needs a password"));
    EXPECT_THAT(error("redis://@h"), HasSubstr("no password before '@'"));
    EXPECT_THAT(error("redis://:@h"), HasSubstr("no password before '@'"));
}

TEST(RedisUri, CredentialsAreCappedAt256Bytes) {
    const std::string max(256, 'p');
    EXPECT_EQ(ok("redis://:" + max + "@h").password, max);
    EXPECT_EQ(ok("redis://" + max + ":pw@h").username, max);
    EXPECT_THAT(error("redis://:" + max + "p@h"), HasSubstr("password is longer than 256 bytes"));
    EXPECT_THAT(error("redis://" + max + "u:pw@h"), HasSubstr("user name is longer than 256"));
    // The cap is on the decoded bytes: 256 escapes (768 characters) are fine, 257 are not.
    std::string escaped;
    for (int i = 0; i < 256; ++i)
        escaped += "%41";
    EXPECT_EQ(ok("redis://:" + escaped + "@h").password, std::string(256, 'A'));
    EXPECT_THAT(error("redis://:" + escaped + "%41@h"), HasSubstr("longer than 256 bytes"));
    EXPECT_THAT(error("redis://:" + std::string(1 << 20, 'x') + "@h"), HasSubstr("longer"));
}

// No error message, and no describe(), quotes the password or anything that might be one.
TEST(RedisUri, ThePasswordIsNeverShown) {
    EXPECT_EQ(ok("redis://alice:s3cret@h:1/2").describe(), "alice@h:1/2");
    EXPECT_EQ(ok("redis://:s3cret@h:1").describe(), "h:1");
    EXPECT_EQ(ok("redis+unix://bob:s3cret@/a/b.sock?db=1").describe(), "bob@unix:/a/b.sock/1");
    for (const char* uri : {
             "redis://alice:s3cret",           // '@HOST' forgotten: the password is the port
             "redis://s3cret@h",               // a lone part may be the password
             "redis://alice:s3cret%zz@h",      // bad escape
             "redis://alice:s3cret@h/s3cret",  // nonsense database
             "redis://alice:s3cret@h?x=1",
             "redis+unix:///tmp/r.sock?password=s3cret",
             "redis+unix:///tmp/r.sock?db=1&password=s3cret",
             "redis+unix://alice:s3cret@tmp/r.sock",
             "rediss://alice:s3cret@h",
         }) {
        EXPECT_THAT(error(uri), Not(HasSubstr("s3cret"))) << uri;
    }
}

TEST(RedisUri, RedactUri) {
    EXPECT_EQ(redact_uri("redis://alice:s3cret@h:6379/2"), "redis://alice:***@h:6379/2");
    EXPECT_EQ(redact_uri("redis://:s3cret@h"), "redis://:***@h");
    EXPECT_EQ(redact_uri("redis://:p@ss/w@h"), "redis://:***@h");
    EXPECT_EQ(redact_uri("redis+unix://:pw@/run/redis@main/r.sock"),
              "redis+unix://:***@/run/redis@main/r.sock");
    EXPECT_EQ(redact_uri("redis+unix://:pw@relative"), "redis+unix://:***@relative");
    EXPECT_EQ(redact_uri("redis://s3cret@h"), "redis://***@h") << "a lone part is hidden whole";
    EXPECT_EQ(redact_uri("rediss://u:s3cret@h"), "rediss://u:***@h") << "any scheme";
    // Nothing to hide: unchanged.
    for (const char* uri : {"redis://h:1/2", "redis+unix:///run/redis@main/r.sock",
                            "sqlite:///var/lib/x@y.db", "memory:", ""}) {
        EXPECT_EQ(redact_uri(uri), uri);
    }
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
    EXPECT_THAT(error("redis://h:63x"), HasSubstr("got something that is not a number"));
    EXPECT_THAT(error("redis://h:-1"), HasSubstr("got '-1'"));
    EXPECT_THAT(error("redis://h/x"), HasSubstr("database number"));
    EXPECT_THAT(error("redis://h/-1"), HasSubstr("got '-1'"));
    EXPECT_THAT(error("redis://h/99999999999"), HasSubstr("database number"));
    EXPECT_THAT(error("redis://h/1?x=y"), HasSubstr("no query"));
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
    EXPECT_THAT(error("redis+unix:///tmp/r.sock?db=a"), HasSubstr("got something that is not"));
    EXPECT_THAT(error("redis+unix:///tmp/r.sock?db=1&x=2"), HasSubstr("only query parameter"));
}

TEST(RedisUri, OtherSchemes) {
    EXPECT_THAT(error("sqlite:///x.db"), HasSubstr("expected redis://HOST:PORT[/DB]"));
    EXPECT_THAT(error(""), HasSubstr("got ''"));
}

}  // namespace
}  // namespace lwgate::redis
