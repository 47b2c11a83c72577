// RedisErrc as a std::error_code (gateway/redis/redis_error.hpp).
#include "redis/redis_error.hpp"

#include <gtest/gtest.h>

namespace lwgate::redis {
namespace {

TEST(RedisErrc, IsAnErrorCodeEnumWithItsOwnCategory) {
    const std::error_code ec = RedisErrc::queue_full;
    EXPECT_EQ(ec, RedisErrc::queue_full);
    EXPECT_NE(ec, RedisErrc::disconnected);
    EXPECT_STREQ(ec.category().name(), "lwgate.redis");
    EXPECT_EQ(&ec.category(), &redis_category());
}

TEST(RedisErrc, EveryValueHasItsOwnMessage) {
    const RedisErrc all[] = {RedisErrc::bad_uri,      RedisErrc::connect_failed,
                             RedisErrc::disconnected, RedisErrc::queue_full,
                             RedisErrc::reply_error,  RedisErrc::bad_reply,
                             RedisErrc::shutting_down};
    for (std::size_t i = 0; i < std::size(all); ++i) {
        for (std::size_t j = i + 1; j < std::size(all); ++j)
            EXPECT_NE(make_error_code(all[i]).message(), make_error_code(all[j]).message());
        EXPECT_EQ(make_error_code(all[i]).message().find("unknown"), std::string::npos);
    }
    EXPECT_EQ(redis_category().message(99), "unknown lwgate.redis error 99");
}

}  // namespace
}  // namespace lwgate::redis
