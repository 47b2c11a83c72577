#include "credentials/credential_service.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "credentials/credential_error.hpp"
#include "store/memory_store.hpp"

namespace lwgate::credentials {
namespace {

// The credentials part of a store, in memory (MemoryStore's device half is not needed here).
class CredentialsOnlyStore : public store::Store {
  public:
    Result<std::vector<store::DeviceRecord>, Error> load_all() override { return {}; }
    std::uint64_t put(store::DeviceRecord) override { return 0; }
    std::uint64_t erase(const std::string&, std::uint64_t) override { return 0; }
    void set_commit_listener(std::function<void(std::uint64_t)>) override {}
    void flush() override {}
    store::StoreStats stats() const override { return {}; }
};

// A store whose writes fail: nothing may change then.
class FailingStore final : public CredentialsOnlyStore {
  public:
    Result<void, Error> write_credentials(const std::vector<store::CredentialChange>&) override {
        return fail(Error{store::StoreErrc::write_failed, "disk full"});
    }
    bool keeps_credentials() const override { return true; }
};

// A store that keeps no credentials: Store's defaults.
class NoCredentialsStore final : public CredentialsOnlyStore {};

store::CredentialRecord record(std::string endpoint, std::string identity, std::uint8_t key) {
    store::CredentialRecord r;
    r.endpoint = std::move(endpoint);
    r.keys.push_back({std::move(identity), {key}, 0});
    return r;
}

class CredentialServiceTest : public ::testing::Test {
  protected:
    store::MemoryStore store;
    CredentialTable table;
    CredentialService service{table, store};

