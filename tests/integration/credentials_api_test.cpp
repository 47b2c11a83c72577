// Device credentials managed while lwgate runs (/v1/credentials, lwgatectl credentials): a
// device authenticates with a credential added through the API, a rotation accepts both keys
// until the older is retired, a removed or retired key closes the connections that used it and
// is refused from then on, the credentials survive a restart, an import is all or nothing per
// batch and names the bad lines, and no answer or log line ever shows a key.
#include <fstream>

#include <gmock/gmock.h>

#include "bridge_fixture.hpp"
#include "lwgate/harness/admin_client.hpp"
#include "lwgate/harness/process.hpp"
#include "lwgate/harness/temp_dir.hpp"
#include "raw_client.hpp"
#include "run_lwgatectl.hpp"

namespace lwgate::integration {
namespace {

const std::string key_1_hex = "a1a2a3a4a5a6a7a8";
const coap::Bytes key_1{0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8};
const std::string key_2_hex = "b1b2b3b4b5b6b7b8";
const coap::Bytes key_2{0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8};

class CredentialsApiTest : public BridgeTest {
  protected:
    void start_psk_gateway() {
        config.listener_uris = {"coaps+tcp://127.0.0.1:0\n    tls: { psk: true }"};
        config.store_uri = "sqlite://" + (state_ / "state.db").string();
        start_all();
    }
    harness::AdminClient admin() const { return harness::AdminClient(gateway.admin_url()); }

    harness::HttpReply add(const std::string& endpoint, const std::string& identity,
                           const std::string& key_hex) {
        return admin().post("/v1/credentials", nlohmann::json{{"endpoint", endpoint},
                                                              {"psk_identity", identity},
                                                              {"psk_key_hex", key_hex}}
                                                   .dump());
    }

    // A TLS-PSK connection with this identity and key: whether its handshake passed.
    bool handshakes(const std::string& identity, const coap::Bytes& key,
                    std::unique_ptr<DeviceSimulator>* keep = nullptr) {
        auto device = std::make_unique<DeviceSimulator>(psk_device_options("ep", identity, key));
        const auto r = device->connect(3s);
        const bool ok = r.ok() && device->ping(3s).ok();
        if (keep) *keep = std::move(device);
        return ok;
    }

    harness::ProcessResult ctl(std::vector<std::string> args) {
        return run_lwgatectl(gateway.admin_url(), std::move(args));
    }

