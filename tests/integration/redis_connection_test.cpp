// RedisConnection (hiredis's async API on an Asio io_context) against a redis-server of the
// test's own: replies, errors, the bounded queue, reconnecting after Redis restarts, host names
// resolved off the io_context's thread.

#include <gtest/gtest.h>
#include <netdb.h>

#include <algorithm>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include "free_port.hpp"
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
    Outcome during;  // before the connection: its destructor completes what is left
    RedisConnection c(io, address, o);
    c.start();
    ASSERT_TRUE(run_until([&] { return c.connected(); }));
    server.stop(SIGKILL);
    ASSERT_TRUE(run_until([&] { return !c.connected(); }));
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

// Keeps what the default logger writes while it lives, to count RedisConnection's warnings.
class CapturedLog {
  public:
    CapturedLog() { spdlog::default_logger()->sinks().push_back(sink_); }
    ~CapturedLog() {
        auto& sinks = spdlog::default_logger()->sinks();
        sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
    }
    CapturedLog(const CapturedLog&) = delete;
    CapturedLog& operator=(const CapturedLog&) = delete;

    std::size_t count(const std::string& text) const {
        const auto lines = sink_->last_formatted();
        return static_cast<std::size_t>(std::count_if(lines.begin(), lines.end(), [&](auto& l) {
            return l.find(text) != std::string::npos;
        }));
    }

  private:
    std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_ =
        std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1000);
};

// Redis on TCP, on 127.0.0.1 only: an address given by name must reach it as hiredis's own
// lookup did (IPv4 first), whatever order the resolver lists localhost's addresses in.
class RedisConnectionByNameTest : public RedisConnectionTest {
  protected:
    void SetUp() override {
        port = free_tcp_port();
        ASSERT_NE(port, 0);
        server.set_extra_args({"--port", std::to_string(port), "--bind", "127.0.0.1"});
        RedisConnectionTest::SetUp();
    }

    std::uint16_t port = 0;
};

TEST_F(RedisConnectionByNameTest, AHostNameIsResolvedAndResolvedAgainOnReconnect) {
    // The name comes from /etc/hosts, which every installed Debian has; a bare debootstrap root
    // (a container built by hand) may not.
    addrinfo* found = nullptr;
    if (::getaddrinfo("localhost", nullptr, nullptr, &found) != 0)
        GTEST_SKIP() << "localhost does not resolve here (no /etc/hosts entry)";
    ::freeaddrinfo(found);
    auto parsed = redis::parse_redis_uri("redis://localhost:" + std::to_string(port));
    ASSERT_TRUE(parsed);
    redis::ConnectionOptions o;
    o.backoff_max = 200ms;
    Outcome set, get, during;  // before the connection: its destructor completes what is left
    RedisConnection c(io, *parsed, o);
    c.start();
    c.command({"SET", "by-name", "x"}, into(set));
    c.command({"GET", "by-name"}, into(get));
    ASSERT_TRUE(run_until([&] { return get.done; }));
    EXPECT_FALSE(set.ec);
    EXPECT_TRUE(set.reply.is_ok_status());
    EXPECT_FALSE(get.ec);
    EXPECT_EQ(get.reply.str, "x");
    EXPECT_TRUE(c.connected());

    // The reconnect goes through the resolver again and finds the restarted Redis.
    server.stop(SIGKILL);
    ASSERT_TRUE(run_until([&] { return !c.connected(); }));
    c.command({"PING"}, into(during));
    ASSERT_TRUE(server.start());
    ASSERT_TRUE(run_until([&] { return during.done; }));
    EXPECT_FALSE(during.ec);
    EXPECT_EQ(during.reply.str, "PONG");
    EXPECT_EQ(c.connects(), 2u);
}

// A name that never resolves: no connection, a warning naming it per failed attempt, commands
// waiting in the queue (completed with shutting_down by the destructor), and the io_context's
// other work running on time meanwhile.
TEST_F(RedisConnectionTest, AnUnresolvableNameRetriesWithoutStallingTheIoContext) {
    CapturedLog log;
    auto parsed = redis::parse_redis_uri("redis://lwgate-no-such-host.invalid:6379");
    ASSERT_TRUE(parsed);
    redis::ConnectionOptions o;
    o.backoff_min = 10ms;
    o.backoff_max = 50ms;
    o.connect_timeout = 1s;
    Outcome ping;
    {
        RedisConnection c(io, *parsed, o);
        c.start();
        c.command({"PING"}, into(ping));

        // A ticker on the same io_context: each tick measures how late it fired.
        asio::steady_timer ticker(io);
        int ticks = 0;
        auto worst = std::chrono::steady_clock::duration::zero();
        std::function<void()> arm = [&] {
            ticker.expires_after(20ms);
            ticker.async_wait([&](const std::error_code& ec) {
                if (ec) return;
                worst = std::max(worst, std::chrono::steady_clock::now() - ticker.expiry());
                ++ticks;
                arm();
            });
        };
        arm();
        const auto warned = [&] { return log.count("cannot resolve lwgate-no-such-host.invalid"); };
        // The connect timeout bounds each attempt: two failures come within seconds even from
        // a DNS server that never answers.
        EXPECT_TRUE(run_until([&] { return warned() >= 2 && ticks >= 25; }, 15s));
        ticker.cancel();
        EXPECT_LT(worst, 250ms) << "the io_context was blocked";
        EXPECT_FALSE(c.connected());
        EXPECT_EQ(c.connects(), 0u);
        EXPECT_FALSE(ping.done) << "a command waits for the connection";
        EXPECT_EQ(c.queued(), 1u);
    }
    EXPECT_TRUE(ping.done);
    EXPECT_EQ(ping.ec, RedisErrc::shutting_down);
}

}  // namespace
}  // namespace lwgate::integration
