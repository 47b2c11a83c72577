// /v1/credentials against a backend holding a real CredentialService on a memory store: what
// each route answers, that keys never appear in an answer, that retired identities are handed
// to the backend to close, and how bad requests are classified.
#include "admin/credentials_api.hpp"

#include <gtest/gtest.h>

#include "admin/api.hpp"
#include "store/memory_store.hpp"
#include "unit/admin/no_backend.hpp"

namespace lwgate::admin {
namespace {

using nlohmann::json;

class CredentialBackend final : public NoBackend {
  public:
    credentials::CredentialService* credential_service() override { return &service; }
    const credentials::CredentialTable* credential_table() override { return &table; }
    std::size_t close_identities(const std::vector<std::string>& identities) override {
        closed.insert(closed.end(), identities.begin(), identities.end());
        return identities.size();
    }

    store::MemoryStore store;
    credentials::CredentialTable table;
    credentials::CredentialService service{table, store};
    std::vector<std::string> closed;
};

class CredentialsApiTest : public ::testing::Test {
  protected:
    Reply call(std::string method, std::string path, std::string body = {}) {
        ApiRequest request;
        request.method = std::move(method);
        const auto q = path.find('?');
        request.path = path.substr(0, q);
        if (q != std::string::npos) request.query = parse_query(path.substr(q + 1));
        request.body = std::move(body);
        request.client = "127.0.0.1:1";
        auto outcome = api.handle(request, [](Reply) {});
        return std::get<Reply>(outcome);
    }
    Reply add(const std::string& ep, const std::string& id, const std::string& key = "0a0b0c") {
        return call("POST", "/v1/credentials",
                    json{{"endpoint", ep}, {"psk_identity", id}, {"psk_key_hex", key}}.dump());
    }

    CredentialBackend backend;
    Api api{"", backend};
};

TEST_F(CredentialsApiTest, AddShowListRemoveWithoutEverShowingAKey) {
    const auto added = add("urn:imei:1", "id-1", "deadbeefcafe");
    ASSERT_EQ(added.status, 201) << added.body;
    EXPECT_EQ(added.body.find("deadbeefcafe"), std::string::npos);
    const auto shown = call("GET", "/v1/credentials/urn:imei:1");
    ASSERT_EQ(shown.status, 200);
    const auto entry = json::parse(shown.body);
    EXPECT_EQ(entry["keys"][0]["psk_identity"], "id-1");
    EXPECT_EQ(entry["keys"][0]["fingerprint"].get<std::string>().size(), 7u + 16u);
    EXPECT_EQ(shown.body.find("deadbeefcafe"), std::string::npos);
    EXPECT_EQ(add("urn:imei:1", "id-1b").status, 200) << "a replacement is 200";
    EXPECT_EQ(backend.closed, std::vector<std::string>{"id-1"});
    const auto removed = call("DELETE", "/v1/credentials/urn:imei:1");
    ASSERT_EQ(removed.status, 200);
    EXPECT_EQ(json::parse(removed.body)["closed"], 1);
    EXPECT_EQ(call("GET", "/v1/credentials/urn:imei:1").status, 404);
}

TEST_F(CredentialsApiTest, PagesFollowTheCursorToTheEnd) {
    for (int i = 0; i < 5; ++i)
        ASSERT_EQ(add("ep-" + std::to_string(i), "id-" + std::to_string(i)).status, 201);
    std::vector<std::string> seen;
    std::string path = "/v1/credentials?limit=2";
    for (int pages = 0; pages < 10; ++pages) {
        const auto page = json::parse(call("GET", path).body);
        EXPECT_EQ(page["total"], 5);
        for (const auto& e : page["credentials"])
            seen.push_back(e["endpoint"]);
        if (page["next"].is_null()) break;
        path = "/v1/credentials?limit=2&after=" + page["next"].get<std::string>();
    }
    EXPECT_EQ(seen, (std::vector<std::string>{"ep-0", "ep-1", "ep-2", "ep-3", "ep-4"}));
}

TEST_F(CredentialsApiTest, RotateAndRetire) {
    ASSERT_EQ(add("ep", "old").status, 201);
    const auto rotated = call("POST", "/v1/credentials/ep/rotate",
                              json{{"psk_identity", "new"}, {"psk_key_hex", "01"}}.dump());
    ASSERT_EQ(rotated.status, 200) << rotated.body;
    EXPECT_EQ(json::parse(rotated.body)["keys"].size(), 2u);
    EXPECT_TRUE(backend.closed.empty());
    ASSERT_EQ(call("POST", "/v1/credentials/ep/retire").status, 200);
    EXPECT_EQ(backend.closed, std::vector<std::string>{"old"});
    EXPECT_EQ(call("POST", "/v1/credentials/ep/retire").status, 409);
    EXPECT_EQ(call("POST", "/v1/credentials/nobody/rotate",
                   json{{"psk_identity", "x"}, {"psk_key_hex", "01"}}.dump())
                  .status,
              404);
}

TEST_F(CredentialsApiTest, BadRequestsAreClassified) {
    EXPECT_EQ(call("POST", "/v1/credentials", "not json").status, 400);
    EXPECT_EQ(call("POST", "/v1/credentials", R"({"endpoint": ["x"]})").status, 400);
    EXPECT_EQ(call("POST", "/v1/credentials", R"({"endpoint": "e", "psk_identity": "i"})").status,
              400);
    EXPECT_EQ(call("GET", "/v1/credentials?limit=10001").status, 400);
    EXPECT_EQ(call("GET", "/v1/credentials?color=red").status, 400);
    EXPECT_EQ(call("PUT", "/v1/credentials").status, 405);
    ASSERT_EQ(add("a", "shared").status, 201);
    EXPECT_EQ(add("b", "shared").status, 409);
}

TEST_F(CredentialsApiTest, ImportIsAllOrNothingAndNamesLinesFromTheGivenFirstLine) {
    const auto bad = call("POST", "/v1/credentials/import?format=csv&first_line=1001",
                          "e1,i1,00\ne2,i2,zz\ne3,i3\n");
    ASSERT_EQ(bad.status, 400);
    const auto errors = json::parse(bad.body);
    EXPECT_EQ(errors["error_count"], 2);
    EXPECT_EQ(errors["errors"][0]["line"], 1002);
    EXPECT_EQ(errors["errors"][1]["line"], 1003);
    EXPECT_EQ(backend.table.size(), 0u);
    const auto ok = call("POST", "/v1/credentials/import",
                         "{\"endpoint\":\"e1\",\"psk_identity\":\"i1\",\"psk_key_hex\":\"00\"}\n");
    ASSERT_EQ(ok.status, 200) << ok.body;
    EXPECT_EQ(json::parse(ok.body)["created"], 1);
    EXPECT_EQ(call("POST", "/v1/credentials/import?format=xml", "").status, 400);
    EXPECT_EQ(call("POST", "/v1/credentials/import?first_line=0", "").status, 400);
    EXPECT_EQ(Api::body_limit("POST", "/v1/credentials/import"), max_import_body_bytes);
    EXPECT_FALSE(Api::body_limit("POST", "/v1/credentials"));
}

}  // namespace
}  // namespace lwgate::admin
