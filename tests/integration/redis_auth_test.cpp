// Redis that asks for a login: a password (requirepass) or an ACL user in store.uri, against a
// redis-server of the test's own. The blocking (start-up) and asynchronous connections log in
// before anything else; a refused login runs no command; the real lwgate starts, stores its
// devices, logs in again after Redis restarts, refuses to start with a wrong password, and
// never writes the password anywhere.

#include <gmock/gmock.h>

#include <asio/io_context.hpp>
#include <chrono>
#include <thread>

#include "bridge_fixture.hpp"
#include "free_port.hpp"
#include "redis/redis_blocking.hpp"
#include "redis/redis_connection.hpp"
#include "redis_server.hpp"
#include "store/store_error.hpp"

namespace lwgate::integration {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// '@', ':' and '/' must be percent-encoded in the URI: the decoding is part of what is tested.
const std::string kPassword = "p@ss:w/rd-1";
const std::string kEncodedPassword = "p%40ss%3Aw%2Frd-1";
const std::string kAlicePassword = "al1ce-Secret";

// Redis's ACL user alice: every key, channel and command, password kAlicePassword.
std::vector<std::string> alice() {
    return {"--user", "alice", "on", ">" + kAlicePassword, "~*", "&*", "+@all"};
}

class RedisAuthTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!RedisServer::available()) GTEST_SKIP() << "redis-server is not installed";
    }

    // Redis asks every connection for kPassword (its default user's).
    void start_redis_with_password() {
        redis.set_extra_args({"--requirepass", kPassword});
        redis.set_cli_auth(kPassword);
        ASSERT_TRUE(redis.start());
    }

    std::string password_uri(const std::string& encoded_password = kEncodedPassword) const {
        return "redis+unix://:" + encoded_password + "@" + redis.socket().string();
    }

    void start_gateway(const std::string& store_uri, harness::GatewayOptions options = {}) {
        core.start();
        harness::GatewayConfig config;
        config.log_level = "debug";
        config.store_uri = store_uri;
        config.extra_yaml =
            "upstream:\n  uri: " + core.uri() + "\ncluster:\n  instance: gw-auth\n  lease: 2s\n";
        gateway.start(LWGATE_BINARY, config.yaml(), options);
    }

    DeviceOptions device(const std::string& endpoint) const {
        DeviceOptions o;
        o.endpoint = endpoint;
        o.port = gateway.port();
        o.lifetime = 300;
        return o;
    }

    // The device's record reached Redis (database `db`). Polled, bounded: the store writes on
    // its own thread.
    bool stored(const std::string& endpoint, int db = 0) const {
        const auto query =
            "-n " + std::to_string(db) + " HGET 'lwgate:dev:{" + endpoint + "}' endpoint";
        const auto deadline = SteadyClock::now() + 10s;
        while (redis.cli(query) != endpoint) {
            if (SteadyClock::now() > deadline) return false;
            std::this_thread::sleep_for(20ms);
        }
        return true;
    }

    // Neither the password nor its encoded form in anything lwgate wrote.
    void expect_no_secret(const std::vector<std::string>& secrets) const {
        std::string output = gateway.log();
        for (const auto& line : gateway.stdout_lines())
            output += line + "\n";
        for (const auto& secret : secrets)
            EXPECT_THAT(output, Not(HasSubstr(secret))) << "the password leaked";
    }

    void TearDown() override {
        if (gateway.pid() > 0 && gateway.running()) {
            const auto status = gateway.stop(10s);
            EXPECT_TRUE(status && *status == 0) << "gateway exit status";
        }
        if (HasFailure() && gateway.pid() > 0) {
            std::cerr << "---- gateway log ----\n" << gateway.log() << "---- end ----\n";
        }
    }

    RedisServer redis;
    CoreSimulator core;
    harness::GatewayProcess gateway;
};

TEST_F(RedisAuthTest, WithAPasswordLwgateStartsAndStoresTheDevice) {
    start_redis_with_password();
    start_gateway(password_uri());
    const std::string ep = "urn:imei:auth-password-1";
    auto d = register_at(core, device(ep));
    ASSERT_TRUE(d);
    EXPECT_TRUE(stored(ep));
    // The store's and the cluster's asynchronous connections logged in.
    EXPECT_GE(gateway.count_in_log("connected (authenticated)"), 2u);
    EXPECT_EQ(gateway.count_in_log("AUTH refused"), 0u);
    expect_no_secret({kPassword, kEncodedPassword});
}

