// Credentials in a cluster: two real lwgate instances on one real redis-server. A credential
// added through one instance's admin API lets a device in through the other; a key retired on one
// closes the connection that used it on the other; an identity one instance gave to an endpoint
// is refused to another endpoint through the other instance.
#include <gmock/gmock.h>

#include <thread>

#include <nlohmann/json.hpp>

#include "cluster_fixture.hpp"
#include "lwgate/harness/admin_client.hpp"

namespace lwgate::integration {
namespace {

const std::string key_hex = "c1c2c3c4c5c6c7c8";
const coap::Bytes key{0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8};
const std::string key_2_hex = "d1d2d3d4d5d6d7d8";
const coap::Bytes key_2{0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8};

class ClusterCredentialsTest : public ClusterFixture {
  protected:
    // An instance named `name` with one TLS-PSK listener.
    harness::GatewayProcess& start(const std::string& name) {
        auto config = cluster_config(name);
        config.listener_uris = {"coaps+tcp://127.0.0.1:0\n    tls: { psk: true }"};
        return launch(config);
    }

    static harness::HttpReply post(harness::GatewayProcess& g, const std::string& path,
                                   const nlohmann::json& body) {
        return harness::AdminClient(g.admin_url()).post(path, body.dump());
    }

    // A TLS-PSK device of `endpoint` on `g`: whether it gets through the handshake and a Ping.
    static std::unique_ptr<DeviceSimulator> device(harness::GatewayProcess& g,
                                                   const std::string& identity,
                                                   const coap::Bytes& psk) {
        DeviceOptions o;
        o.endpoint = "ep";
        o.port = g.port();
        o.transport = devsim::Transport::tls;
        o.tls.psk_identity = identity;
        o.tls.psk_key = psk;
        auto d = std::make_unique<DeviceSimulator>(o);
        if (!d->connect(3s).ok() || !d->ping(3s).ok()) return nullptr;
        return d;
    }

    // The other instance reads the change feed each second: a device gets in within a few.
    static std::unique_ptr<DeviceSimulator> device_within(harness::GatewayProcess& g,
                                                          const std::string& identity,
                                                          const coap::Bytes& psk) {
        const auto deadline = SteadyClock::now() + 5s;
        while (true) {
            if (auto d = device(g, identity, psk)) return d;
            if (SteadyClock::now() >= deadline) return nullptr;
            std::this_thread::sleep_for(200ms);
        }
    }
};

TEST_F(ClusterCredentialsTest, AChangeOnOneInstanceReachesTheOther) {
    auto& a = start("gw-a");
    auto& b = start("gw-b");
    const auto added =
        post(a, "/v1/credentials",
             {{"endpoint", "ep"}, {"psk_identity", "id-1"}, {"psk_key_hex", key_hex}});
    ASSERT_EQ(added.status, 201) << added.body;
    auto on_b = device_within(b, "id-1", key);
    ASSERT_TRUE(on_b) << "the credential added on gw-a does not let the device into gw-b\n"
                      << b.log();
    EXPECT_EQ(harness::AdminClient(b.admin_url()).get("/v1/credentials/ep").status, 200);

    // Rotated and retired on gw-a: gw-b accepts the new key and closes the old key's connection.
    ASSERT_EQ(
        post(a, "/v1/credentials/ep/rotate", {{"psk_identity", "id-2"}, {"psk_key_hex", key_2_hex}})
            .status,
        200);
    ASSERT_TRUE(device_within(b, "id-2", key_2)) << b.log();
    ASSERT_EQ(harness::AdminClient(a.admin_url()).post("/v1/credentials/ep/retire", "").status,
              200);
    EXPECT_TRUE(on_b->wait_closed(5s)) << "the retired key's connection stays open on gw-b";
    EXPECT_TRUE(b.wait_for_log("reason=credentials_revoked", 3s)) << b.log();
    EXPECT_FALSE(device(b, "id-1", key)) << "the retired key still gets into gw-b";

    // An identity gw-a gave to "ep" is refused to another endpoint through gw-b.
    const auto taken =
        post(b, "/v1/credentials",
             {{"endpoint", "other"}, {"psk_identity", "id-2"}, {"psk_key_hex", key_hex}});
    EXPECT_EQ(taken.status, 409) << taken.body;
}

}  // namespace
}  // namespace lwgate::integration
