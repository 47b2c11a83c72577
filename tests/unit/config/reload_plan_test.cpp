#include "config/reload_plan.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <type_traits>
#include <variant>

#include "config/config_loader.hpp"
#include "config/keys.hpp"

namespace lwgate::config {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

config::Config load(const std::string& yaml) {
    auto result = config::load_config_string(yaml);
    if (auto* errors = std::get_if<std::vector<config::ConfigError>>(&result)) {
        ADD_FAILURE() << "config errors, first: " << errors->front().to_string();
        return {};
    }
    return std::get<config::Config>(std::move(result));
}

// kBase with one piece of text replaced (the piece must be there).
std::string with(std::string yaml, const std::string& from, const std::string& to) {
    const auto at = yaml.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) yaml.replace(at, from.size(), to);
    return yaml;
}

std::vector<std::string> keys(const std::vector<ReloadChange>& changes) {
    std::vector<std::string> out;
    for (const auto& c : changes)
        out.push_back(c.key);
    return out;
}

const ReloadChange* find(const std::vector<ReloadChange>& changes, const std::string& key) {
    auto it = std::find_if(changes.begin(), changes.end(),
                           [&](const ReloadChange& c) { return c.key == key; });
    return it == changes.end() ? nullptr : &*it;
}

const char* kBase = R"(
listeners:
  - uri: coap+tcp://127.0.0.1:5683
upstream:
  uri: coap://127.0.0.1:5685
keepalive:
  idle: 60s
log:
  level: info
credentials:
  - endpoint: dev-1
    psk_identity: id1
    psk_key_hex: "0011"
  - endpoint: dev-2
    psk_identity: id2
    psk_key_hex: "0022"
)";

TEST(ReloadPlan, SameConfigChangesNothing) {
    const auto plan = plan_reload(load(kBase), load(kBase));
    EXPECT_TRUE(plan.nothing_changed());
    EXPECT_FALSE(plan.log_level || plan.session_settings || plan.accept_limits ||
                 plan.relay_params || plan.credentials || plan.registration_limits);
}