    harness::TempDir state_{"lwgate-credentials-"};
};

TEST_F(CredentialsApiTest, ACredentialAddedThroughTheApiAuthenticatesAndSurvivesARestart) {
    start_psk_gateway();
    EXPECT_FALSE(handshakes("id-1", key_1)) << "an unknown identity got in";

    const auto added = add("ep", "id-1", key_1_hex);
    ASSERT_EQ(added.status, 201) << added.body;
    EXPECT_EQ(added.body.find(key_1_hex), std::string::npos) << "the key is shown: " << added.body;
    EXPECT_EQ(added.json()["keys"][0]["fingerprint"].get<std::string>().rfind("sha256:", 0), 0u);
    EXPECT_EQ(added.json()["source"], "api");

    auto device = register_at(core, psk_device_options("ep", "id-1", key_1));
    const auto listed = admin().get("/v1/credentials");
    ASSERT_EQ(listed.status, 200);
    EXPECT_EQ(listed.json()["total"], 1);
    EXPECT_EQ(listed.body.find(key_1_hex), std::string::npos);
    device.reset();

    ASSERT_TRUE(gateway.stop(10s).has_value());
    EXPECT_EQ(gateway.log().find(key_1_hex), std::string::npos) << "a key is in the log";
    harness::GatewayProcess restarted;  // same configuration, same database
    restarted.start(LWGATE_BINARY, config.yaml(), options);
    auto again = psk_device_options("ep", "id-1", key_1);
    again.port = restarted.port();
    DeviceSimulator device_again(again);
    EXPECT_TRUE(device_again.connect(3s).ok()) << "the credential did not survive the restart";
}

TEST_F(CredentialsApiTest, ARotationAcceptsBothKeysUntilTheOlderIsRetired) {
    start_psk_gateway();
    ASSERT_EQ(add("ep", "id-1", key_1_hex).status, 201);
    std::unique_ptr<DeviceSimulator> old_device;
    ASSERT_TRUE(handshakes("id-1", key_1, &old_device));

    const auto rotated =
        admin().post("/v1/credentials/ep/rotate",
                     nlohmann::json{{"psk_identity", "id-2"}, {"psk_key_hex", key_2_hex}}.dump());
    ASSERT_EQ(rotated.status, 200) << rotated.body;
    EXPECT_EQ(rotated.json()["keys"].size(), 2u);
    EXPECT_TRUE(handshakes("id-2", key_2)) << "the new key is not accepted";
    EXPECT_TRUE(old_device->ping(3s).ok()) << "the rotation cut the old key's connection";

    // Rotating to the identity in use cannot overlap: refused, nothing changed.
    EXPECT_EQ(admin()
                  .post("/v1/credentials/ep/rotate",
                        nlohmann::json{{"psk_identity", "id-2"}, {"psk_key_hex", "00"}}.dump())
                  .status,
              409);

    const auto retired = admin().post("/v1/credentials/ep/retire", "");
    ASSERT_EQ(retired.status, 200) << retired.body;
    EXPECT_EQ(retired.json()["closed"], 1);
    EXPECT_TRUE(old_device->wait_closed(3s)) << "the retired key's connection stays open";
    EXPECT_TRUE(gateway.wait_for_log("reason=credentials_revoked", 3s)) << gateway.log();
    // Who did it: each change is an operator action with the admin client's address.
    for (const char* action : {"operator action: credentials.add",
                               "operator action: "
                               "credentials.rotate",
                               "operator action: credentials.retire"})
        EXPECT_TRUE(gateway.wait_for_log(action, 3s)) << action << "\n" << gateway.log();
    EXPECT_TRUE(gateway.wait_for_log("client=127.0.0.1:", 3s)) << gateway.log();
    EXPECT_FALSE(handshakes("id-1", key_1)) << "the retired key still gets in";
    EXPECT_TRUE(handshakes("id-2", key_2));
}

TEST_F(CredentialsApiTest, RemovingACredentialClosesItsConnectionsAndRefusesItsHandshakes) {
    start_psk_gateway();
    ASSERT_EQ(add("ep", "id-1", key_1_hex).status, 201);
    std::unique_ptr<DeviceSimulator> device;
    ASSERT_TRUE(handshakes("id-1", key_1, &device));
    const auto removed = admin().request("DELETE", "/v1/credentials/ep");
    ASSERT_EQ(removed.status, 200) << removed.body;
    EXPECT_EQ(removed.json()["closed"], 1);
    EXPECT_TRUE(device->wait_closed(3s));
    EXPECT_FALSE(handshakes("id-1", key_1));
    EXPECT_EQ(admin().get("/v1/credentials/ep").status, 404);
    EXPECT_EQ(admin().request("DELETE", "/v1/credentials/ep").status, 404);
}

// Abuse: an operator's typo or a compromised automation must not let one endpoint's identity
// speak for another, nor a bad body get anything stored.
TEST_F(CredentialsApiTest, AnIdentityOfAnotherEndpointAndBadBodiesAreRefused) {
    start_psk_gateway();
    ASSERT_EQ(add("ep", "id-1", key_1_hex).status, 201);
    EXPECT_EQ(add("other", "id-1", key_2_hex).status, 409);
    EXPECT_EQ(add("other", "id-x", "xyz").status, 400);
    EXPECT_EQ(add("other", "", key_2_hex).status, 400);
    EXPECT_EQ(add("other", "id-x", std::string(130, 'a')).status, 400);
    EXPECT_EQ(admin().post("/v1/credentials", "[1]").status, 400);
    EXPECT_EQ(admin().post("/v1/credentials", R"({"endpoint": 5})").status, 400);
    EXPECT_EQ(admin().get("/v1/credentials?limit=0").status, 400);
    EXPECT_EQ(admin().get("/v1/credentials?after=%%%").status, 400);
    EXPECT_EQ(admin().get("/v1/credentials").json()["total"], 1);
    // The import route takes large bodies, the others do not.
    EXPECT_EQ(admin().post("/v1/credentials", std::string(100 * 1024, ' ')).status, 413);
    // A 5 MiB import is refused from its Content-Length, before a byte of it is read.
    RawClient big(gateway.admin_port());
    ASSERT_TRUE(
        big.send("POST /v1/credentials/import HTTP/1.1\r\nHost: lwgate\r\n"
                 "Content-Type: text/csv\r\nContent-Length: 5242880\r\n\r\n"));
    EXPECT_THAT(big.read_until_close(3s), ::testing::StartsWith("HTTP/1.1 413"));
}

TEST_F(CredentialsApiTest, LwgatectlImportsAFileAllOrNothingPerBatchAndNamesBadLines) {
    start_psk_gateway();
    harness::TempDir files("lwgate-import-");
    std::string good = "endpoint,psk_identity,psk_key_hex\n";
    for (int i = 0; i < 250; ++i)
        good += "dev-" + std::to_string(i) + ",id-" + std::to_string(i) + ",0011223344556677\n";
    good += "ep,id-ep," + key_1_hex + "\n";
    const auto good_file = files.write_file("good.csv", good);
    const auto imported = ctl({"credentials", "import", good_file.string(), "--batch", "100"});
    ASSERT_EQ(imported.exit_code, 0) << imported.out << imported.err;
    EXPECT_NE(imported.out.find("imported 251 entries (251 new"), std::string::npos)
        << imported.out;
    EXPECT_EQ(admin().get("/v1/credentials").json()["total"], 251);
    EXPECT_TRUE(handshakes("id-ep", key_1));

    const auto bad_file = files.write_file(
        "bad.jsonl",
        R"({"endpoint": "n1", "psk_identity": "n1", "psk_key_hex": "00"})"
        "\n"
        R"({"endpoint": "n2", "psk_identity": "id-7", "psk_key_hex": "00"})"  // dev-7's
        "\n"
        R"({"endpoint": "n3", "psk_identity": "n3", "psk_key_hex": "0g"})"
        "\n");
    const auto refused = ctl({"credentials", "import", bad_file.string()});
    EXPECT_EQ(refused.exit_code, 1) << refused.out << refused.err;
    EXPECT_NE(refused.err.find("bad.jsonl:3:"), std::string::npos) << refused.err;
    EXPECT_NE(refused.err.find("nothing was imported"), std::string::npos) << refused.err;
    EXPECT_EQ(admin().get("/v1/credentials/n1").status, 404) << "a refused batch was applied";

    const auto list = ctl({"credentials", "list", "--limit", "2"});
    EXPECT_EQ(list.exit_code, 0);
    EXPECT_NE(list.out.find("sha256:"), std::string::npos) << list.out;
    EXPECT_EQ(list.out.find("0011223344556677"), std::string::npos) << list.out;
    EXPECT_NE(list.out.find("more: --after"), std::string::npos) << list.out;
    EXPECT_EQ(ctl({"credentials", "remove", "dev-0"}).exit_code, 0);
    EXPECT_EQ(ctl({"credentials", "show", "dev-0"}).exit_code, 1);
}

// The YAML seeds the table: its entries are marked as such, and the API may take one over.
TEST_F(CredentialsApiTest, TheYamlSeedsCredentialsTheApiCanTakeOver) {
    config.extra_yaml +=
        "credentials:\n"
        "  - { endpoint: ep, psk_identity: id-1, psk_key_hex: " +
        key_1_hex + " }\n";
    start_psk_gateway();
    const auto seeded = admin().get("/v1/credentials/ep");
    ASSERT_EQ(seeded.status, 200) << seeded.body;
    EXPECT_EQ(seeded.json()["source"], "config");
    EXPECT_TRUE(handshakes("id-1", key_1));
    const auto replaced = add("ep", "id-2", key_2_hex);
    ASSERT_EQ(replaced.status, 200) << replaced.body;
    EXPECT_EQ(replaced.json()["source"], "api");
    EXPECT_FALSE(handshakes("id-1", key_1));
    EXPECT_TRUE(handshakes("id-2", key_2));
}

}  // namespace
}  // namespace lwgate::integration
