// The listener keys for running behind a load balancer: reuse_port and proxy_protocol.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/config_loader.hpp"
#include "config/keys.hpp"
#include "config/reload_plan.hpp"

namespace lwgate::config {
namespace {

using ::testing::HasSubstr;

const Config* config_of(const LoadResult& r) {
    return std::get_if<Config>(&r);
}

TEST(ListenerClusterKeys, DefaultToOff) {
    const auto r = load_config_string("listeners:\n  - uri: coap+tcp://127.0.0.1:0\n");
    ASSERT_NE(config_of(r), nullptr);
    EXPECT_FALSE(config_of(r)->listeners[0].reuse_port);
    EXPECT_FALSE(config_of(r)->listeners[0].proxy_protocol);
    EXPECT_EQ(default_text(*find_key("listeners[].reuse_port")), "false");
    EXPECT_EQ(default_text(*find_key("listeners[].proxy_protocol")), "false");
}

TEST(ListenerClusterKeys, AreReadPerListener) {
    const auto r = load_config_string(
        "listeners:\n"
        "  - uri: coap+tcp://127.0.0.1:0\n"
        "    reuse_port: true\n"
        "    proxy_protocol: yes\n"
        "  - uri: coap+tcp://127.0.0.1:0\n");
    ASSERT_NE(config_of(r), nullptr);
    const auto& l = config_of(r)->listeners;
    EXPECT_TRUE(l[0].reuse_port);
    EXPECT_TRUE(l[0].proxy_protocol);
    EXPECT_FALSE(l[1].reuse_port);
    EXPECT_FALSE(l[1].proxy_protocol);
}

TEST(ListenerClusterKeys, NonBooleansAreErrors) {
    const auto r =
        load_config_string("listeners:\n  - uri: coap+tcp://127.0.0.1:0\n    proxy_protocol: v2\n");
    const auto* errors = std::get_if<std::vector<ConfigError>>(&r);
    ASSERT_NE(errors, nullptr);
    ASSERT_EQ(errors->size(), 1u);
    EXPECT_EQ(errors->front().key, "listeners[0].proxy_protocol");
    EXPECT_EQ(errors->front().line, 3);
}

TEST(ListenerClusterKeys, NeedARestart) {
    EXPECT_EQ(find_key("listeners")->reload, Reload::restart);
    EXPECT_EQ(find_key("listeners[].proxy_protocol")->reload, Reload::restart);
    Config a, b;
    a.listeners.emplace_back();
    b.listeners.emplace_back();
    b.listeners[0].proxy_protocol = true;
    EXPECT_THAT(reload_text(*find_key("listeners"), b), HasSubstr("proxy_protocol=true"));
    EXPECT_NE(reload_text(*find_key("listeners"), a), reload_text(*find_key("listeners"), b));
}

}  // namespace
}  // namespace lwgate::config
