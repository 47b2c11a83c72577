// Credentials in a Redis store shared by several instances (two RedisStores on one real
// redis-server stand for two lwgate instances): what one writes the other reads through the
// change feed, an identity held by another endpoint is refused inside Redis whatever the
// writer's own table says, and an instance that missed trimmed changes is told to reload.
#include <gtest/gtest.h>

#include "redis/credential_codec.hpp"
#include "redis/redis_store.hpp"
#include "redis_server.hpp"

namespace lwgate::integration {
namespace {

using namespace std::chrono_literals;
using redis::RedisStore;

store::CredentialRecord credential(const std::string& endpoint, const std::string& identity) {
    store::CredentialRecord r;
    r.endpoint = endpoint;
    r.keys = {{identity, {0x00, 0x11, 0x22, 0x33}, 1'700'000'000'000}};
    r.updated = 1'700'000'000'000;
    return r;
}

class RedisCredentialsTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!RedisServer::available()) GTEST_SKIP() << "redis-server is not installed";
        ASSERT_TRUE(server.start());
    }

    std::unique_ptr<RedisStore> open(std::size_t log_cap = 100'000) {
        redis::RedisAddress a;
        a.unix_path = server.socket().string();
        redis::RedisStoreOptions o;
        o.open_timeout = 2000ms;
        o.credential_log_cap = log_cap;
        auto opened = RedisStore::open(a, o);
        EXPECT_TRUE(opened) << (opened ? "" : opened.error().message());
        return opened ? std::move(opened).value() : nullptr;
    }

    static std::vector<store::CredentialRecord> load(RedisStore& s) {
        auto loaded = s.load_credentials();
        EXPECT_TRUE(loaded) << (loaded ? "" : loaded.error().message());
        return loaded ? std::move(loaded).value() : std::vector<store::CredentialRecord>{};
    }

    RedisServer server{true};
};

TEST_F(RedisCredentialsTest, WhatOneInstanceWritesTheOtherLoadsAndReadsInItsFeed) {
    auto a = open();
    auto b = open();
    ASSERT_TRUE(a && b);
    EXPECT_TRUE(a->keeps_credentials());
    EXPECT_TRUE(a->shares_credentials());
    EXPECT_TRUE(load(*b).empty());
    const auto one = credential("ep-1", "id-1");
    ASSERT_TRUE(a->write_credentials({{"ep-1", one}}));

    auto feed = b->credential_changes("");
    ASSERT_TRUE(feed) << feed.error().message();
    EXPECT_FALSE(feed->reload);
    ASSERT_EQ(feed->changes.size(), 1u);
    EXPECT_EQ(feed->changes[0].endpoint, "ep-1");
    ASSERT_TRUE(feed->changes[0].record);
    EXPECT_EQ(*feed->changes[0].record, one);
    // Read from the cursor on: nothing new until the next change, then only that one.
    auto again = b->credential_changes(feed->cursor);
    ASSERT_TRUE(again);
    EXPECT_TRUE(again->changes.empty());
    ASSERT_TRUE(a->write_credentials({{"ep-1", std::nullopt}}));
    again = b->credential_changes(again->cursor);
    ASSERT_TRUE(again);
    ASSERT_EQ(again->changes.size(), 1u);
    EXPECT_FALSE(again->changes[0].record) << "a removal reads as no record";

    ASSERT_TRUE(a->write_credentials({{"ep-2", credential("ep-2", "id-2")}}));
    const auto loaded = load(*open());
    ASSERT_EQ(loaded.size(), 1u);
    EXPECT_EQ(loaded[0], credential("ep-2", "id-2"));
}