TEST(ReloadPlan, LogLevelKeepaliveAndLimitsApplyAtRunTime) {
    const auto plan = plan_reload(load(kBase), load(std::string(kBase) + R"(
connections:
  max: 10
  accept_rate: 5/s
  csm_mode: lenient
queue_mode:
  max_queued: 3
tcp:
  user_timeout: 5s
shutdown:
  drain_timeout: 3s
)"));
    EXPECT_TRUE(plan.needs_restart.empty()) << describe(plan.needs_restart.front());
    EXPECT_EQ(keys(plan.applied),
              (std::vector<std::string>{"connections.csm_mode", "connections.max",
                                        "connections.accept_rate", "queue_mode.max_queued",
                                        "tcp.user_timeout", "shutdown.drain_timeout"}));
    EXPECT_TRUE(plan.session_settings);
    EXPECT_TRUE(plan.accept_limits);
    EXPECT_TRUE(plan.relay_params);
    EXPECT_FALSE(plan.log_level);
    EXPECT_FALSE(plan.credentials);
    EXPECT_EQ(describe(*find(plan.applied, "connections.accept_rate")),
              "connections.accept_rate 2000/s -> 5/s");
    EXPECT_EQ(describe(*find(plan.applied, "connections.max")), "connections.max 100000 -> 10");
}

// Read by the accepting thread for every TLS connection: nothing to push to the shards.
TEST(ReloadPlan, HandshakesPerAddressApplyAtOnce) {
    const auto plan = plan_reload(load(kBase), load(std::string(kBase) + R"(
connections:
  max_tls_handshakes_per_address: 4
)"));
    EXPECT_TRUE(plan.needs_restart.empty());
    ASSERT_EQ(plan.applied.size(), 1u);
    EXPECT_EQ(describe(plan.applied[0]), "connections.max_tls_handshakes_per_address 32 -> 4");
    EXPECT_FALSE(plan.session_settings || plan.accept_limits || plan.relay_params ||
                 plan.credentials || plan.log_level);
}

TEST(ReloadPlan, DeviceLimitsAndRegistrationSettingsApplyAtRunTime) {
    const auto plan = plan_reload(load(kBase), load(std::string(kBase) + R"(
connections:
  max_registrations: 500
device_limits:
  uplinks_in_flight: 2
  notifications_per_second: 5/s
registration:
  max_lifetime: 1h
  rate_per_address: 10/s
)"));
    EXPECT_TRUE(plan.needs_restart.empty());
    EXPECT_EQ(keys(plan.applied),
              (std::vector<std::string>{
                  "device_limits.uplinks_in_flight", "device_limits.notifications_per_second",
                  "registration.max_lifetime", "connections.max_registrations",
                  "registration.rate_per_address"}));
    EXPECT_TRUE(plan.relay_params);
    EXPECT_TRUE(plan.registration_limits);
    EXPECT_TRUE(plan.session_settings) << "the unanswered-request bound follows the uplinks";
    EXPECT_EQ(describe(*find(plan.applied, "registration.max_lifetime")),
              "registration.max_lifetime 24h -> 1h");
    EXPECT_FALSE(plan.accept_limits || plan.credentials);
}

TEST(ReloadPlan, LogLevelAndKeepaliveIdle) {
    std::string next = kBase;
    next.replace(next.find("idle: 60s"), 9, "idle: 30s");
    next.replace(next.find("level: info"), 11, "level: debug");
    const auto plan = plan_reload(load(kBase), load(next));
    EXPECT_TRUE(plan.log_level);
    EXPECT_TRUE(plan.session_settings);
    EXPECT_FALSE(plan.accept_limits);
    ASSERT_EQ(plan.applied.size(), 2u);
    EXPECT_EQ(describe(plan.applied[0]), "log.level info -> debug");
    EXPECT_EQ(describe(plan.applied[1]), "keepalive.idle 1m -> 30s");
}

// A log shipper must not see the format change in the middle of a file.
TEST(ReloadPlan, LogFormatNeedsARestart) {
    const auto next = with(kBase, "level: info", "level: info\n  format: json");
    const auto plan = plan_reload(load(kBase), load(next));
    EXPECT_TRUE(plan.applied.empty());
    ASSERT_EQ(keys(plan.needs_restart), std::vector<std::string>{"log.format"});
    EXPECT_EQ(describe(plan.needs_restart[0]), "log.format text -> json");
    EXPECT_FALSE(plan.log_level);
}

TEST(ReloadPlan, CredentialsListEndpointsButNeverKeys) {
    const auto next = with(with(kBase, R"(psk_key_hex: "0011")", R"(psk_key_hex: "00ff")"),
                           "endpoint: dev-2\n    psk_identity: id2\n    psk_key_hex: \"0022\"",
                           "endpoint: dev-3\n    psk_identity: id3\n    psk_key_hex: \"0033\"");
    const auto plan = plan_reload(load(kBase), load(next));
    EXPECT_TRUE(plan.credentials);
    EXPECT_TRUE(plan.needs_restart.empty());
    const auto* c = find(plan.applied, "credentials");
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(describe(*c),
              "credentials 2 entries -> 2 entries (added dev-3; changed dev-1; removed dev-2)");
    EXPECT_THAT(describe(*c), Not(HasSubstr("00ff")));
    EXPECT_THAT(describe(*c), Not(HasSubstr("id3")));
}

TEST(ReloadPlan, ListenersUpstreamThreadsStoreAdminNeedARestart) {
    auto next = with(kBase, "127.0.0.1:5683", "127.0.0.1:5693");
    next =
        with(next, "uri: coap://127.0.0.1:5685", "uri: coap://127.0.0.1:5695\n  ack_timeout: 3s");
    next += "threads: 4\nadmin:\n  listen: 127.0.0.1:9999\n  token: new-secret\n";
    const auto plan = plan_reload(load(kBase), load(next));
    EXPECT_TRUE(plan.applied.empty()) << describe(plan.applied.front());
    EXPECT_EQ(keys(plan.needs_restart),
              (std::vector<std::string>{"listeners", "upstream.uri", "upstream.ack_timeout",
                                        "admin.listen", "admin.token", "threads"}));
    EXPECT_EQ(describe(*find(plan.needs_restart, "listeners")),
              "listeners coap+tcp://127.0.0.1:5683 -> coap+tcp://127.0.0.1:5693");
    EXPECT_THAT(describe(*find(plan.needs_restart, "admin.token")), Not(HasSubstr("new-secret")));
    EXPECT_FALSE(plan.session_settings || plan.credentials || plan.log_level);
}

TEST(ReloadPlan, ListenerTlsDetailsCount) {
    config::Config a = load(kBase);
    config::Config b = a;
    b.listeners[0].allow_plain_registration = false;
    EXPECT_EQ(keys(plan_reload(a, b).needs_restart), std::vector<std::string>{"listeners"});
    b = a;
    config::TlsConfig tls;
    tls.psk = true;
    b.listeners[0].tls = tls;
    EXPECT_EQ(keys(plan_reload(a, b).needs_restart), std::vector<std::string>{"listeners"});
    config::Config c = b;
    c.listeners[0].tls->handshake_timeout = std::chrono::seconds(3);
    EXPECT_EQ(keys(plan_reload(b, c).needs_restart), std::vector<std::string>{"listeners"});
}

TEST(ReloadPlan, GatewayDtlsIdentityNeedsARestartAndStaysHidden) {
    config::Config a = load(kBase);
    config::Config b = a;
    b.upstream.gateway_psk_identity = "gw";
    b.upstream.gateway_psk_key = {0xAB, 0xCD};
    const auto plan = plan_reload(a, b);
    EXPECT_EQ(keys(plan.needs_restart), std::vector<std::string>{"upstream.dtls"});
    EXPECT_THAT(describe(plan.needs_restart[0]), Not(HasSubstr("gw")));
}

TEST(ReloadPlan, StoreAndUpstreamBind) {
    config::Config a = load(kBase);
    config::Config b = a;
    b.store.uri = "sqlite:///tmp/x.db";
    b.upstream.bind_port_first = 40000;
    b.upstream.bind_port_last = 40100;
    EXPECT_EQ(keys(plan_reload(a, b).needs_restart),
              (std::vector<std::string>{"upstream.bind", "store.uri"}));
}

// A different value of the same type, whatever the key.
void change(const config::ValueRef& ref) {
    std::visit(
        [](auto* value) {
            using T = std::remove_pointer_t<decltype(value)>;
            if constexpr (std::is_same_v<T, bool>) {
                *value = !*value;
            } else if constexpr (std::is_same_v<T, std::string>) {
                *value += "x";
            } else if constexpr (std::is_same_v<T, config::Duration>) {
                *value += std::chrono::seconds(1);
            } else if constexpr (std::is_enum_v<T>) {
                *value = static_cast<T>(static_cast<int>(*value) == 0 ? 1 : 0);
            } else {
                *value += 1;
            }
        },
        ref);
}

// Every key with a place in Config is reported when it changes, on the side the table says,
// under its own name or the key it is shown with; none is silently ignored.
TEST(ReloadPlan, EveryKeyOfTheTableIsReportedWhereTheTableSays) {
    const config::Config a = load(kBase);
    for (const auto& key : config::key_table()) {
        if (!key.access) continue;
        config::Config b = a;
        change(key.access.ref(b));
        const auto plan = plan_reload(a, b);
        const std::string name(key.shown_with.empty() ? key.path : key.shown_with);
        const bool restart = key.reload == config::Reload::restart;
        const auto& side = restart ? plan.needs_restart : plan.applied;
        ASSERT_EQ(keys(side), std::vector<std::string>{name}) << key.path;
        EXPECT_TRUE((restart ? plan.applied : plan.needs_restart).empty()) << key.path;
        const auto* shown = config::find_key(key.shown_with);
        if (key.secret || (shown && shown->secret)) {
            EXPECT_EQ(side[0].from, "(hidden)") << key.path;
        }
    }
}

TEST(ReloadPlan, PiggybackWindowAndDtlsResumeNeedARestart) {
    config::Config a = load(kBase);
    config::Config b = a;
    b.upstream.piggyback_window = std::chrono::milliseconds(100);
    b.upstream.dtls_resume_timeout = std::chrono::seconds(0);
    EXPECT_EQ(
        keys(plan_reload(a, b).needs_restart),
        (std::vector<std::string>{"upstream.dtls_resume_timeout", "upstream.piggyback_window"}));
}

}  // namespace
}  // namespace lwgate::config
