// The cluster section: the instance's name (by default the host name) and its lease in Redis.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <string>
#include <vector>

#include "config/config_loader.hpp"
#include "config/keys.hpp"
#include "config/reload_plan.hpp"

namespace lwgate::config {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

const Config* config_of(const LoadResult& r) {
    return std::get_if<Config>(&r);
}

// The one error of a document that has exactly one.
ConfigError only_error(const std::string& yaml) {
    const auto r = load_config_string(yaml);
    const auto* errors = std::get_if<std::vector<ConfigError>>(&r);
    if (errors == nullptr) {
        ADD_FAILURE() << "loaded: " << yaml;
        return {};
    }
    EXPECT_EQ(errors->size(), 1u) << errors->front().to_string();
    return errors->front();
}

std::string host_name() {
    std::array<char, 256> name{};
    EXPECT_EQ(gethostname(name.data(), name.size() - 1), 0);
    return name.data();
}

TEST(ClusterKeys, DefaultToTheHostNameAndTenSeconds) {
    const auto r = load_config_string("");
    ASSERT_NE(config_of(r), nullptr);
    EXPECT_EQ(config_of(r)->cluster.instance, host_name());
    EXPECT_FALSE(config_of(r)->cluster.instance.empty());
    EXPECT_EQ(config_of(r)->cluster.lease, 10s);
    EXPECT_TRUE(Config{}.cluster.instance.empty()) << "filled at load time, not in Config{}";
    EXPECT_EQ(default_text(*find_key("cluster.instance")), "the host name");
    EXPECT_EQ(default_text(*find_key("cluster.lease")), "10s");
}

TEST(ClusterKeys, AnEmptyInstanceIsTheHostName) {
    for (const char* yaml :
         {"cluster:\n  instance:\n", "cluster:\n  instance: \"\"\n", "cluster:\n"}) {
        const auto r = load_config_string(yaml);
        ASSERT_NE(config_of(r), nullptr) << yaml;
        EXPECT_EQ(config_of(r)->cluster.instance, host_name()) << yaml;
    }
}

TEST(ClusterKeys, AreRead) {
    const auto r = load_config_string("cluster: {instance: gw-a, lease: 3s}\n");
    ASSERT_NE(config_of(r), nullptr);
    EXPECT_EQ(config_of(r)->cluster.instance, "gw-a");
    EXPECT_EQ(config_of(r)->cluster.lease, 3s);
    const auto block = load_config_string(
        "store:\n  uri: redis://127.0.0.1:6379\ncluster:\n  instance: Gw_1.eu-west\n  lease: 5m\n");
    ASSERT_NE(config_of(block), nullptr);
    EXPECT_EQ(config_of(block)->cluster.instance, "Gw_1.eu-west");
    EXPECT_EQ(config_of(block)->cluster.lease, 5min);
}

TEST(ClusterKeys, InstanceIsUpTo64KeyCharacters) {
    const std::string longest(64, 'a');
    const auto r = load_config_string("cluster:\n  instance: " + longest + "\n");
    ASSERT_NE(config_of(r), nullptr);
    EXPECT_EQ(config_of(r)->cluster.instance, longest);

    const std::vector<std::string> invalid{"'a b'", std::string(65, 'a'), "gw:1", "gw/1", "'gw{1}'",
                                           "'gw*'", "\"gw\\u00e9\""};
    for (const auto& bad : invalid) {
        const auto e = only_error("log:\n  level: info\ncluster:\n  instance: " + bad + "\n");
        EXPECT_EQ(e.key, "cluster.instance") << bad;
        EXPECT_EQ(e.line, 4) << bad;
        EXPECT_THAT(e.to_string(), HasSubstr("line 4: cluster.instance: ")) << bad;
    }
    EXPECT_THAT(only_error("cluster:\n  instance: a b\n").message, HasSubstr("A-Z, a-z, 0-9"));
    EXPECT_THAT(only_error("cluster:\n  instance: " + std::string(65, 'a') + "\n").message,
                HasSubstr("at most 64"));
}

TEST(ClusterKeys, LeaseIsBetweenOneSecondAndFiveMinutes) {
    for (const char* ok : {"1s", "1000ms", "10s", "5m", "300s"}) {
        const auto r = load_config_string(std::string("cluster:\n  lease: ") + ok + "\n");
        EXPECT_NE(config_of(r), nullptr) << ok;
    }
    for (const char* bad : {"0s", "0", "500ms", "999ms", "301s", "1h", "ten", "-1s"}) {
        const auto e = only_error(std::string("cluster:\n  lease: ") + bad + "\n");
        EXPECT_EQ(e.key, "cluster.lease") << bad;
        EXPECT_EQ(e.line, 2) << bad;
        EXPECT_THAT(e.to_string(), HasSubstr("line 2: cluster.lease: ")) << bad;
    }
    EXPECT_EQ(only_error("cluster:\n  lease: 500ms\n").message, "must be at least 1s, got '500ms'");
    EXPECT_EQ(only_error("cluster:\n  lease: 0s\n").message, "must be greater than 0, got '0s'");
    EXPECT_EQ(only_error("cluster:\n  lease: 301s\n").message, "must be at most 5m, got '301s'");
}

TEST(ClusterKeys, UnknownKeysAreErrors) {
    const auto e = only_error("cluster:\n  instance: gw-a\n  foo: 1\n");
    EXPECT_EQ(e.key, "cluster.foo");
    EXPECT_EQ(e.line, 3);
    EXPECT_EQ(e.message, "unknown key (expected one of: instance, lease)");
}

TEST(ClusterKeys, NeedARestart) {
    EXPECT_EQ(find_key("cluster.instance")->reload, Reload::restart);
    EXPECT_EQ(find_key("cluster.lease")->reload, Reload::restart);
    Config running;
    running.cluster.instance = "gw-a";
    Config next = running;
    next.cluster.instance = "gw-b";
    next.cluster.lease = 20s;
    const auto plan = plan_reload(running, next);
    EXPECT_TRUE(plan.applied.empty());
    ASSERT_EQ(plan.needs_restart.size(), 2u);
    EXPECT_EQ(describe(plan.needs_restart[0]), "cluster.instance gw-a -> gw-b");
    EXPECT_EQ(describe(plan.needs_restart[1]), "cluster.lease 10s -> 20s");
    copy_reloadable(next, running);
    EXPECT_EQ(running.cluster.instance, "gw-a");
    EXPECT_EQ(running.cluster.lease, 10s);
}

}  // namespace
}  // namespace lwgate::config