// Two instances each think an identity is free (their tables are a moment behind each other):
// Redis gives it to the first, and refuses it to the second with the endpoint that holds it.
TEST_F(RedisCredentialsTest, AnIdentityHeldByAnotherEndpointIsRefusedInRedis) {
    auto a = open();
    auto b = open();
    ASSERT_TRUE(a && b);
    ASSERT_TRUE(a->write_credentials({{"ep-a", credential("ep-a", "shared-id")}}));
    auto refused = b->write_credentials({{"ep-b", credential("ep-b", "shared-id")}});
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, store::StoreErrc::name_taken);
    EXPECT_NE(refused.error().detail.find("ep-a"), std::string::npos) << refused.error().detail;
    // All or nothing: a batch with one taken identity leaves everything as it was.
    refused = b->write_credentials(
        {{"ep-c", credential("ep-c", "free-id")}, {"ep-b", credential("ep-b", "shared-id")}});
    ASSERT_FALSE(refused);
    EXPECT_EQ(load(*b).size(), 1u);
    // A batch that moves the identity (ep-a gives it up, ep-b takes it) is one change.
    auto moved = credential("ep-a", "new-id");
    ASSERT_TRUE(b->write_credentials({{"ep-a", moved}, {"ep-b", credential("ep-b", "shared-id")}}))
        << "a batch may move an identity between its endpoints";
    // The endpoint's own identity is never taken from itself: a rotation keeps it.
    auto rotated = credential("ep-b", "shared-id");
    rotated.keys.push_back({"shared-id-2", {0x44}, 1'700'000'001'000});
    EXPECT_TRUE(a->write_credentials({{"ep-b", rotated}}));
    // And a removed endpoint's identity is free again.
    ASSERT_TRUE(a->write_credentials({{"ep-b", std::nullopt}}));
    EXPECT_TRUE(b->write_credentials({{"ep-x", credential("ep-x", "shared-id-2")}}));
}

// A certificate name speaks for one endpoint too.
TEST_F(RedisCredentialsTest, ACertificateNameHeldByAnotherEndpointIsRefused) {
    auto a = open();
    ASSERT_TRUE(a);
    auto first = credential("ep-1", "id-1");
    first.certificate_name = "device.example";
    ASSERT_TRUE(a->write_credentials({{"ep-1", first}}));
    auto second = credential("ep-2", "id-2");
    second.certificate_name = "device.example";
    auto refused = a->write_credentials({{"ep-2", second}});
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, store::StoreErrc::name_taken);
}

// An instance that read nothing while more changes than the log keeps were made is told to load
// everything again, and goes on from the log's end.
TEST_F(RedisCredentialsTest, ChangesTrimmedAwayAskForAReload) {
    auto writer = open(5);
    auto away = open(5);
    ASSERT_TRUE(writer && away);
    EXPECT_TRUE(load(*away).empty());
    for (int i = 0; i < 10; ++i) {
        const auto ep = "ep-" + std::to_string(i);
        ASSERT_TRUE(writer->write_credentials({{ep, credential(ep, "id-" + std::to_string(i))}}));
    }
    auto feed = away->credential_changes("");
    ASSERT_TRUE(feed) << feed.error().message();
    EXPECT_TRUE(feed->reload);
    EXPECT_EQ(load(*away).size(), 10u);
    auto next = away->credential_changes(feed->cursor);
    ASSERT_TRUE(next);
    EXPECT_FALSE(next->reload);
    EXPECT_TRUE(next->changes.empty());
}

// Damage in Redis (someone's HSET by hand) is skipped with a warning, never trusted.
TEST_F(RedisCredentialsTest, ADamagedRecordIsSkipped) {
    auto a = open();
    ASSERT_TRUE(a);
    ASSERT_TRUE(a->write_credentials({{"ep-1", credential("ep-1", "id-1")}}));
    EXPECT_EQ(server.command({"HSET", std::string(redis::credentials_key), "ep-2", "{not json"}),
              "1");
    EXPECT_EQ(server.command({"HSET", std::string(redis::credentials_key), "ep-3",
                              redis::encode_credential(credential("ep-1", "id-9"))}),
              "1");
    const auto loaded = load(*a);
    ASSERT_EQ(loaded.size(), 1u) << "only the sound record of its own endpoint";
    EXPECT_EQ(loaded[0].endpoint, "ep-1");
}

}  // namespace
}  // namespace lwgate::integration
