// A gateway configuration for tests, rendered to YAML. The defaults are chosen for hermetic,
// parallel tests: one coap+tcp listener on 127.0.0.1 port 0, the admin API on port 0, an
// in-memory store, a generous accept rate, and an unregistered-idle limit long enough not to
// interfere (set it explicitly in tests that exercise it). Values are written exactly as in the
// YAML file (durations like "500ms", sizes like "2KiB", rates like "10/s"), so a test can also
// feed invalid values to the loader.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lwgate::harness {

struct GatewayConfig {
    std::vector<std::string> listener_uris{"coap+tcp://127.0.0.1:0"};

    // keepalive.*
    std::string keepalive_idle = "60s";
    std::string pong_timeout = "10s";
    unsigned max_missed = 1;

    // connections.*
    std::uint64_t max_connections = 1000;
    std::string accept_rate = "10000/s";
    unsigned accept_burst = 0;
    std::string csm_timeout = "5s";
    std::string csm_mode = "strict";
    std::string unregistered_idle = "1h";
    std::string max_message_size = "16KiB";
    // More connections.* keys, one "key: value" per line (indented for you).
    std::vector<std::string> connections_extra;

    // shutdown.*
    std::string drain_timeout = "2s";
    std::string hold_off_min = "1s";
    std::string hold_off_max = "5s";

    std::string store_uri = "memory:";     // store.uri (sqlite:///path for persistence tests)
    std::vector<std::string> store_extra;  // more store.* keys, "key: value" per line
    // admin.*: never the default 8484, so parallel tests never collide. "off" disables it.
    std::string admin_listen = "127.0.0.1:0";
    std::string admin_token;  // empty: no token
    // admin.tls: PEM files (both, or neither for plain HTTP).
    std::string admin_tls_certificate;
    std::string admin_tls_private_key;
    std::string log_level = "info";
    std::string log_format;  // log.format; empty: not written (text)
    unsigned threads = 2;

    // Appended verbatim at the top level (for keys not modelled above; do not repeat a section
    // that yaml() already writes).
    std::string extra_yaml;

    std::string yaml() const;
};

}  // namespace lwgate::harness