// An ACL user over TCP, with a database: AUTH USER PASSWORD comes before SELECT. Redis's default
// user is off, so any command sent before the login would fail.
TEST_F(RedisAuthTest, AnAclUserLogsInOverTcp) {
    const auto port = free_tcp_port();
    ASSERT_NE(port, 0);
    auto args = alice();
    for (const char* a : {"--user", "default", "off"})
        args.emplace_back(a);
    for (const auto& a : {std::string("--port"), std::to_string(port), std::string("--bind"),
                          std::string("127.0.0.1")})
        args.push_back(a);
    redis.set_extra_args(args);
    redis.set_cli_auth(kAlicePassword, "alice");
    ASSERT_TRUE(redis.start());
    ASSERT_EQ(redis.cli("ACL WHOAMI"), "alice");

    start_gateway("redis://alice:" + kAlicePassword + "@127.0.0.1:" + std::to_string(port) + "/3");
    const std::string ep = "urn:imei:auth-acl-1";
    auto d = register_at(core, device(ep));
    ASSERT_TRUE(d);
    EXPECT_TRUE(stored(ep, 3)) << "in database 3";
    EXPECT_EQ(redis.cli("-n 0 EXISTS 'lwgate:dev:{" + ep + "}'"), "0");
    EXPECT_GE(gateway.count_in_log("redis alice@127.0.0.1:" + std::to_string(port) +
                                   "/3: connected (authenticated)"),
              1u)
        << "the log names the user, not the password";
    expect_no_secret({kAlicePassword});
}

// A wrong password: lwgate does not start. Its log says why (AUTH, Redis's WRONGPASS) and which
// key, with the password hidden; it tried again with the backoff meanwhile.
TEST_F(RedisAuthTest, AWrongPasswordStopsTheStartWithoutShowingIt) {
    start_redis_with_password();
    const std::string wrong = "Wr0ng-Passw0rd";
    harness::GatewayOptions options;
    options.ready_timeout = Millis{10'000};
    EXPECT_THROW(start_gateway(password_uri(wrong), options), harness::HarnessError);
    const auto status = gateway.wait_exit(5s);
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(*status, 1);
    const auto log = gateway.log();
    EXPECT_THAT(log, HasSubstr("AUTH refused: WRONGPASS"));
    EXPECT_GE(gateway.count_in_log("AUTH refused"), 2u) << "tried again";
    EXPECT_THAT(log, HasSubstr("cannot start: store.uri redis+unix://:***@"));
    expect_no_secret({wrong, kPassword, kEncodedPassword});
}

// Redis restarts empty on the same socket, asking for the same password: the asynchronous
// connections log in again; the instance finds its lease gone, writes its record anew and
// stores a new device.
TEST_F(RedisAuthTest, TheConnectionsLogInAgainAfterRedisRestarts) {
    start_redis_with_password();
    start_gateway(password_uri());
    const std::string ep = "urn:imei:auth-restart-1";
    auto d = register_at(core, device(ep));
    ASSERT_TRUE(d);
    ASSERT_TRUE(stored(ep));
    const auto logins = gateway.count_in_log("connected (authenticated)");

    redis.stop(SIGKILL);
    ASSERT_TRUE(redis.start());
    EXPECT_TRUE(gateway.wait_for_log("lease had run out", 15s));
    EXPECT_TRUE(stored(ep)) << "written again after the restart";
    const std::string ep2 = "urn:imei:auth-restart-2";
    auto d2 = register_at(core, device(ep2));
    ASSERT_TRUE(d2);
    EXPECT_TRUE(stored(ep2));
    EXPECT_GT(gateway.count_in_log("connected (authenticated)"), logins);
    EXPECT_EQ(gateway.count_in_log("AUTH refused"), 0u);
    expect_no_secret({kPassword, kEncodedPassword});
}

// The connections on their own, against Redis's default user without a password and alice: a
// refused login must not leave the commands to run as the default user.
class RedisAuthConnectionTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!RedisServer::available()) GTEST_SKIP() << "redis-server is not installed";
        redis.set_extra_args(alice());
        ASSERT_TRUE(redis.start());
        address.unix_path = redis.socket().string();
        address.username = "alice";
    }

    template <class Pred>
    bool run_until(Pred pred, std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!pred() && std::chrono::steady_clock::now() < deadline) {
            io.restart();
            io.run_for(10ms);
        }
        return pred();
    }

    RedisServer redis;
    redis::RedisAddress address;
    asio::io_context io;
};

