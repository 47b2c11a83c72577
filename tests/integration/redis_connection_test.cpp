// RedisConnection (hiredis's async API on an Asio io_context) against a redis-server of the
// test's own: replies, errors, the bounded queue, reconnecting after Redis restarts.
#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>

#include "redis/redis_connection.hpp"
#include "redis_server.hpp"

namespace lwgate::integration {
namespace {

using namespace std::chrono_literals;
using redis::RedisConnection;
using redis::RedisErrc;
using redis::RedisReply;

struct Outcome {
    bool done = false;
    std::error_code ec;
    RedisReply reply;
};

class RedisConnectionTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!RedisServer::available()) GTEST_SKIP() << "redis-server is not installed";
        ASSERT_TRUE(server.start());
        address.unix_path = server.socket().string();
    }

    // Runs the io_context until `pred` or the timeout.
    template <class Pred>
    bool run_until(Pred pred, std::chrono::milliseconds timeout = 5s) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!pred() && std::chrono::steady_clock::now() < deadline) {
            io.restart();
            io.run_for(10ms);
        }
        return pred();
    }

    RedisConnection::Callback into(Outcome& o) {
        return [&o](std::error_code ec, RedisReply r) {
            o.done = true;
            o.ec = ec;
            o.reply = std::move(r);
        };
    }

    RedisServer server;
    redis::RedisAddress address;
    asio::io_context io;
};

TEST_F(RedisConnectionTest, CommandsQueuedBeforeTheConnectGetTheirReplies) {
    RedisConnection c(io, address);
    c.start();
    Outcome set, get, bad;
    c.command({"SET", "k", std::string("v\0w", 3)}, into(set));
    c.command({"GET", "k"}, into(get));
    c.command({"NOSUCHCOMMAND"}, into(bad));
    ASSERT_TRUE(run_until([&] { return bad.done; }));
    EXPECT_FALSE(set.ec);
    EXPECT_TRUE(set.reply.is_ok_status());
    EXPECT_EQ(get.reply.type, RedisReply::Type::string);
    EXPECT_EQ(get.reply.str, std::string("v\0w", 3));
    EXPECT_FALSE(bad.ec) << "an error reply is a reply";
    EXPECT_TRUE(bad.reply.is_error());
}

TEST_F(RedisConnectionTest, QueueIsBoundedAndDestructionCompletesEverything) {
    address.unix_path = "/nonexistent/lwgate-test/redis.sock";
    Outcome a, b, c3;
    {
        redis::ConnectionOptions o;
        o.max_queued = 2;
        RedisConnection c(io, address, o);
        c.start();
        c.command({"PING"}, into(a));
        c.command({"PING"}, into(b));
        c.command({"PING"}, into(c3));
        EXPECT_TRUE(c3.done);
        EXPECT_EQ(c3.ec, RedisErrc::queue_full);
        EXPECT_FALSE(a.done);
    }
    EXPECT_EQ(a.ec, RedisErrc::shutting_down);
    EXPECT_EQ(b.ec, RedisErrc::shutting_down);
}

TEST_F(RedisConnectionTest, ReconnectsAfterRedisRestarts) {
    redis::ConnectionOptions o;
    o.backoff_max = 200ms;
    RedisConnection c(io, address, o);
    c.start();
    ASSERT_TRUE(run_until([&] { return c.connected(); }));
    server.stop(SIGKILL);
    ASSERT_TRUE(run_until([&] { return !c.connected(); }));
    Outcome during;
    c.command({"PING"}, into(during));  // waits in the queue
    ASSERT_TRUE(server.start());
    ASSERT_TRUE(run_until([&] { return during.done; }));
    EXPECT_FALSE(during.ec);
    EXPECT_EQ(during.reply.str, "PONG");
    EXPECT_EQ(c.connects(), 2u);
}

TEST_F(RedisConnectionTest, DatabaseIsSelectedOnEveryConnection) {
    address.db = 2;
    RedisConnection c(io, address);
    c.start();
    Outcome set;
    c.command({"SET", "in-db-2", "x"}, into(set));
    ASSERT_TRUE(run_until([&] { return set.done; }));
    EXPECT_EQ(server.command({"EXISTS", "in-db-2"}), "0") << "not in database 0";
}

}  // namespace
}  // namespace lwgate::integration
