// Loading YAML text: defaults, every value form, and every kind of error with its key and line.
// Tests that need files on disk are in config_files_test.cpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ostream>
#include <string>

#include "config/config_loader.hpp"

namespace lwgate::config {

inline void PrintTo(const ConfigError& e, std::ostream* os) {
    *os << "{" << e.to_string() << "}";
}

namespace {

using namespace std::chrono_literals;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;

Config expect_ok(std::string_view yaml) {
    auto r = load_config_string(yaml);
    if (auto* errors = std::get_if<std::vector<ConfigError>>(&r)) {
        std::string all;
        for (const auto& e : *errors)
            all += "\n  " + e.to_string();
        ADD_FAILURE() << "unexpected errors:" << all;
        return {};
    }
    return std::get<Config>(r);
}

std::vector<ConfigError> expect_errors(std::string_view yaml) {
    auto r = load_config_string(yaml);
    if (std::holds_alternative<Config>(r)) {
        ADD_FAILURE() << "accepted:\n" << yaml;
        return {};
    }
    return std::get<std::vector<ConfigError>>(r);
}

// The single error a document produces.
ConfigError only_error(std::string_view yaml) {
    auto errors = expect_errors(yaml);
    EXPECT_THAT(errors, SizeIs(1)) << yaml;
    return errors.empty() ? ConfigError{} : errors.front();
}

auto Err(const std::string& key, int line) {
    return AllOf(Field(&ConfigError::key, key), Field(&ConfigError::line, line));
}

auto Err(const std::string& key, int line, const std::string& text) {
    return AllOf(Field(&ConfigError::key, key), Field(&ConfigError::line, line),
                 Field(&ConfigError::message, HasSubstr(text)));
}

void expect_defaults(const Config& c) {
    ASSERT_THAT(c.listeners, SizeIs(1));
    EXPECT_EQ(c.listeners[0].endpoint.scheme, Scheme::coap_tcp);
    EXPECT_EQ(c.listeners[0].endpoint.host, "127.0.0.1");
    EXPECT_EQ(c.listeners[0].endpoint.port, 5683);
    EXPECT_FALSE(c.listeners[0].tls.has_value());
    EXPECT_TRUE(c.listeners[0].allow_plain_registration);
    EXPECT_EQ(c.upstream.uri, "coap://127.0.0.1:5683");
    EXPECT_EQ(c.upstream.endpoint.scheme, Scheme::coap);
    EXPECT_EQ(c.upstream.endpoint.host, "127.0.0.1");
    EXPECT_EQ(c.upstream.endpoint.port, 5683);
    EXPECT_EQ(c.upstream.bootstrap_uri, "");
    EXPECT_FALSE(c.upstream.bootstrap.has_value());
    EXPECT_EQ(c.keepalive.idle, 60s);
    EXPECT_EQ(c.keepalive.pong_timeout, 10s);
    EXPECT_EQ(c.keepalive.max_missed, 1u);
    EXPECT_TRUE(c.tcp.nodelay);
    EXPECT_TRUE(c.tcp.keepalive);
    EXPECT_EQ(c.tcp.keepalive_idle, 120s);
    EXPECT_EQ(c.tcp.keepalive_interval, 30s);
    EXPECT_EQ(c.tcp.keepalive_count, 4u);
    EXPECT_EQ(c.tcp.user_timeout, 60s);
    EXPECT_EQ(c.connections.max, 100000u);
    EXPECT_EQ(c.connections.accept_rate.per_second, 2000.0);
    EXPECT_EQ(c.connections.accept_rate.burst, 0u);
    EXPECT_EQ(c.connections.csm_timeout, 5s);
    EXPECT_EQ(c.connections.csm_mode, CsmMode::strict);
    EXPECT_EQ(c.connections.unregistered_idle, 30s);
    EXPECT_EQ(c.connections.max_message_size, 16384u);
    EXPECT_EQ(c.connections.write_queue_limit, 256u * 1024);
    EXPECT_EQ(c.connections.write_timeout, 30s);
    EXPECT_EQ(c.connections.request_timeout, 30s);
    EXPECT_EQ(c.connections.max_tls_handshakes, 256u);
    EXPECT_EQ(c.connections.max_tls_handshakes_per_address, 32u);
    EXPECT_EQ(c.shutdown.drain_timeout, 10s);
    EXPECT_EQ(c.shutdown.hold_off_min, 10s);
    EXPECT_EQ(c.shutdown.hold_off_max, 120s);
    EXPECT_EQ(c.queue_mode.max_queued, 16u);
    EXPECT_EQ(c.queue_mode.max_age, 300s);
    EXPECT_EQ(c.store.uri, "memory:");
    EXPECT_EQ(c.admin.listen, "127.0.0.1:8484");
    EXPECT_EQ(c.admin.host, "127.0.0.1");
    EXPECT_EQ(c.admin.port, 8484);
    EXPECT_EQ(c.admin.token, "");
    EXPECT_TRUE(c.credentials.empty());
    EXPECT_EQ(c.credentials_file, "");
    EXPECT_EQ(c.log.level, LogLevel::info);
    EXPECT_EQ(c.threads, 2u);
}

TEST(LoadConfig, EmptyDocumentYieldsDefaults) {
    expect_defaults(expect_ok(""));
    expect_defaults(expect_ok("# nothing but a comment\n"));
    expect_defaults(expect_ok("---\n"));
    expect_defaults(expect_ok("~\n"));
}

TEST(LoadConfig, PiggybackWindow) {
    EXPECT_EQ(expect_ok("").upstream.piggyback_window, 500ms);
    EXPECT_EQ(expect_ok("upstream:\n  piggyback_window: 1s\n").upstream.piggyback_window, 1s);
    EXPECT_EQ(expect_ok("upstream:\n  piggyback_window: 0s\n").upstream.piggyback_window, 0ms);
    EXPECT_THAT(only_error("upstream:\n  piggyback_window: 2s\n"),
                Err("upstream.piggyback_window", 2, "must be at most 1s, got '2s'"));
    EXPECT_THAT(only_error("upstream:\n  piggyback_window: soon\n"),
                Err("upstream.piggyback_window", 2,
                    "expected a duration like 250ms, 30s, 5m, 2h, got 'soon'"));
}

TEST(LoadConfig, EmptySectionsKeepDefaults) {
    expect_defaults(
        expect_ok("listeners:\nupstream:\nkeepalive:\ntcp:\nconnections:\nshutdown:\nqueue_mode:\n"
                  "device_limits:\nregistration:\nstore:\nadmin:\ncredentials:\nlog:\n"));
    expect_defaults(expect_ok("listeners: []\ncredentials: []\nkeepalive: {}\n"));
}

TEST(LoadConfig, UpstreamBindTakesSeveralAddresses) {
    const Config c =
        expect_ok("upstream:\n  bind: { address: [127.0.0.2, 127.0.0.3], ports: 40000-40009 }\n");
    EXPECT_EQ(c.upstream.bind_addresses, (std::vector<std::string>{"127.0.0.2", "127.0.0.3"}));
    EXPECT_TRUE(expect_ok("").upstream.bind_addresses.empty()) << "default: any address";
}

TEST(LoadConfig, EveryKeyWithoutFiles) {
    // TLS files are covered in config_files_test.cpp; here a PSK-only TLS listener.
    const Config c = expect_ok(R"(listeners:
  - uri: coap+tcp://0.0.0.0:0
    allow_plain_registration: false
  - uri: coaps+tcp://[::1]:5684
    tls:
      psk: true
      psk_identity_hint: lwgate-hint
      handshake_timeout: 2500ms
upstream:
  uri: coaps://core.example.net:5684
  bootstrap_uri: coaps://core.example.net:5784
  ack_timeout: 1500ms
  max_retransmit: 2
  dtls_resume_timeout: 0s
  bind: { address: 127.0.0.1, ports: 40000-40999 }
keepalive:
  idle: 45s
  pong_timeout: 5s
  max_missed: 3
tcp:
  nodelay: false
  keepalive: no
  keepalive_idle: 2m
  keepalive_interval: 15s
  keepalive_count: 9
  user_timeout: 0
connections:
  max: 5000
  accept_rate: 120/m
  accept_burst: 50
  csm_timeout: 3s
  csm_mode: lenient
  unregistered_idle: 1m
  max_message_size: 1MiB
  write_queue_limit: 2MiB
  write_timeout: 20s
  request_timeout: 7s
  max_tls_handshakes: 0
  max_tls_handshakes_per_address: 0
shutdown:
  drain_timeout: 0
  hold_off_min: 5s
  hold_off_max: 5s
queue_mode:
  max_queued: 0
  max_age: 1h
store:
  uri: sqlite:///var/lib/lwgate/state.db
admin:
  listen: 127.0.0.2:9000
  token: s3cret
credentials:
  - endpoint: urn:imei:123
    psk_identity: dev123
    psk_key_hex: 00112233445566778899AABBccddeeff
  - endpoint: urn:imei:456
    psk_identity: dev456
    psk_key_hex: "01"
log: { level: debug }
threads: 8
)");
    ASSERT_THAT(c.listeners, SizeIs(2));
    EXPECT_EQ(c.listeners[0].endpoint.scheme, Scheme::coap_tcp);
    EXPECT_EQ(c.listeners[0].endpoint.host, "0.0.0.0");
    EXPECT_EQ(c.listeners[0].endpoint.port, 0);
    EXPECT_EQ(c.listeners[0].endpoint.text, "coap+tcp://0.0.0.0:0");
    EXPECT_FALSE(c.listeners[0].allow_plain_registration);
    EXPECT_FALSE(c.listeners[0].tls.has_value());
    EXPECT_EQ(c.listeners[0].line, 2);
    EXPECT_EQ(c.listeners[1].endpoint.scheme, Scheme::coaps_tcp);
    EXPECT_EQ(c.listeners[1].endpoint.host, "::1");
    EXPECT_EQ(c.listeners[1].endpoint.port, 5684);
    EXPECT_TRUE(c.listeners[1].allow_plain_registration);
    EXPECT_EQ(c.listeners[1].line, 4);
    ASSERT_TRUE(c.listeners[1].tls.has_value());
    EXPECT_TRUE(c.listeners[1].tls->psk);
    EXPECT_EQ(c.listeners[1].tls->psk_identity_hint, "lwgate-hint");
    EXPECT_EQ(c.listeners[1].tls->handshake_timeout, 2500ms);
    EXPECT_EQ(c.listeners[1].tls->certificate, "");
    EXPECT_FALSE(c.listeners[1].tls->require_client_certificate);

    EXPECT_EQ(c.upstream.uri, "coaps://core.example.net:5684");
    EXPECT_EQ(c.upstream.endpoint.scheme, Scheme::coaps);
    EXPECT_EQ(c.upstream.endpoint.host, "core.example.net");
    EXPECT_EQ(c.upstream.endpoint.port, 5684);
    EXPECT_EQ(c.upstream.bootstrap_uri, "coaps://core.example.net:5784");
    ASSERT_TRUE(c.upstream.bootstrap.has_value());
    EXPECT_EQ(c.upstream.bootstrap->port, 5784);

    EXPECT_EQ(c.keepalive.idle, 45s);
    EXPECT_EQ(c.keepalive.pong_timeout, 5s);
    EXPECT_EQ(c.keepalive.max_missed, 3u);

    EXPECT_FALSE(c.tcp.nodelay);
    EXPECT_FALSE(c.tcp.keepalive);
    EXPECT_EQ(c.tcp.keepalive_idle, 2min);
    EXPECT_EQ(c.tcp.keepalive_interval, 15s);
    EXPECT_EQ(c.tcp.keepalive_count, 9u);
    EXPECT_EQ(c.tcp.user_timeout, 0s);

    EXPECT_EQ(c.connections.max, 5000u);
    EXPECT_DOUBLE_EQ(c.connections.accept_rate.per_second, 2.0);
    EXPECT_EQ(c.connections.accept_rate.burst, 50u);
    EXPECT_EQ(c.connections.csm_timeout, 3s);
    EXPECT_EQ(c.connections.csm_mode, CsmMode::lenient);
    EXPECT_EQ(c.connections.unregistered_idle, 1min);
    EXPECT_EQ(c.connections.max_message_size, 1024u * 1024);
    EXPECT_EQ(c.connections.write_queue_limit, 2u * 1024 * 1024);
    EXPECT_EQ(c.connections.write_timeout, 20s);
    EXPECT_EQ(c.connections.request_timeout, 7s);
    EXPECT_EQ(c.connections.max_tls_handshakes, 0u);
    EXPECT_EQ(c.connections.max_tls_handshakes_per_address, 0u);
    EXPECT_EQ(c.upstream.ack_timeout, 1500ms);
    EXPECT_EQ(c.upstream.max_retransmit, 2u);
    EXPECT_EQ(c.upstream.dtls_resume_timeout, 0ms);
    EXPECT_EQ(c.upstream.bind_addresses, std::vector<std::string>{"127.0.0.1"});
    EXPECT_EQ(c.upstream.bind_port_first, 40000);
    EXPECT_EQ(c.upstream.bind_port_last, 40999);

    EXPECT_EQ(c.shutdown.drain_timeout, 0s);
    EXPECT_EQ(c.shutdown.hold_off_min, 5s);
    EXPECT_EQ(c.shutdown.hold_off_max, 5s);

    EXPECT_EQ(c.queue_mode.max_queued, 0u);
    EXPECT_EQ(c.queue_mode.max_age, 1h);

    EXPECT_EQ(c.store.uri, "sqlite:///var/lib/lwgate/state.db");
    EXPECT_EQ(c.admin.listen, "127.0.0.2:9000");
    EXPECT_EQ(c.admin.host, "127.0.0.2");
    EXPECT_EQ(c.admin.port, 9000);
    EXPECT_EQ(c.admin.token, "s3cret");

    ASSERT_THAT(c.credentials, SizeIs(2));
    EXPECT_EQ(c.credentials[0].endpoint, "urn:imei:123");
    EXPECT_EQ(c.credentials[0].psk_identity, "dev123");
    EXPECT_EQ(c.credentials[0].psk_key,
              (std::vector<std::uint8_t>{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99,
                                         0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}));
    EXPECT_EQ(c.credentials[0].line, 53);
    EXPECT_EQ(c.credentials[1].psk_key, std::vector<std::uint8_t>{0x01});
    EXPECT_EQ(c.credentials[1].line, 56);
    EXPECT_EQ(c.credentials_file, "");

    EXPECT_EQ(c.log.level, LogLevel::debug);
    EXPECT_EQ(c.threads, 8u);
}

TEST(LoadConfig, ErrorToStringFormat) {
    const auto e = only_error("threads: 2\nkeepalive:\n  idle: abc\n");
    EXPECT_EQ(e.to_string(),
              "line 3: keepalive.idle: expected a duration like 250ms, 30s, 5m, 2h, got 'abc'");
    EXPECT_EQ((ConfigError{"a.b", 0, "msg", ""}.to_string()), "a.b: msg");
    EXPECT_EQ((ConfigError{"", 4, "msg", ""}.to_string()), "line 4: msg");
    EXPECT_EQ((ConfigError{"k", 4, "msg", "creds.yaml"}.to_string()), "creds.yaml line 4: k: msg");
    EXPECT_EQ((ConfigError{"", 0, "msg", "/x.yaml"}.to_string()), "/x.yaml: msg");
}

TEST(LoadConfig, BadDurations) {
    EXPECT_THAT(only_error("keepalive:\n  pong_timeout: 10\n"),
                Err("keepalive.pong_timeout", 2, "got '10'"));
    EXPECT_THAT(only_error("keepalive:\n  pong_timeout: 1.5s\n"),
                Err("keepalive.pong_timeout", 2, "expected a duration"));
    EXPECT_THAT(only_error("keepalive:\n  idle: 0\n"),
                Err("keepalive.idle", 2, "must be greater than 0"));
    EXPECT_THAT(only_error("keepalive:\n  pong_timeout: 0ms\n"),
                Err("keepalive.pong_timeout", 2, "must be greater than 0"));
    EXPECT_THAT(only_error("queue_mode:\n  max_age: 8761h\n"),
                Err("queue_mode.max_age", 2, "must be at most 8760h"));
    EXPECT_THAT(only_error("connections: {csm_timeout: [5s]}\n"),
                Err("connections.csm_timeout", 1, "got a list"));
    EXPECT_THAT(only_error("upstream:\n  ack_timeout: 500ms\n"),
                Err("upstream.ack_timeout", 2, "must be at least 1s (libcoap limit)"));
    EXPECT_THAT(only_error("upstream:\n  dtls_resume_timeout: -1s\n"),
                Err("upstream.dtls_resume_timeout", 2,
                    "expected a duration like 250ms, 30s, 5m, 2h, got '-1s'"));
    EXPECT_THAT(only_error("upstream:\n  dtls_resume_timeout: 2h\n"),
                Err("upstream.dtls_resume_timeout", 2, "must be at most 1h, got '2h'"));
    EXPECT_THAT(only_error("upstream:\n  bind:\n    ports: 500-100\n"),
                ::testing::Field(&ConfigError::key, "upstream.bind.ports"));
    EXPECT_THAT(
        only_error("upstream:\n  bind:\n    address: core.example\n"),
        Err("upstream.bind.address", 3, "expected an IPv4 or IPv6 address, got 'core.example'"));
    EXPECT_THAT(only_error("upstream:\n  bind:\n    address: [127.0.0.2, 'x']\n"),
                Err("upstream.bind.address[1]", 3, "expected an IPv4 or IPv6 address, got 'x'"));
    EXPECT_THAT(only_error("upstream:\n  bind:\n    address: [127.0.0.2, 127.0.0.2]\n"),
                Err("upstream.bind.address[1]", 3, "'127.0.0.2' is listed twice"));
    EXPECT_THAT(only_error("upstream:\n  bind:\n    address: [127.0.0.2, '::1']\n"),
                Err("upstream.bind.address[1]", 3,
                    "mixes IPv4 and IPv6: the core is reached over one of them"));
    EXPECT_THAT(only_error("upstream:\n  bind:\n    address: []\n"),
                Err("upstream.bind.address", 3, "expected at least one address"));
    EXPECT_THAT(only_error("upstream:\n  max_retransmit: 0\n"),
                Err("upstream.max_retransmit", 2, "must be at least 1 (libcoap ignores 0)"));
    EXPECT_THAT(only_error("upstream:\n  max_retransmit: 21\n"),
                ::testing::Field(&ConfigError::key, "upstream.max_retransmit"));
    EXPECT_THAT(only_error("connections:\n  write_timeout:\n"),
                Err("connections.write_timeout", 2, "got nothing"));
    EXPECT_THAT(only_error("tcp:\n  keepalive_idle: 1500ms\n"),
                Err("tcp.keepalive_idle", 2, "whole seconds"));
    EXPECT_THAT(only_error("tcp:\n  keepalive_interval: 0s\n"),
                Err("tcp.keepalive_interval", 2, "between 1s and 32767s"));
    EXPECT_THAT(only_error("tcp:\n  user_timeout: 25h\n"),
                Err("tcp.user_timeout", 2, "at most 24h"));
}

TEST(LoadConfig, RatesAndSizes) {
    EXPECT_EQ(expect_ok("connections: {accept_rate: 50}").connections.accept_rate.per_second, 50);
    EXPECT_EQ(expect_ok("connections: {accept_rate: 0.5/s}").connections.accept_rate.per_second,
              0.5);
    EXPECT_THAT(only_error("connections:\n  accept_rate: fast\n"),
                Err("connections.accept_rate", 2, "expected a rate like 2000/s or 100/m"));
    EXPECT_THAT(only_error("connections:\n  accept_rate: 10/h\n"),
                Err("connections.accept_rate", 2, "got '10/h'"));
    EXPECT_THAT(only_error("connections:\n  accept_rate: 0/s\n"),
                Err("connections.accept_rate", 2, "must be greater than 0"));
    EXPECT_THAT(only_error("connections:\n  accept_burst: -1\n"),
                Err("connections.accept_burst", 2));

    EXPECT_EQ(expect_ok("connections: {max_message_size: 1152}").connections.max_message_size,
              1152u);
    EXPECT_EQ(expect_ok("connections: {max_message_size: 8388864B}").connections.max_message_size,
              8388864u);
    EXPECT_THAT(only_error("connections:\n  max_message_size: 1151\n"),
                Err("connections.max_message_size", 2, "between 1152 and 8388864 bytes"));
    EXPECT_THAT(only_error("connections:\n  max_message_size: 8388865\n"),
                Err("connections.max_message_size", 2, "between 1152 and 8388864 bytes"));
    EXPECT_THAT(only_error("connections:\n  max_message_size: 16KB\n"),
                Err("connections.max_message_size", 2, "expected a size like"));
    EXPECT_EQ(expect_ok("connections: {write_queue_limit: 65536}").connections.write_queue_limit,
              65536u);
    EXPECT_EQ(expect_ok("connections: {write_queue_limit: 1024MiB}").connections.write_queue_limit,
              1u << 30);
    EXPECT_THAT(only_error("connections:\n  write_queue_limit: 1151\n"),
                Err("connections.write_queue_limit", 2, "between 1152 and 1073741824 bytes"));
    EXPECT_THAT(only_error("connections:\n  write_queue_limit: 1025MiB\n"),
                Err("connections.write_queue_limit", 2, "between 1152 and 1073741824 bytes"));
}

TEST(LoadConfig, WrongTypesAndRanges) {
    EXPECT_THAT(only_error("threads: {a: 1}\n"), Err("threads", 1, "got a map"));
    EXPECT_THAT(only_error("threads: [1]\n"), Err("threads", 1, "got a list"));
    EXPECT_THAT(only_error("threads: 2.5\n"), Err("threads", 1, "expected a whole number"));
    EXPECT_THAT(only_error("threads: two\n"), Err("threads", 1, "got 'two'"));
    EXPECT_THAT(only_error("threads: -1\n"), Err("threads", 1, "between 1 and 256, got -1"));
    EXPECT_THAT(only_error("threads: 0\n"), Err("threads", 1, "between 1 and 256, got 0"));
    EXPECT_THAT(only_error("threads: 257\n"), Err("threads", 1, "between 1 and 256"));
    EXPECT_THAT(only_error("threads: 99999999999999999999999\n"), Err("threads", 1, "between"));
    EXPECT_EQ(expect_ok("threads: 256\n").threads, 256u);
    EXPECT_THAT(only_error("keepalive:\n  max_missed: 0\n"), Err("keepalive.max_missed", 2));
    EXPECT_THAT(only_error("tcp:\n  keepalive_count: 128\n"), Err("tcp.keepalive_count", 2));
    EXPECT_THAT(only_error("connections:\n  max: 0\n"), Err("connections.max", 2));
    EXPECT_THAT(only_error("connections:\n  max_tls_handshakes_per_address: 1000001\n"),
                Err("connections.max_tls_handshakes_per_address", 2, "between 0 and 1000000"));
    EXPECT_THAT(only_error("connections:\n  max_tls_handshakes_per_address: -1\n"),
                Err("connections.max_tls_handshakes_per_address", 2));
    EXPECT_THAT(only_error("queue_mode:\n  max_queued: 65537\n"), Err("queue_mode.max_queued", 2));
    EXPECT_THAT(only_error("tcp:\n  nodelay: maybe\n"),
                Err("tcp.nodelay", 2, "expected true or false, got 'maybe'"));
    EXPECT_THAT(only_error("keepalive: 60s\n"), Err("keepalive", 1, "expected a map with keys"));
    EXPECT_THAT(only_error("log: info\n"), Err("log", 1, "expected a map"));
    EXPECT_THAT(only_error("log:\n  level: verbose\n"),
                Err("log.level", 2,
                    "expected one of trace, debug, info, warn, error, critical, off, got "
                    "'verbose'"));
    EXPECT_THAT(only_error("connections:\n  csm_mode: loose\n"),
                Err("connections.csm_mode", 2, "expected one of strict, lenient"));
    EXPECT_THAT(only_error("log:\n  level: info\n  format: xml\n"),
                Err("log.format", 3, "expected one of text, json, got 'xml'"));
    EXPECT_THAT(only_error("upstream:\n  uri: [coap://a]\n"), Err("upstream.uri", 2, "got a list"));
    EXPECT_THAT(only_error("- a\n- b\n"), Err("", 1, "expected a map of settings"));
    EXPECT_THAT(only_error("just text\n"), Err("", 1, "expected a map of settings"));
}

TEST(LoadConfig, DeviceLimitsAndRegistration) {
    const Config d = expect_ok("");
    EXPECT_EQ(d.connections.max_registrations, 0u) << "0: from the descriptor limit";
    EXPECT_EQ(d.device_limits.uplinks_in_flight, 8u);
    EXPECT_EQ(d.device_limits.uplinks_queued, 32u);
    EXPECT_DOUBLE_EQ(d.device_limits.notifications_per_second, 20);
    EXPECT_EQ(d.device_limits.notification_burst, 40u);
    EXPECT_EQ(d.registration.max_lifetime, 24h);
    EXPECT_DOUBLE_EQ(d.registration.rate_per_address.per_second, 100);
    EXPECT_EQ(d.registration.rate_per_address.burst, 1000u);

    const Config c = expect_ok(
        "connections:\n  max_registrations: 5000\n"
        "device_limits:\n  uplinks_in_flight: 1\n  uplinks_queued: 0\n"
        "  notifications_per_second: 120/m\n  notification_burst: 3\n"
        "registration:\n  max_lifetime: 2h\n  rate_per_address: 5/s\n  burst_per_address: 7\n");
    EXPECT_EQ(c.connections.max_registrations, 5000u);
    EXPECT_EQ(c.device_limits.uplinks_in_flight, 1u);
    EXPECT_EQ(c.device_limits.uplinks_queued, 0u);
    EXPECT_DOUBLE_EQ(c.device_limits.notifications_per_second, 2);
    EXPECT_EQ(c.device_limits.notification_burst, 3u);
    EXPECT_EQ(c.registration.max_lifetime, 2h);
    EXPECT_DOUBLE_EQ(c.registration.rate_per_address.per_second, 5);
    EXPECT_EQ(c.registration.rate_per_address.burst, 7u);

    EXPECT_THAT(only_error("device_limits:\n  uplinks_in_flight: 0\n"),
                Err("device_limits.uplinks_in_flight", 2, "between 1 and 1024"));
    EXPECT_THAT(only_error("device_limits:\n  notifications_per_second: 0/s\n"),
                Err("device_limits.notifications_per_second", 2, "greater than 0"));
    EXPECT_THAT(only_error("registration:\n  max_lifetime: 30s\n"),
                Err("registration.max_lifetime", 2, "between 1m and 8760h"));
    EXPECT_THAT(only_error("registration:\n  max_lifetime: 90500ms\n"),
                Err("registration.max_lifetime", 2, "whole seconds"));
    EXPECT_THAT(only_error("registration:\n  rate_per_address: fast\n"),
                Err("registration.rate_per_address", 2, "a rate like"));
    EXPECT_THAT(only_error("registration:\n  lifetime: 1h\n"), Err("registration.lifetime", 2));
}

TEST(LoadConfig, BooleansAcceptYamlSpellings) {
    EXPECT_FALSE(expect_ok("tcp: {nodelay: no}").tcp.nodelay);
    EXPECT_FALSE(expect_ok("tcp: {nodelay: Off}").tcp.nodelay);
    EXPECT_TRUE(expect_ok("tcp: {nodelay: yes, keepalive: on}").tcp.keepalive);
    EXPECT_FALSE(expect_ok("tcp: {nodelay: FALSE}").tcp.nodelay);
}

TEST(LoadConfig, UnknownKeysAtEveryLevel) {
    EXPECT_THAT(only_error("threads: 2\nthread: 3\n"),
                Err("thread", 2, "unknown key (expected one of: listeners, upstream"));
    EXPECT_THAT(
        only_error("keepalive:\n  idle: 30s\n  iddle: 20s\n"),
        Err("keepalive.iddle", 3, "unknown key (expected one of: idle, pong_timeout, max_missed)"));
    EXPECT_THAT(only_error("listeners:\n  - uri: coap+tcp://127.0.0.1:0\n    port: 5683\n"),
                Err("listeners[0].port", 3, "unknown key"));
    EXPECT_THAT(only_error("listeners:\n  - uri: coaps+tcp://127.0.0.1:0\n    tls:\n"
                           "      psk: true\n      cert: x.pem\n"
                           "credentials:\n  - {endpoint: a, psk_identity: a, psk_key_hex: '00'}\n"),
                Err("listeners[0].tls.cert", 5, "unknown key"));
    EXPECT_THAT(only_error("credentials:\n  - endpoint: a\n    psk_identity: a\n"
                           "    psk_key_hex: '00'\n    psk_key: x\n"),
                Err("credentials[0].psk_key", 5, "unknown key"));
    EXPECT_THAT(only_error("log: {level: info, file: x}\n"), Err("log.file", 1, "unknown key"));
}

TEST(LoadConfig, DuplicateKeysAreErrors) {
    EXPECT_THAT(only_error("threads: 2\nthreads: 3\n"), Err("threads", 2, "duplicate key"));
    EXPECT_THAT(only_error("keepalive:\n  idle: 1s\n  idle: 2s\n"),
                Err("keepalive.idle", 3, "duplicate key"));
}

TEST(LoadConfig, NonScalarKeyIsAnError) {
    EXPECT_THAT(only_error("? [a, b]\n: 1\n"), Err("", 1, "expected a key name"));
}

TEST(LoadConfig, SyntaxErrorIsOneErrorWithItsLine) {
    auto e = only_error("threads: 2\nkeepalive:\n  idle: [1s\n  pong_timeout: 2s\n");
    EXPECT_EQ(e.key, "");
    EXPECT_GE(e.line, 3);
    EXPECT_THAT(e.message, HasSubstr("YAML syntax error"));
    e = only_error("threads: 2\nlog:\n  level: info\n bad: 1\n");
    EXPECT_EQ(e.line, 4);
    EXPECT_THAT(e.message, HasSubstr("YAML syntax error"));
    e = only_error("a: 'unterminated\n");
    EXPECT_GE(e.line, 1);
}

TEST(LoadConfig, OnlyOneDocument) {
    EXPECT_THAT(only_error("threads: 2\n---\nthreads: 3\n"), Err("", 3, "only one YAML document"));
}

TEST(LoadConfig, CollectsAllErrors) {
    const auto errors = expect_errors(R"(listeners:
  - uri: http://0.0.0.0:80
  - uri: coaps+tcp://0.0.0.0:5684
keepalive:
  idle: soon
  max_missed: 0
bogus: 1
connections:
  csm_mode: maybe
threads: 0
log:
  level: loud
)");
    EXPECT_THAT(
        errors,
        ElementsAre(Err("listeners[0].uri", 2, "unsupported scheme 'http'"),
                    Err("listeners[1].tls", 3, "missing"), Err("keepalive.idle", 5, "got 'soon'"),
                    Err("keepalive.max_missed", 6, "between 1 and 100"),
                    Err("bogus", 7, "unknown key"), Err("connections.csm_mode", 9, "got 'maybe'"),
                    Err("threads", 10, "between 1 and 256"), Err("log.level", 12, "got 'loud'")));
}

TEST(LoadConfig, ListenerErrors) {
    EXPECT_THAT(only_error("listeners:\n  - uri: coap://127.0.0.1:5683\n"),
                Err("listeners[0].uri", 2, "must be coap+tcp:// or coaps+tcp://"));
    EXPECT_THAT(only_error("listeners:\n  - uri: coap+tcp://127.0.0.1:99999\n"),
                Err("listeners[0].uri", 2, "port"));
    EXPECT_THAT(only_error("listeners:\n  - uri: coap+tcp://127.0.0.1:0\n  - uri: coap+tcp://"
                           "::1\n"),
                Err("listeners[1].uri", 3, "brackets"));
    EXPECT_THAT(only_error("listeners:\n  - uri: coap+tcp://127.0.0.1\n    tls: {psk: true}\n"),
                Err("listeners[0].tls", 3, "only for coaps+tcp"));
    EXPECT_THAT(only_error("listeners:\n  - uri: coaps+tcp://127.0.0.1\n"),
                Err("listeners[0].tls", 2, "needs tls"));
    EXPECT_THAT(only_error("listeners:\n  - uri: coaps+tcp://127.0.0.1\n    tls:\n"),
                Err("listeners[0].tls", 3, "needs certificate and private_key, or psk: true"));
    EXPECT_THAT(only_error("listeners:\n  - uri: coaps+tcp://127.0.0.1\n    tls: {psk: false}\n"),
                Err("listeners[0].tls", 3, "needs certificate and private_key, or psk: true"));
    EXPECT_THAT(only_error("listeners:\n  - uri: coaps+tcp://127.0.0.1\n    tls: yes\n"),
                Err("listeners[0].tls", 3, "expected a map"));
    EXPECT_THAT(only_error("listeners:\n  - allow_plain_registration: true\n"),
                Err("listeners[0].uri", 2, "missing"));
    EXPECT_THAT(only_error("listeners:\n  - coap+tcp://127.0.0.1\n"),
                Err("listeners[0]", 2, "expected a map with keys uri"));
    EXPECT_THAT(only_error("listeners:\n  uri: coap+tcp://127.0.0.1\n"),
                Err("listeners", 2, "expected a list of listeners"));
    EXPECT_THAT(only_error("listeners:\n  - uri: coap+tcp://127.0.0.1:5683\n"
                           "  - uri: coaps+tcp://127.0.0.1:5683\n    tls: {psk: true}\n"
                           "credentials: [{endpoint: a, psk_identity: a, psk_key_hex: '00'}]\n"),
                Err("listeners[1].uri", 3, "same address as listeners[0] (line 2)"));
    // Port 0 means "any free port": several are fine.
    EXPECT_THAT(expect_ok("listeners:\n  - uri: coap+tcp://127.0.0.1:0\n"
                          "  - uri: coap+tcp://127.0.0.1:0\n")
                    .listeners,
                SizeIs(2));
}

// The credentials of a PSK listener may all come from the store (the admin API) at run time.
TEST(LoadConfig, PskListenerWithOrWithoutYamlCredentials) {
    const char* listener =
        "listeners:\n  - uri: coaps+tcp://127.0.0.1:0\n    tls:\n      psk: true\n";
    EXPECT_TRUE(expect_ok(listener).credentials.empty());
    EXPECT_TRUE(expect_ok(std::string(listener) + "credentials: []\n").credentials.empty());
    const Config c =
        expect_ok(std::string(listener) +
                  "credentials:\n  - {endpoint: e, psk_identity: i, psk_key_hex: ab}\n");
    ASSERT_TRUE(c.listeners[0].tls.has_value());
    EXPECT_TRUE(c.listeners[0].tls->psk);
    // A broken credential is reported.
    EXPECT_THAT(only_error(std::string(listener) +
                           "credentials:\n  - {endpoint: e, psk_identity: i, psk_key_hex: abc}\n"),
                Err("credentials[0].psk_key_hex", 6, "even number"));
}

TEST(LoadConfig, UpstreamErrors) {
    EXPECT_THAT(only_error("upstream:\n  uri: coap+tcp://core:5683\n"),
                Err("upstream.uri", 2, "expected coap:// or coaps://"));
    EXPECT_THAT(only_error("upstream:\n  uri: coap://core:0\n"), Err("upstream.uri", 2, "port 0"));
    EXPECT_THAT(only_error("upstream:\n  uri: core.example.net\n"),
                Err("upstream.uri", 2, "not a URI"));
    EXPECT_THAT(only_error("upstream:\n  uri: coap://core\n  bootstrap_uri: coaps+tcp://bs\n"),
                Err("upstream.bootstrap_uri", 3, "expected coap:// or coaps://"));
    EXPECT_THAT(only_error("upstream:\n  host: core\n"), Err("upstream.host", 2, "unknown key"));
    const Config c = expect_ok("upstream:\n  uri: coap://[::1]\n  bootstrap_uri:\n");
    EXPECT_EQ(c.upstream.endpoint.host, "::1");
    EXPECT_EQ(c.upstream.endpoint.port, 5683);
    EXPECT_FALSE(c.upstream.bootstrap.has_value());
}

TEST(LoadConfig, UpstreamGatewayDtlsIdentity) {
    const Config c = expect_ok(
        "upstream:\n  uri: coaps://core\n  dtls:\n    psk_identity: lwgate-1\n"
        "    psk_key_hex: 0a0B\n");
    EXPECT_EQ(c.upstream.gateway_psk_identity, "lwgate-1");
    EXPECT_EQ(c.upstream.gateway_psk_key, (std::vector<std::uint8_t>{0x0a, 0x0b}));
    EXPECT_THAT(only_error("upstream:\n  dtls:\n    psk_identity: gw\n"),
                Err("upstream.dtls.psk_key_hex", 3, "go together"));
    EXPECT_THAT(only_error("upstream:\n  dtls:\n    psk_identity: gw\n    psk_key_hex: xyz1\n"),
                Err("upstream.dtls.psk_key_hex", 4, "hex digits only"));
    EXPECT_THAT(expect_errors("upstream:\n  dtls:\n    certificate: /nonexistent/gw.pem\n"
                              "    private_key: /nonexistent/gw.key\n"),
                ElementsAre(Err("upstream.dtls.certificate", 3, "file not found"),
                            Err("upstream.dtls.private_key", 4, "file not found")));
    EXPECT_THAT(only_error("upstream:\n  dtls:\n    pki: true\n"),
                Err("upstream.dtls.pki", 3, "unknown key"));
}

TEST(LoadConfig, HoldOffRange) {
    EXPECT_THAT(
        only_error("shutdown:\n  hold_off_min: 2m\n  hold_off_max: 1m\n"),
        Err("shutdown.hold_off_min", 2, "hold_off_min (2m) is greater than hold_off_max (1m)"));
    // Only max given, below the default min.
    EXPECT_THAT(only_error("shutdown:\n  hold_off_max: 5s\n"),
                Err("shutdown.hold_off_max", 2, "hold_off_min (10s)"));
    EXPECT_EQ(expect_ok("shutdown:\n  hold_off_min: 0\n  hold_off_max: 0\n").shutdown.hold_off_max,
              0s);
}

TEST(LoadConfig, PskKeyHexRules) {
    auto cred = [](const std::string& key) {
        return "credentials:\n  - endpoint: e\n    psk_identity: i\n    psk_key_hex: " + key + "\n";
    };
    EXPECT_THAT(only_error(cred("abc")), Err("credentials[0].psk_key_hex", 4, "even number"));
    EXPECT_THAT(only_error(cred("zz")), Err("credentials[0].psk_key_hex", 4, "hex digits only"));
    EXPECT_THAT(only_error(cred("''")), Err("credentials[0].psk_key_hex", 4, "1 to 64 bytes"));
    EXPECT_THAT(only_error(cred(std::string(130, 'a'))),
                Err("credentials[0].psk_key_hex", 4, "1 to 64 bytes, got 65"));
    EXPECT_THAT(expect_ok(cred(std::string(128, 'a'))).credentials[0].psk_key, SizeIs(64));
    EXPECT_THAT(only_error(cred("")), Err("credentials[0].psk_key_hex", 4, "got nothing"));
    // A secret never appears in an error message.
    const auto e = only_error(cred("00112233445566778899aabbccddeefX"));
    EXPECT_THAT(e.to_string(), Not(HasSubstr("0011223344")));
}

TEST(LoadConfig, CredentialErrors) {
    const auto errors = expect_errors(R"(credentials:
  - endpoint: urn:imei:1
    psk_identity: id1
    psk_key_hex: "00"
  - endpoint: urn:imei:2
    psk_identity: id1
    psk_key_hex: "01"
  - endpoint: urn:imei:1
    psk_identity: id3
    psk_key_hex: "02"
  - psk_identity: id4
  - not a map
)");
    EXPECT_THAT(errors,
                ElementsAre(Err("credentials[1].psk_identity", 6,
                                "duplicate psk_identity 'id1' (also credentials[0], line 2)"),
                            Err("credentials[2].endpoint", 8,
                                "duplicate endpoint 'urn:imei:1' (also credentials[0], line 2)"),
                            Err("credentials[3].endpoint", 11, "missing"),
                            Err("credentials[3].psk_key_hex", 11, "missing"),
                            Err("credentials[4]", 12, "expected a map")));
    EXPECT_THAT(only_error("credentials: {endpoint: a}\n"),
                Err("credentials", 1, "expected a list of credentials"));
    EXPECT_THAT(
        only_error("credentials:\n  - {endpoint: '', psk_identity: i, psk_key_hex: '00'}\n"),
        Err("credentials[0].endpoint", 2, "must not be empty"));
}

TEST(LoadConfig, CredentialsAndCredentialsFileAreExclusive) {
    EXPECT_THAT(only_error("credentials_file: creds.yaml\ncredentials: []\n"),
                Err("credentials_file", 1, "either credentials or credentials_file"));
}

TEST(LoadConfig, StoreUri) {
    EXPECT_EQ(expect_ok("store: {uri: 'memory:'}").store.uri, "memory:");
    EXPECT_EQ(expect_ok("store: {uri: memory}").store.uri, "memory:");
    EXPECT_EQ(expect_ok("store: {uri: 'sqlite:///tmp/x.db'}").store.uri, "sqlite:///tmp/x.db");
    EXPECT_THAT(only_error("store:\n  uri: sqlite://relative.db\n"),
                Err("store.uri", 2, "expected memory:, sqlite:///absolute/path.db, redis://"));
    EXPECT_THAT(only_error("store:\n  uri: sqlite:///\n"), Err("store.uri", 2));
    EXPECT_THAT(only_error("store:\n  uri: mysql://host\n"),
                Err("store.uri", 2, "redis+unix:///PATH[?db=N], got 'mysql://host'"));
}

TEST(LoadConfig, StoreUriRedis) {
    EXPECT_EQ(expect_ok("store: {uri: 'redis://127.0.0.1:6379/2'}").store.uri,
              "redis://127.0.0.1:6379/2");
    EXPECT_EQ(expect_ok("store: {uri: 'redis+unix:///run/redis/redis.sock?db=1'}").store.uri,
              "redis+unix:///run/redis/redis.sock?db=1");
    EXPECT_THAT(only_error("store:\n  uri: redis://host:99999\n"),
                Err("store.uri", 2, "port must be 1..65535, got '99999'"));
    EXPECT_THAT(only_error("store:\n  uri: redis+unix://relative.sock\n"),
                Err("store.uri", 2, "absolute socket path"));
    EXPECT_THAT(only_error("store:\n  uri: redis://host/x\n"),
                Err("store.uri", 2, "database number"));
}

TEST(LoadConfig, AdminListen) {
    auto c = expect_ok("admin: {listen: '[::1]:0'}");
    EXPECT_EQ(c.admin.host, "::1");
    EXPECT_EQ(c.admin.port, 0);
    EXPECT_EQ(expect_ok("admin: {listen: 'localhost:8080'}").admin.port, 8080);
    EXPECT_EQ(expect_ok("admin: {listen: '127.0.0.2:8080'}").admin.host, "127.0.0.2");
    EXPECT_THAT(only_error("admin:\n  listen: 0.0.0.0:8484\n"),
                Err("admin.listen", 2, "not a loopback address: set admin.token"));
    EXPECT_THAT(only_error("admin:\n  listen: '[::]:8484'\n"),
                Err("admin.listen", 2, "admin.token"));
    // A token alone is not enough beyond loopback: it would travel in clear (admin_tls_test.cpp).
    EXPECT_THAT(only_error("admin: {listen: '0.0.0.0:8484', token: t}"),
                Err("admin.listen", 1, "configure admin.tls"));
    EXPECT_EQ(expect_ok("admin: {listen: '127.0.0.1:8484', token: t}").admin.token, "t");
    EXPECT_THAT(only_error("admin:\n  listen: 127.0.0.1\n"),
                Err("admin.listen", 2, "expected host:port"));
    EXPECT_THAT(only_error("admin:\n  listen: 127.0.0.1:80000\n"), Err("admin.listen", 2, "port"));
    EXPECT_THAT(only_error("admin:\n  listen: 127.0.0.1:5683\n"),
                Err("admin.listen", 2, "same address as listeners[0]"));
}

TEST(LoadConfig, AdminOffAndToken) {
    for (const char* off : {"admin: {listen: off}", "admin: {listen: ''}", "admin: {listen: }",
                            "admin:\n  listen: off\n  token: t\n"}) {
        auto c = expect_ok(off);
        EXPECT_FALSE(c.admin.enabled) << off;
        EXPECT_EQ(c.admin.listen, "off") << off;
        EXPECT_EQ(c.admin.port, 0) << off;
    }
    EXPECT_TRUE(expect_ok("").admin.enabled);
    EXPECT_TRUE(expect_ok("admin: {listen: '127.0.0.1:0'}").admin.enabled);
    // Disabled: a token is not needed and the listener clash check does not apply.
    EXPECT_FALSE(expect_ok("admin: {listen: off, token: ''}").admin.enabled);
    EXPECT_THAT(only_error("admin:\n  listen: 127.0.0.1:0\n  token: 'a b'\n"),
                Err("admin.token", 3, "visible ASCII"));
    EXPECT_THAT(only_error("admin:\n  listen: [1, 2]\n"),
                Err("admin.listen", 2, "host:port or off"));
    EXPECT_THAT(only_error("admin:\n  listen: '10.0.0.1:0'\n"),
                Err("admin.listen", 2, "not a loopback address"));
}

TEST(LoadConfig, NoExceptionOnHostileInput) {
    // Deep nesting, anchors, odd scalars: errors, never a throw.
    std::string deep = "threads: ";
    for (int i = 0; i < 200; ++i)
        deep += "[";
    for (int i = 0; i < 200; ++i)
        deep += "]";
    EXPECT_NO_THROW({ (void)load_config_string(deep); });
    EXPECT_NO_THROW({ (void)load_config_string("a: &x [*x]\n"); });
    EXPECT_NO_THROW({ (void)load_config_string("threads: *undefined\n"); });
    EXPECT_NO_THROW({ (void)load_config_string(std::string("threads: \0\x01\xff", 12)); });
    EXPECT_NO_THROW({ (void)load_config_string("{{{{"); });
    EXPECT_NO_THROW({ (void)load_config_string("<<: {threads: 3}\n"); });
}

TEST(LoadConfig, AnchorsAndAliasesWork) {
    const Config c = expect_ok("keepalive: {idle: &t 42s}\nconnections: {csm_timeout: *t}\n");
    EXPECT_EQ(c.keepalive.idle, 42s);
    EXPECT_EQ(c.connections.csm_timeout, 42s);
}

TEST(ToString, EnumsAsWrittenInTheConfig) {
    EXPECT_STREQ(to_string(Scheme::coap_tcp), "coap+tcp");
    EXPECT_STREQ(to_string(Scheme::coaps_tcp), "coaps+tcp");
    EXPECT_STREQ(to_string(Scheme::coap), "coap");
    EXPECT_STREQ(to_string(Scheme::coaps), "coaps");
    EXPECT_STREQ(to_string(LogLevel::trace), "trace");
    EXPECT_STREQ(to_string(LogLevel::warn), "warn");
    EXPECT_STREQ(to_string(LogLevel::off), "off");
    EXPECT_STREQ(to_string(CsmMode::lenient), "lenient");
    EXPECT_STREQ(to_string(LogFormat::text), "text");
    EXPECT_STREQ(to_string(LogFormat::json), "json");
}

TEST(LoadConfig, LogFormatIsTextUnlessJsonIsAsked) {
    EXPECT_EQ(expect_ok("threads: 1\n").log.format, LogFormat::text);
    EXPECT_EQ(expect_ok("log:\n  format: json\n").log.format, LogFormat::json);
    EXPECT_EQ(expect_ok("log:\n  format: text\n  level: warn\n").log.format, LogFormat::text);
}

}  // namespace
}  // namespace lwgate::config
