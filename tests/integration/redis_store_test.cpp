// RedisStore against a real redis-server of the test's own (unix socket, temp dir): the round
// trip, coalescing, the commit listener, a Redis restart in the middle, an unreachable Redis.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <mutex>
#include <thread>

#include "redis/record_codec.hpp"
#include "redis/redis_store.hpp"
#include "redis_server.hpp"

namespace lwgate::integration {
namespace {

using namespace std::chrono_literals;
using redis::RedisStore;

store::DeviceRecord record(const std::string& endpoint, std::uint32_t lifetime = 300) {
    store::DeviceRecord r;
    r.endpoint = endpoint;
    r.location = {"rd", "1"};
    r.lifetime = lifetime;
    r.deadline = 1'700'000'000'000;
    r.binding = "U";
    r.version = "1.1";
    r.register_query = "ep=" + endpoint;
    r.local_port = 40000;
    r.observations = {{{1, 2, 3}, "/3/0/13", 42, {0x41, 0x01}}};
    r.queued = {{{7}, {0x02}, 1'700'000'000'500}};
    return r;
}

class RedisStoreTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!RedisServer::available()) GTEST_SKIP() << "redis-server is not installed";
        ASSERT_TRUE(server.start());
    }

    redis::RedisAddress address(int db = 0) const {
        redis::RedisAddress a;
        a.unix_path = server.socket().string();
        a.db = db;
        return a;
    }

    static redis::RedisStoreOptions quick() {
        redis::RedisStoreOptions o;
        o.retry_delay = 100ms;
        o.connection.backoff_max = 200ms;
        o.open_timeout = 2000ms;
        return o;
    }

    std::unique_ptr<RedisStore> open(int db = 0) {
        auto opened = RedisStore::open(address(db), quick());
        EXPECT_TRUE(opened) << (opened ? "" : opened.error().message());
        return opened ? std::move(opened).value() : nullptr;
    }

    std::vector<store::DeviceRecord> load(int db = 0) {
        auto s = open(db);
        if (!s) return {};
        auto loaded = s->load_all();
        EXPECT_TRUE(loaded) << (loaded ? "" : loaded.error().message());
        return loaded ? std::move(loaded).value() : std::vector<store::DeviceRecord>{};
    }

    RedisServer server{true};
};

// What the commit listener reported, for a test to wait on.
struct Commits {
    std::mutex m;
    std::vector<std::uint64_t> seen;
    void operator()(std::uint64_t seq) {
        std::lock_guard lock(m);
        seen.push_back(seq);
    }
    bool wait_for(std::uint64_t seq, std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            {
                std::lock_guard lock(m);
                if (!seen.empty() && seen.back() >= seq) return true;
            }
            std::this_thread::sleep_for(10ms);
        }
        return false;
    }
};

TEST_F(RedisStoreTest, PutEraseLoadRoundTrip) {
    auto s = open();
    ASSERT_TRUE(s);
    s->put(record("urn:imei:1"));
    s->put(record("urn:imei:2"));
    s->put(record("urn:imei:3"));
    s->erase("urn:imei:2");
    s->flush();
    const auto st = s->stats();
    EXPECT_EQ(st.puts, 3u);
    EXPECT_EQ(st.erases, 1u);
    EXPECT_EQ(st.errors, 0u);
    EXPECT_GE(st.batches, 1u);
    s.reset();
    const auto loaded = load();
    ASSERT_EQ(loaded.size(), 2u);
    EXPECT_EQ(loaded[0], record("urn:imei:1"));
    EXPECT_EQ(loaded[1], record("urn:imei:3"));
    EXPECT_EQ(server.command({"TYPE", "lwgate:dev:{urn:imei:1}"}), "hash");
    EXPECT_EQ(server.command({"EXISTS", "lwgate:dev:{urn:imei:2}"}), "0");
}

TEST_F(RedisStoreTest, WritesWhileABatchIsInFlightAreCoalesced) {
    auto s = open();
    ASSERT_TRUE(s);
    Commits commits;
    s->set_commit_listener(std::ref(commits));
    // Redis frozen: the first batch waits for its replies, everything after it piles up.
    ASSERT_EQ(::kill(server.pid(), SIGSTOP), 0);
    std::uint64_t last = 0;
    for (std::uint32_t i = 1; i <= 100; ++i)
        last = s->put(record("urn:imei:c", i));
    s->put(record("urn:imei:d"));
    ASSERT_EQ(::kill(server.pid(), SIGCONT), 0);
    ASSERT_TRUE(commits.wait_for(last + 1, 5s));
    const auto st = s->stats();
    EXPECT_GE(st.coalesced, 98u);
    EXPECT_LE(st.batches, 2u);
    s.reset();
    const auto loaded = load();
    ASSERT_EQ(loaded.size(), 2u);
    EXPECT_EQ(loaded[0].lifetime, 100u) << "the newest write wins";
}

