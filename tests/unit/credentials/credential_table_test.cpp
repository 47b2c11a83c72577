#include "credentials/credential_table.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace lwgate::credentials {
namespace {

store::CredentialRecord entry(std::string endpoint, std::vector<std::string> identities,
                              std::string certificate = {}) {
    store::CredentialRecord r;
    r.endpoint = std::move(endpoint);
    std::uint8_t b = 1;
    for (auto& id : identities)
        r.keys.push_back({std::move(id), {b, b, b, b++}, 0});
    r.certificate_name = std::move(certificate);
    return r;
}

std::vector<store::CredentialChange> put(store::CredentialRecord r) {
    auto endpoint = r.endpoint;
    return {{std::move(endpoint), std::move(r)}};
}

TEST(CredentialTable, AnIdentityNamesItsEndpointAndKey) {
    CredentialTable table;
    table.apply(put(entry("urn:imei:1", {"id-1"})));
    std::vector<std::uint8_t> key;
    ASSERT_TRUE(table.psk_key("id-1", key));
    EXPECT_EQ(key, (std::vector<std::uint8_t>{1, 1, 1, 1}));
    EXPECT_EQ(table.endpoint_of_psk("id-1"), "urn:imei:1");
    EXPECT_TRUE(table.has_credentials("urn:imei:1"));
    EXPECT_FALSE(table.psk_key("id-2", key));
    EXPECT_FALSE(table.endpoint_of_psk("id-2"));
    EXPECT_FALSE(table.has_credentials("urn:imei:2"));
}

TEST(CredentialTable, DuringARotationBothKeysAreAcceptedAndTheNewestGoesToTheCore) {
    CredentialTable table;
    table.apply(put(entry("ep", {"old", "new"})));
    std::vector<std::uint8_t> key;
    EXPECT_TRUE(table.psk_key("old", key));
    EXPECT_TRUE(table.psk_key("new", key));
    EXPECT_EQ(table.current_psk("ep")->identity, "new");
    table.apply(put(entry("ep", {"new"})));
    EXPECT_FALSE(table.psk_key("old", key));
    EXPECT_FALSE(table.endpoint_of_psk("old"));
    EXPECT_EQ(table.endpoint_of_psk("new"), "ep");
}

TEST(CredentialTable, RemovalForgetsEveryIndex) {
    CredentialTable table;
    table.apply(put(entry("ep", {"id"}, "cn-of-ep")));
    EXPECT_EQ(table.endpoint_of_certificate("cn-of-ep"), "ep");
    table.apply({{"ep", std::nullopt}});
    EXPECT_FALSE(table.endpoint_of_certificate("cn-of-ep"));
    EXPECT_FALSE(table.endpoint_of_psk("id"));
    EXPECT_EQ(table.size(), 0u);
    table.apply({{"never-there", std::nullopt}});  // removing nothing is no error
}

TEST(CredentialTable, AnIdentityMovedBetweenEndpointsInOneBatchStaysIndexed) {
    CredentialTable table;
    table.apply(put(entry("a", {"shared"})));
    // "b" takes the identity and "a" gets another, in one batch, in either order.
    table.apply({{"b", entry("b", {"shared"})}, {"a", entry("a", {"a-2"})}});
    EXPECT_EQ(table.endpoint_of_psk("shared"), "b");
    EXPECT_EQ(table.endpoint_of_psk("a-2"), "a");
}

TEST(CredentialTable, PagesGoInEndpointOrderFromACursor) {
    CredentialTable table;
    for (const char* ep : {"c", "a", "b", "d"})
        table.apply(put(entry(ep, {std::string("id-") + ep})));
    auto first = table.page("", 2);
    ASSERT_EQ(first.size(), 2u);
    EXPECT_EQ(first[0].endpoint, "a");
    EXPECT_EQ(first[1].endpoint, "b");
    auto second = table.page("b", 10);
    ASSERT_EQ(second.size(), 2u);
    EXPECT_EQ(second[0].endpoint, "c");
    EXPECT_TRUE(table.page("d", 10).empty());
}

TEST(CredentialTable, HandshakesReadWhileAWriterChangesTheTable) {
    CredentialTable table;
    table.apply(put(entry("stable", {"stable-id"})));
    std::atomic<bool> stop{false};
    std::atomic<int> misses{0};
    std::thread reader([&] {
        std::vector<std::uint8_t> key;
        while (!stop)
            if (!table.psk_key("stable-id", key)) ++misses;
    });
    for (int i = 0; i < 2000; ++i) {
        const auto ep = "ep-" + std::to_string(i % 50);
        table.apply(put(entry(ep, {"id-" + std::to_string(i)})));
    }
    stop = true;
    reader.join();
    EXPECT_EQ(misses, 0);
    EXPECT_EQ(table.size(), 51u);
}

}  // namespace
}  // namespace lwgate::credentials