    ChangeOutcome add(const std::string& ep, const std::string& id,
                      const std::string& key = "0011") {
        auto out = service.put({ep, id, key, {}}, 1000);
        EXPECT_TRUE(out) << out.error().message();
        return out ? *out : ChangeOutcome{};
    }
};

TEST_F(CredentialServiceTest, PutStoresBeforeItIsVisibleAndReplacingRetiresTheOldIdentity) {
    const auto first = add("ep", "id-1");
    EXPECT_TRUE(first.created);
    EXPECT_EQ(store.load_credentials()->size(), 1u);
    const auto second = add("ep", "id-2");
    EXPECT_FALSE(second.created);
    EXPECT_EQ(second.retired, std::vector<std::string>{"id-1"});
    EXPECT_FALSE(table.endpoint_of_psk("id-1"));
    EXPECT_EQ(store.load_credentials()->front().keys.front().identity, "id-2");
}

TEST_F(CredentialServiceTest, AnIdentityOfAnotherEndpointIsRefused) {
    add("a", "shared");
    auto out = service.put({"b", "shared", "00", {}}, 0);
    ASSERT_FALSE(out);
    EXPECT_EQ(out.error().code, CredentialErrc::identity_taken);
    EXPECT_NE(out.error().detail.find("'a'"), std::string::npos);
    EXPECT_FALSE(table.has_credentials("b"));
}

TEST_F(CredentialServiceTest, ACertificateNameSpeaksForOneEndpointOnly) {
    ASSERT_TRUE(service.put({"a", "ia", "00", "device-cert"}, 0));
    auto out = service.put({"b", "ib", "00", "device-cert"}, 0);
    ASSERT_FALSE(out);
    EXPECT_EQ(out.error().code, CredentialErrc::certificate_taken);
}

TEST_F(CredentialServiceTest, RotationOverlapsThenRetireEndsIt) {
    add("ep", "id-1");
    auto rotated = service.rotate("ep", "id-2", "aabb", 2000);
    ASSERT_TRUE(rotated) << rotated.error().message();
    EXPECT_TRUE(rotated->retired.empty());
    std::vector<std::uint8_t> key;
    EXPECT_TRUE(table.psk_key("id-1", key));
    EXPECT_TRUE(table.psk_key("id-2", key));
    EXPECT_EQ(table.current_psk("ep")->identity, "id-2");

    auto retired = service.retire("ep", std::nullopt, 3000);
    ASSERT_TRUE(retired);
    EXPECT_EQ(retired->retired, std::vector<std::string>{"id-1"});
    EXPECT_FALSE(table.psk_key("id-1", key));
    EXPECT_EQ(store.load_credentials()->front().keys.size(), 1u);

    auto again = service.retire("ep", std::nullopt, 4000);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, CredentialErrc::nothing_to_retire);
}

TEST_F(CredentialServiceTest, ASecondRotationDropsTheOldestKey) {
    add("ep", "k1");
    ASSERT_TRUE(service.rotate("ep", "k2", "01", 0));
    auto third = service.rotate("ep", "k3", "02", 0);
    ASSERT_TRUE(third);
    EXPECT_EQ(third->retired, std::vector<std::string>{"k1"});
    EXPECT_EQ(table.get("ep")->keys.size(), 2u);
}

TEST_F(CredentialServiceTest, RotationToTheIdentityInUseOrOfAnotherEndpointIsRefused) {
    add("ep", "id-1");
    add("other", "theirs");
    EXPECT_EQ(service.rotate("ep", "id-1", "00", 0).error().code, CredentialErrc::same_identity);
    EXPECT_EQ(service.rotate("ep", "theirs", "00", 0).error().code, CredentialErrc::identity_taken);
    EXPECT_EQ(service.rotate("nobody", "x", "00", 0).error().code, CredentialErrc::not_found);
    EXPECT_EQ(service.rotate("ep", "id-9", "xyz", 0).error().code, CredentialErrc::invalid);
}

TEST_F(CredentialServiceTest, RemoveRetiresEveryIdentity) {
    add("ep", "id-1");
    ASSERT_TRUE(service.rotate("ep", "id-2", "01", 0));
    auto removed = service.remove("ep");
    ASSERT_TRUE(removed);
    EXPECT_EQ(removed->retired, (std::vector<std::string>{"id-1", "id-2"}));
    EXPECT_TRUE(store.load_credentials()->empty());
    EXPECT_EQ(service.remove("ep").error().code, CredentialErrc::not_found);
}

TEST_F(CredentialServiceTest, ImportIsAllOrNothing) {
    add("a", "ia");
    std::vector<store::CredentialRecord> batch{
        record("new-1", "n1", 1), record("new-2", "ia", 2),  // a's identity: refused
    };
    auto out = service.import(batch);
    ASSERT_FALSE(out);
    EXPECT_EQ(out.error().code, CredentialErrc::identity_taken);
    EXPECT_FALSE(table.has_credentials("new-1"));
    // The same batch with "a" replaced in it too: a gives "ia" up, so it is free.
    batch.push_back(record("a", "ia-2", 3));
    auto ok = service.import(batch);
    ASSERT_TRUE(ok) << ok.error().message();
    EXPECT_EQ(ok->created, 2u);
    EXPECT_EQ(ok->replaced, 1u);
    EXPECT_EQ(table.endpoint_of_psk("ia"), "new-2");
    EXPECT_EQ(store.load_credentials()->size(), 3u);
}

TEST_F(CredentialServiceTest, AFailedWriteChangesNothing) {
    FailingStore failing;
    CredentialTable other;
    CredentialService broken(other, failing);
    auto out = broken.put({"ep", "id", "00", {}}, 0);
    ASSERT_FALSE(out);
    EXPECT_EQ(out.error().code, CredentialErrc::store_failed);
    EXPECT_FALSE(other.has_credentials("ep"));
}

// A shared store refuses an identity another instance gave away first: the same 409 as the
// table's own check, not a failed write.
class TakenStore final : public CredentialsOnlyStore {
  public:
    Result<void, Error> write_credentials(const std::vector<store::CredentialChange>&) override {
        return fail(Error{store::StoreErrc::name_taken, "psk:id belongs to endpoint 'other'"});
    }
    bool keeps_credentials() const override { return true; }
};

TEST_F(CredentialServiceTest, AnIdentityTakenInTheSharedStoreIsAConflict) {
    TakenStore taken;
    CredentialTable other;
    CredentialService shared(other, taken);
    auto out = shared.put({"ep", "id", "00", {}}, 0);
    ASSERT_FALSE(out);
    EXPECT_EQ(out.error().code, CredentialErrc::identity_taken);
    EXPECT_NE(out.error().message().find("other"), std::string::npos);
    EXPECT_FALSE(other.has_credentials("ep"));
}

// Another instance's changes (read from the shared store): into the table as they are, the
// identities they end returned for closing; a full reload removes what the store lost.
TEST_F(CredentialServiceTest, SharedChangesApplyAndNameTheIdentitiesTheyEnd) {
    add("a", "id-a");
    add("b", "id-b");
    auto moved = record("a", "id-a2", 7);
    auto retired = service.apply_shared({{"a", moved}, {"b", std::nullopt}});
    std::sort(retired.begin(), retired.end());
    EXPECT_EQ(retired, (std::vector<std::string>{"id-a", "id-b"}));
    EXPECT_EQ(table.endpoint_of_psk("id-a2"), "a");
    EXPECT_FALSE(table.endpoint_of_psk("id-a"));
    EXPECT_FALSE(table.has_credentials("b"));
    // Applying the same change again (an instance reads its own writes back) ends nothing.
    EXPECT_TRUE(service.apply_shared({{"a", moved}}).empty());

    add("c", "id-c");
    retired = service.replace_all({record("a", "id-a2", 7), record("d", "id-d", 1)});
    EXPECT_EQ(retired, (std::vector<std::string>{"id-c"}));
    EXPECT_FALSE(table.has_credentials("c"));
    EXPECT_EQ(table.endpoint_of_psk("id-d"), "d");
    EXPECT_EQ(table.size(), 2u);
}

TEST_F(CredentialServiceTest, LoadRestoresWhatTheStoreKept) {
    add("ep", "id-1");
    ASSERT_TRUE(service.rotate("ep", "id-2", "01", 5));
    CredentialTable fresh;
    CredentialService restarted(fresh, store);
    ASSERT_EQ(*restarted.load(), 1u);
    EXPECT_EQ(fresh.get("ep"), table.get("ep"));
}

config::Credential yaml(std::string ep, std::string id, std::vector<std::uint8_t> key = {1, 2}) {
    return config::Credential{std::move(ep), std::move(id), std::move(key), 1};
}

TEST_F(CredentialServiceTest, TheYamlSeedsAddsChangesAndRemovesOnlyWhatItSeeded) {
    auto first = service.seed({yaml("y1", "yi1"), yaml("y2", "yi2")}, 10);
    ASSERT_TRUE(first);
    EXPECT_EQ(first->added, 2u);
    add("api", "api-id");
    // Same YAML again: nothing to do.
    auto same = service.seed({yaml("y1", "yi1"), yaml("y2", "yi2")}, 20);
    ASSERT_TRUE(same);
    EXPECT_EQ(same->added + same->changed + same->removed, 0u);
    // y1's key changes, y2 goes, the API's entry stays.
    auto next = service.seed({yaml("y1", "yi1", {9})}, 30);
    ASSERT_TRUE(next);
    EXPECT_EQ(next->changed, 1u);
    EXPECT_EQ(next->removed, 1u);
    EXPECT_EQ(next->retired, std::vector<std::string>{"yi2"});
    EXPECT_TRUE(table.has_credentials("api"));
    EXPECT_FALSE(table.has_credentials("y2"));
    EXPECT_EQ(table.get("y1")->keys.front().key, std::vector<std::uint8_t>{9});
    EXPECT_EQ(store.load_credentials()->size(), 2u);
}

TEST_F(CredentialServiceTest, WhatTheApiChangedTheYamlNoLongerOverrides) {
    ASSERT_TRUE(service.seed({yaml("ep", "from-yaml")}, 0));
    ASSERT_TRUE(service.rotate("ep", "from-api", "0a", 1));
    auto again = service.seed({yaml("ep", "from-yaml", {7})}, 2);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->overridden, std::vector<std::string>{"ep"});
    EXPECT_EQ(table.current_psk("ep")->identity, "from-api");
    // Not in the YAML any more: still the API's.
    ASSERT_TRUE(service.seed({}, 3));
    EXPECT_TRUE(table.has_credentials("ep"));
}

TEST_F(CredentialServiceTest, AYamlIdentityHeldThroughTheApiIsAConflictNotAFailure) {
    add("api", "taken");
    auto out = service.seed({yaml("y", "taken"), yaml("z", "free")}, 0);
    ASSERT_TRUE(out);
    ASSERT_EQ(out->conflicts.size(), 1u);
    EXPECT_EQ(out->added, 1u);
    EXPECT_TRUE(table.has_credentials("z"));
}

TEST_F(CredentialServiceTest, WithoutAStoreForCredentialsTheYamlSeedsMemoryAndTheApiIsRefused) {
    NoCredentialsStore none;
    CredentialTable memory;
    CredentialService readonly(memory, none);
    ASSERT_TRUE(readonly.seed({yaml("y", "yi")}, 0));
    EXPECT_TRUE(memory.has_credentials("y"));
    EXPECT_FALSE(readonly.writable());
    EXPECT_EQ(readonly.put({"e", "i", "00", {}}, 0).error().code, CredentialErrc::unsupported);
}

}  // namespace
}  // namespace lwgate::credentials
