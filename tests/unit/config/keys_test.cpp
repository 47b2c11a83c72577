// The key table itself: well formed, wired to Config with the types its kinds read, and the
// ranges it states are the ones the loader enforces.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <variant>

#include "config/config_loader.hpp"
#include "config/keys.hpp"

namespace lwgate::config {
namespace {

// "a.b.c" with `value` as a YAML document.
std::string document(std::string_view path, const std::string& value) {
    std::string yaml;
    std::string indent;
    std::size_t start = 0;
    for (auto dot = path.find('.'); dot != std::string_view::npos; dot = path.find('.', start)) {
        yaml += indent + std::string(path.substr(start, dot - start)) + ":\n";
        indent += "  ";
        start = dot + 1;
    }
    return yaml + indent + std::string(path.substr(start)) + ": " + value + "\n";
}

bool loads(const std::string& yaml) {
    return std::holds_alternative<Config>(load_config_string(yaml));
}

TEST(KeyTable, PathsAreUniqueAndTheirParentsAreSectionsOrLists) {
    std::set<std::string_view> seen;
    for (const auto& key : key_table()) {
        EXPECT_TRUE(seen.insert(key.path).second) << key.path << " twice";
        const auto dot = key.path.rfind('.');
        if (dot == std::string_view::npos) continue;
        auto parent = key.path.substr(0, dot);
        const bool element = parent.ends_with("[]");
        if (element) parent.remove_suffix(2);
        const KeySpec* up = find_key(parent);
        ASSERT_NE(up, nullptr) << key.path;
        EXPECT_EQ(up->kind, element ? Kind::list : Kind::section) << key.path;
    }
}

TEST(KeyTable, KeysReadByTheirKindHaveAPlaceOfThatType) {
    for (const auto& key : key_table()) {
        if (key.read || key.kind == Kind::section || key.kind == Kind::list) continue;
        if (key.path.find("[]") != std::string_view::npos) continue;  // read by their list
        ASSERT_TRUE(key.access) << key.path << " has neither a reader nor a place in Config";
        Config c;
        const ValueRef ref = key.access.ref(c);
        bool fits = false;
        switch (key.kind) {
            case Kind::boolean:
                fits = std::holds_alternative<bool*>(ref);
                break;
            case Kind::whole:
            case Kind::size:
                fits = std::holds_alternative<unsigned*>(ref) ||
                       std::holds_alternative<std::uint64_t*>(ref);
                break;
            case Kind::duration:
            case Kind::seconds:
                fits = std::holds_alternative<Duration*>(ref);
                break;
            case Kind::rate:
                fits = std::holds_alternative<double*>(ref);
                break;
            case Kind::choice:
                fits = std::holds_alternative<CsmMode*>(ref) ||
                       std::holds_alternative<LogLevel*>(ref) ||
                       std::holds_alternative<LogFormat*>(ref);
                break;
            case Kind::text:
            case Kind::file:
                fits = std::holds_alternative<std::string*>(ref);
                break;
            default:
                break;
        }
        EXPECT_TRUE(fits) << key.path;
    }
}

TEST(KeyTable, ChoicesNameTheEnumValuesInOrder) {
    for (const auto& key : key_table()) {
        if (key.kind != Kind::choice) continue;
        Config c;
        const ValueRef ref = key.access.ref(c);
        for (std::size_t i = 0; i < key.choices.size(); ++i) {
            std::visit(
                [&](auto* value) {
                    using T = std::remove_pointer_t<decltype(value)>;
                    if constexpr (std::is_enum_v<T>) {
                        EXPECT_EQ(key.choices[i], to_string(static_cast<T>(i))) << key.path;
                    }
                },
                ref);
        }
    }
}

TEST(KeyTable, WholeNumberRangesAreTheLoaders) {
    for (const auto& key : key_table()) {
        if (key.kind != Kind::whole || key.path.find("[]") != std::string_view::npos) continue;
        if (key.max != 0 && key.max < std::numeric_limits<std::uint64_t>::max()) {
            EXPECT_TRUE(loads(document(key.path, std::to_string(key.max)))) << key.path;
            EXPECT_FALSE(loads(document(key.path, std::to_string(key.max + 1)))) << key.path;
        }
        if (key.min > 0) {
            EXPECT_FALSE(loads(document(key.path, std::to_string(key.min - 1)))) << key.path;
        }
        if (!key.check) {
            EXPECT_TRUE(loads(document(key.path, std::to_string(key.min)))) << key.path;
        }
    }
}

TEST(KeyTable, DurationRangesAreTheLoaders) {
    auto ms = [](std::uint64_t n) { return std::to_string(n) + "ms"; };
    for (const auto& key : key_table()) {
        if (key.kind != Kind::duration || key.path.find("[]") != std::string_view::npos) continue;
        if (key.max != 0) {
            EXPECT_TRUE(loads(document(key.path, ms(key.max)))) << key.path;
            EXPECT_FALSE(loads(document(key.path, ms(key.max + 1)))) << key.path;
        }
        // A minimum of 0 is the kind's own; a 0 may break rules across keys (hold-off order).
        if (key.min > 0) {
            EXPECT_FALSE(loads(document(key.path, ms(key.min - 1)))) << key.path;
            if (!key.check) {
                EXPECT_TRUE(loads(document(key.path, ms(key.min)))) << key.path;
            }
        }
    }
}

TEST(KeyTable, UnknownKeysListTheTablesNames) {
    auto r = load_config_string("tcp:\n  nodelayy: true\n");
    ASSERT_TRUE(std::holds_alternative<std::vector<ConfigError>>(r));
    EXPECT_EQ(std::get<std::vector<ConfigError>>(r).front().message,
              "unknown key (expected one of: " + child_names("tcp") + ")");
}

// The keys of list elements have no place in Config; their defaults are stated in the table and
// must be those of the structs they are read into.
TEST(KeyTable, ListElementDefaultsAreTheStructs) {
    const TlsConfig tls;
    const ListenerConfig listener;
    auto text = [](std::string_view path) { return default_text(*find_key(path)); };
    EXPECT_EQ(text("listeners[].tls.handshake_timeout"), format_duration(tls.handshake_timeout));
    EXPECT_EQ(text("listeners[].tls.psk"), tls.psk ? "true" : "false");
    EXPECT_EQ(text("listeners[].tls.require_client_certificate"),
              tls.require_client_certificate ? "true" : "false");
    EXPECT_EQ(text("listeners[].allow_plain_registration"),
              listener.allow_plain_registration ? "true" : "false");
    EXPECT_EQ(text("listeners"), default_listener().endpoint.text);
}

TEST(KeyTable, DefaultsOfKeysWithAPlaceAreConfigsInitialValues) {
    EXPECT_EQ(default_text(*find_key("keepalive.idle")), "1m");
    EXPECT_EQ(default_text(*find_key("connections.accept_rate")), "2000/s");
    EXPECT_EQ(default_text(*find_key("connections.write_queue_limit")), "262144");
    EXPECT_EQ(default_text(*find_key("admin.token")), "none");
    EXPECT_EQ(default_text(*find_key("log.level")), "info");
}

TEST(KeyTable, SpecPathDropsListIndexes) {
    EXPECT_EQ(spec_path("listeners[12].tls.ca"), "listeners[].tls.ca");
    EXPECT_EQ(spec_path("keepalive.idle"), "keepalive.idle");
    EXPECT_EQ(find_child("listeners[]", "tls.ca"), nullptr);
    EXPECT_EQ(find_child("listeners[].tls", "ca"), find_key("listeners[].tls.ca"));
}

}  // namespace
}  // namespace lwgate::config

namespace lwgate::config {
namespace {

// SIGHUP copies what applies at run time and nothing that needs a restart.
TEST(KeyTable, CopyReloadableTakesRunTimeKeysAndKeepsRestartKeys) {
    Config running;
    Config next;
    next.keepalive.idle = std::chrono::seconds(30);
    next.device_limits.uplinks_queued = 2;
    next.registration.max_lifetime = std::chrono::hours(1);
    next.connections.max_registrations = 10;
    next.threads = running.threads + 3;
    next.store.uri = "sqlite:///elsewhere.db";
    next.credentials.push_back(Credential{});
    copy_reloadable(next, running);
    EXPECT_EQ(running.keepalive.idle, next.keepalive.idle);
    EXPECT_EQ(running.device_limits.uplinks_queued, 2u);
    EXPECT_EQ(running.registration.max_lifetime, next.registration.max_lifetime);
    EXPECT_EQ(running.connections.max_registrations, 10u);
    EXPECT_EQ(running.credentials.size(), 1u);
    EXPECT_EQ(running.threads, Config{}.threads) << "needs a restart";
    EXPECT_EQ(running.store.uri, Config{}.store.uri) << "needs a restart";
}

}  // namespace
}  // namespace lwgate::config