TEST_F(RedisAuthConnectionTest, ARefusedLoginRunsNoCommandAndIsTriedAgain) {
    address.password = "not-alices-password";
    redis::ConnectionOptions o;
    o.backoff_max = 100ms;
    bool done = false;  // before the connection: its destructor completes the command
    redis::RedisConnection c(io, address, o);
    c.start();
    c.command({"SET", "written", "x"}, [&](std::error_code, redis::RedisReply) { done = true; });
    const auto connections = [&] {
        const auto stats = redis.cli("INFO stats");
        const auto at = stats.find("total_connections_received:");
        return at == std::string::npos ? 0ul : std::stoul(stats.substr(at + 27));
    };
    const auto before = connections();
    run_until([] { return false; }, 1000ms);
    EXPECT_FALSE(c.connected());
    EXPECT_EQ(c.connects(), 0u);
    EXPECT_FALSE(done) << "the command waits for a connection that logged in";
    EXPECT_EQ(redis.cli("EXISTS written"), "0") << "nothing ran as the default user";
    // Each cli() call is one connection too: the client's reconnections are most of these.
    EXPECT_GE(connections() - before, 4u) << "the login was tried again";
}

TEST_F(RedisAuthConnectionTest, TheRightLoginComesBeforeSelectAndTheCommands) {
    address.password = kAlicePassword;
    address.db = 2;
    std::string who;  // before the connection: its destructor completes what is in flight
    bool written = false;
    redis::RedisConnection c(io, address);
    c.start();
    c.command({"ACL", "WHOAMI"}, [&](std::error_code, redis::RedisReply r) { who = r.str; });
    c.command({"SET", "in-db-2", "x"},
              [&](std::error_code ec, redis::RedisReply) { written = !ec; });
    ASSERT_TRUE(run_until([&] { return !who.empty() && written; }, 5s));
    EXPECT_EQ(who, "alice");
    EXPECT_EQ(c.connects(), 1u);
    EXPECT_EQ(redis.cli("-n 2 EXISTS in-db-2"), "1");
}

TEST_F(RedisAuthConnectionTest, BlockingConnectionFailsNamingAuthNotThePassword) {
    address.password = "not-alices-password";
    auto refused = redis::BlockingRedis::connect(address, 2s);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, store::StoreErrc::io);
    EXPECT_THAT(refused.error().detail, HasSubstr("redis alice@unix:"));
    EXPECT_THAT(refused.error().detail, HasSubstr(": AUTH: WRONGPASS"));
    EXPECT_THAT(refused.error().detail, Not(HasSubstr("not-alices-password")));

    address.password = kAlicePassword;
    address.db = 1;
    auto connected = redis::BlockingRedis::connect(address, 2s);
    ASSERT_TRUE(connected) << connected.error().detail;
    auto who = connected->command({"ACL", "WHOAMI"});
    ASSERT_TRUE(who);
    EXPECT_EQ(who->str, "alice");
}

// A password for a Redis that has none: Redis refuses AUTH, and its answer names no password.
TEST_F(RedisAuthConnectionTest, APasswordForARedisWithoutOneIsRefused) {
    address.username.clear();
    address.password = "a-password-redis-does-not-know";
    auto refused = redis::BlockingRedis::connect(address, 2s);
    ASSERT_FALSE(refused);
    EXPECT_THAT(refused.error().detail, HasSubstr("AUTH: ERR"));
    EXPECT_THAT(refused.error().detail, Not(HasSubstr("a-password-redis-does-not-know")));
}

}  // namespace
}  // namespace lwgate::integration
