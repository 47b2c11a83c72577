// The fixture of the cluster tests: real lwgate instances on one real redis-server, in front of a
// simulated core. A test builds an instance's configuration from cluster_config() (adding what it
// needs) and starts it with launch(); every instance is stopped at the end. Skipped where
// redis-server is not installed.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "bridge_fixture.hpp"
#include "redis_server.hpp"

namespace lwgate::integration {

class ClusterFixture : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!RedisServer::available()) GTEST_SKIP() << "redis-server is not installed";
        ASSERT_TRUE(redis.start());
        core.start();
    }

    void TearDown() override {
        for (auto& g : instances)
            if (g->running()) g->stop(10s);
    }

    // An instance named `name` on the shared Redis, with a short lease so that takeovers after a
    // crash happen within a test's patience. Empty `name`: a single instance on a memory store.
    harness::GatewayConfig cluster_config(const std::string& name) const {
        harness::GatewayConfig config;
        config.log_level = "debug";
        config.extra_yaml = "upstream:\n  uri: " + core.uri() + "\n";
        if (!name.empty()) {
            config.store_uri = redis.uri();
            config.extra_yaml += "cluster:\n  instance: " + name + "\n  lease: 2s\n";
        }
        return config;
    }

    harness::GatewayProcess& launch(const harness::GatewayConfig& config) {
        auto g = std::make_unique<harness::GatewayProcess>();
        g->start(LWGATE_BINARY, config.yaml());
        instances.push_back(std::move(g));
        return *instances.back();
    }

    RedisServer redis;
    CoreSimulator core;
    std::vector<std::unique_ptr<harness::GatewayProcess>> instances;
};

}  // namespace lwgate::integration