TEST_F(RedisStoreTest, CommitListenerReportsAcknowledgedSequenceNumbers) {
    auto s = open();
    ASSERT_TRUE(s);
    Commits commits;
    s->set_commit_listener(std::ref(commits));
    const auto a = s->put(record("urn:imei:a"));
    ASSERT_TRUE(commits.wait_for(a, 5s));
    EXPECT_EQ(server.command({"HGET", "lwgate:dev:{urn:imei:a}", "lifetime"}), "300")
        << "committed means in Redis";
    const auto b = s->erase("urn:imei:a");
    EXPECT_GT(b, a);
    ASSERT_TRUE(commits.wait_for(b, 5s));
    EXPECT_EQ(server.command({"EXISTS", "lwgate:dev:{urn:imei:a}"}), "0");
    std::lock_guard lock(commits.m);
    EXPECT_TRUE(std::is_sorted(commits.seen.begin(), commits.seen.end()));
}

TEST_F(RedisStoreTest, RedisRestartInTheMiddleLosesNothingAcknowledged) {
    auto s = open();
    ASSERT_TRUE(s);
    Commits commits;
    s->set_commit_listener(std::ref(commits));
    ASSERT_TRUE(commits.wait_for(s->put(record("urn:imei:before")), 5s));

    server.stop(SIGKILL);  // acknowledged writes are in the fsync'ed append-only file
    const auto during = s->put(record("urn:imei:during"));
    s->flush();  // one failed attempt
    EXPECT_GE(s->stats().errors, 1u);
    // The store keeps retrying against nothing (every 500 ms): wait for the second failure.
    const auto retry_deadline = std::chrono::steady_clock::now() + 5s;
    while (s->stats().errors < 2 && std::chrono::steady_clock::now() < retry_deadline)
        std::this_thread::sleep_for(10ms);
    EXPECT_GE(s->stats().errors, 2u) << "retried while Redis was down";

    ASSERT_TRUE(server.start());
    ASSERT_TRUE(commits.wait_for(during, 10s)) << "written once Redis is back";
    const auto after = s->put(record("urn:imei:after"));
    ASSERT_TRUE(commits.wait_for(after, 5s));
    s.reset();
    const auto loaded = load();
    ASSERT_EQ(loaded.size(), 3u);
    EXPECT_EQ(loaded[0].endpoint, "urn:imei:after");
    EXPECT_EQ(loaded[1].endpoint, "urn:imei:before");
    EXPECT_EQ(loaded[2].endpoint, "urn:imei:during");
}

TEST_F(RedisStoreTest, ABacklogIsWrittenInBoundedBatches) {
    auto o = quick();
    o.max_batch_records = 10;
    auto opened = RedisStore::open(address(), o);
    ASSERT_TRUE(opened);
    auto& s = **opened;
    Commits commits;
    s.set_commit_listener(std::ref(commits));
    ASSERT_EQ(::kill(server.pid(), SIGSTOP), 0);
    std::uint64_t last = 0;
    for (int i = 0; i < 35; ++i)
        last = s.put(record("urn:imei:b" + std::to_string(i)));
    ASSERT_EQ(::kill(server.pid(), SIGCONT), 0);
    ASSERT_TRUE(commits.wait_for(last, 5s));
    EXPECT_GE(s.stats().batches, 4u);
    {
        std::lock_guard lock(commits.m);
        EXPECT_EQ(commits.seen.back(), last);
    }
    opened->reset();
    EXPECT_EQ(load().size(), 35u);
}

TEST_F(RedisStoreTest, DestructorWritesWhatIsPending) {
    auto s = open();
    ASSERT_TRUE(s);
    for (int i = 0; i < 50; ++i)
        s->put(record("urn:imei:p" + std::to_string(i)));
    s.reset();
    EXPECT_EQ(load().size(), 50u);
}

TEST_F(RedisStoreTest, DatabaseNumberIsUsed) {
    auto s = open(3);
    ASSERT_TRUE(s);
    s->put(record("urn:imei:db3"));
    s->flush();
    s.reset();
    EXPECT_EQ(load(3).size(), 1u);
    EXPECT_TRUE(load(0).empty());
}

TEST_F(RedisStoreTest, DamagedHashesAreSkippedOthersLoad) {
    auto s = open();
    ASSERT_TRUE(s);
    s->put(record("urn:imei:good"));
    s->flush();
    s.reset();
    EXPECT_EQ(server.command({"HSET", "lwgate:dev:{bad}", "v", "1"}), "1");
    EXPECT_EQ(server.command({"SET", "lwgate:dev:{string}", "x"}), "OK");
    // A whole record stored under another endpoint's key.
    std::vector<std::string> hset{"HSET", "lwgate:dev:{elsewhere}"};
    for (auto& [f, v] : redis::encode_record(record("urn:imei:other"))) {
        hset.push_back(f);
        hset.push_back(v);
    }
    EXPECT_NE(server.command(hset).rfind("ERR", 0), 0u);
    const auto loaded = load();
    ASSERT_EQ(loaded.size(), 1u);
    EXPECT_EQ(loaded[0].endpoint, "urn:imei:good");
}

TEST(RedisStoreOpen, UnreachableRedisFailsNamingTheAddress) {
    redis::RedisAddress a;
    a.unix_path = "/nonexistent/lwgate-test/redis.sock";
    redis::RedisStoreOptions o;
    o.open_timeout = 300ms;
    auto opened = RedisStore::open(a, o);
    ASSERT_FALSE(opened);
    EXPECT_EQ(opened.error().code, store::StoreErrc::cannot_open);
    EXPECT_THAT(opened.error().detail, ::testing::HasSubstr("unix:/nonexistent/lwgate-test"));
}

}  // namespace
}  // namespace lwgate::integration
