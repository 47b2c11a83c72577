// The key table (see keys.hpp). Sections and their keys are in the order the loader names them
// in "expected one of" messages; defaults of keys with a place in Config are that place's
// initial value in config.hpp.
#include "config/keys.hpp"

#include <array>
#include <chrono>
#include <limits>

#include "config/key_readers.hpp"
#include "config/key_text.hpp"

namespace lwgate::config {

namespace {

constexpr std::uint64_t ms(Duration d) {
    return static_cast<std::uint64_t>(d.count());
}
constexpr std::uint64_t kPositive = 1;  // durations: greater than 0
constexpr std::uint64_t kAnyCount = std::numeric_limits<std::uint64_t>::max();
constexpr std::uint64_t kKernelKeepaliveMax = ms(std::chrono::seconds(32767));  // kernel limit

constexpr std::array<std::string_view, 2> kCsmModes{"strict", "lenient"};
constexpr std::array<std::string_view, 7> kLogLevels{"trace", "debug",    "info", "warn",
                                                     "error", "critical", "off"};
constexpr std::array<std::string_view, 2> kLogFormats{"text", "json"};

// libcoap 4.3.1 ignores ACK timeouts below one second.
const char* ack_timeout_at_least_1s(const Config& c) {
    return c.upstream.ack_timeout < 1s ? "must be at least 1s (libcoap limit)" : nullptr;
}

// libcoap 4.3.1 ignores 0 (coap_session_set_max_retransmit keeps its default of 4), so a 0
// would silently mean 4.
const char* max_retransmit_not_0(const Config& c) {
    return c.upstream.max_retransmit == 0 ? "must be at least 1 (libcoap ignores 0)" : nullptr;
}

// Sent as `Authorization: Bearer <token>`: visible ASCII only.
const char* token_is_visible_ascii(const Config& c) {
    for (char ch : c.admin.token) {
        if (ch <= ' ' || ch > '~') {
            return "the token may only contain visible ASCII characters (no spaces)";
        }
    }
    return nullptr;
}

// Part of Redis key names and of a channel name (lwgate:instance:<name>). Empty: the host name,
// which the loader puts there and checks with this too.
const char* instance_is_a_key_part(const Config& c) {
    const std::string& name = c.cluster.instance;
    if (name.size() > 64) return "must be at most 64 characters";
    for (char ch : name) {
        const bool allowed = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                             (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
        if (!allowed) return "may only contain the characters A-Z, a-z, 0-9, '.', '_' and '-'";
    }
    return nullptr;
}

using C = Config;
using K = Kind;
using R = Reload;

constexpr KeySpec kKeys[] = {
    // Sockets that are bound at start: a change waits for a restart.
    {.path = "listeners",
     .kind = K::list,
     .read = read_listeners,
     .text = listeners_text,
     .default_text = "coap+tcp://127.0.0.1:5683"},
    {.path = "listeners[].uri", .kind = K::uri, .default_text = "none"},
    {.path = "listeners[].tls", .kind = K::section, .default_text = "none"},
    {.path = "listeners[].tls.certificate", .kind = K::file, .default_text = "none"},
    {.path = "listeners[].tls.private_key", .kind = K::file, .default_text = "none"},
    {.path = "listeners[].tls.ca", .kind = K::file, .default_text = "none"},
    {.path = "listeners[].tls.require_client_certificate",
     .kind = K::boolean,
     .default_text = "false"},
    {.path = "listeners[].tls.psk", .kind = K::boolean, .default_text = "false"},
    {.path = "listeners[].tls.psk_identity_hint", .kind = K::text, .default_text = "none"},
    {.path = "listeners[].tls.handshake_timeout",
     .kind = K::duration,
     .min = kPositive,
     .default_text = "10s"},
    {.path = "listeners[].allow_plain_registration", .kind = K::boolean, .default_text = "true"},
    {.path = "listeners[].reuse_port", .kind = K::boolean, .default_text = "false"},
    {.path = "listeners[].proxy_protocol", .kind = K::boolean, .default_text = "false"},

    // The core: libcoap sessions are set up with these at start.
    {.path = "upstream", .kind = K::section},
    {.path = "upstream.uri",
     .kind = K::uri,
     .access = member<&C::upstream, &UpstreamConfig::uri>(),
     .read = read_upstream_uri},
    {.path = "upstream.bootstrap_uri",
     .kind = K::uri,
     .access = member<&C::upstream, &UpstreamConfig::bootstrap_uri>(),
     .read = read_bootstrap_uri},
    {.path = "upstream.ack_timeout",
     .kind = K::duration,
     .min = kPositive,
     .access = member<&C::upstream, &UpstreamConfig::ack_timeout>(),
     .check = ack_timeout_at_least_1s},
    {.path = "upstream.max_retransmit",
     .kind = K::whole,
     .min = 0,
     .max = 20,
     .access = member<&C::upstream, &UpstreamConfig::max_retransmit>(),
     .check = max_retransmit_not_0},
    {.path = "upstream.dtls_resume_timeout",
     .kind = K::duration,
     .max = ms(1h),
     .access = member<&C::upstream, &UpstreamConfig::dtls_resume_timeout>()},
    {.path = "upstream.piggyback_window",
     .kind = K::duration,
     .max = ms(1s),
     .access = member<&C::upstream, &UpstreamConfig::piggyback_window>()},
    {.path = "upstream.probe_interval",
     .kind = K::duration,
     .max = ms(1h),
     .access = member<&C::upstream, &UpstreamConfig::probe_interval>()},
    {.path = "upstream.probe_timeout",
     .kind = K::duration,
     .min = ms(100ms),
     .max = ms(1min),
     .access = member<&C::upstream, &UpstreamConfig::probe_timeout>()},
    {.path = "upstream.probe_max_missed",
     .kind = K::whole,
     .min = 1,
     .max = 100,
     .access = member<&C::upstream, &UpstreamConfig::probe_max_missed>()},
    {.path = "upstream.bind", .kind = K::section, .text = bind_text, .default_text = "any"},
    {.path = "upstream.bind.address",
     .kind = K::addresses,
     .read = read_bind_addresses,
     .default_text = "any"},
    {.path = "upstream.bind.ports",
     .kind = K::port_range,
     .read = read_bind_ports,
     .default_text = "none"},
    {.path = "upstream.dtls",
     .kind = K::section,
     .read = read_upstream_dtls,
     .text = gateway_identity_text,
     .default_text = "none",
     .secret = true},
    {.path = "upstream.dtls.psk_identity",
     .kind = K::text,
     .read = read_gateway_psk_identity,
     .shown_with = "upstream.dtls",
     .default_text = "none"},
    {.path = "upstream.dtls.psk_key_hex",
     .kind = K::hex_key,
     .read = read_gateway_psk_key,
     .shown_with = "upstream.dtls",
     .default_text = "none"},
    {.path = "upstream.dtls.certificate",
     .kind = K::file,
     .access = member<&C::upstream, &UpstreamConfig::gateway_certificate>(),
     .shown_with = "upstream.dtls"},
    {.path = "upstream.dtls.private_key",
     .kind = K::file,
     .access = member<&C::upstream, &UpstreamConfig::gateway_private_key>(),
     .shown_with = "upstream.dtls"},
    {.path = "upstream.dtls.ca",
     .kind = K::file,
     .access = member<&C::upstream, &UpstreamConfig::gateway_ca>(),
     .shown_with = "upstream.dtls"},

    // Pushed to the shards; keepalive applies to open connections too.
    {.path = "keepalive", .kind = K::section},
    {.path = "keepalive.idle",
     .kind = K::duration,
     .reload = R::sessions,
     .min = kPositive,
     .access = member<&C::keepalive, &KeepaliveConfig::idle>()},
    {.path = "keepalive.pong_timeout",
     .kind = K::duration,
     .reload = R::sessions,
     .min = kPositive,
     .max = ms(2min),  // the RTT histogram's buckets reach past it (util/rtt_histogram.hpp)
     .access = member<&C::keepalive, &KeepaliveConfig::pong_timeout>()},
    {.path = "keepalive.max_missed",
     .kind = K::whole,
     .reload = R::sessions,
     .min = 1,
     .max = 100,
     .access = member<&C::keepalive, &KeepaliveConfig::max_missed>()},

    // Set on each accepted socket by the control thread.
    {.path = "tcp", .kind = K::section},
    {.path = "tcp.nodelay",
     .kind = K::boolean,
     .reload = R::in_place,
     .access = member<&C::tcp, &TcpConfig::nodelay>()},
    {.path = "tcp.keepalive",
     .kind = K::boolean,
     .reload = R::in_place,
     .access = member<&C::tcp, &TcpConfig::keepalive>()},
    {.path = "tcp.keepalive_idle",
     .kind = K::seconds,
     .reload = R::in_place,
     .min = ms(1s),
     .max = kKernelKeepaliveMax,
     .access = member<&C::tcp, &TcpConfig::keepalive_idle>()},
    {.path = "tcp.keepalive_interval",
     .kind = K::seconds,
     .reload = R::in_place,
     .min = ms(1s),
     .max = kKernelKeepaliveMax,
     .access = member<&C::tcp, &TcpConfig::keepalive_interval>()},
    {.path = "tcp.keepalive_count",
     .kind = K::whole,
     .reload = R::in_place,
     .min = 1,
     .max = 127,
     .access = member<&C::tcp, &TcpConfig::keepalive_count>()},
    {.path = "tcp.user_timeout",
     .kind = K::duration,
     .reload = R::in_place,
     .max = ms(24h),
     .access = member<&C::tcp, &TcpConfig::user_timeout>()},

    {.path = "connections", .kind = K::section},
    {.path = "connections.max",
     .kind = K::whole,
     .reload = R::accept_limits,
     .min = 1,
     .max = kAnyCount,
     .access = member<&C::connections, &ConnectionsConfig::max>()},
    {.path = "connections.max_registrations",
     .kind = K::whole,
     .reload = R::registration_limits,
     .min = 0,
     .max = kAnyCount,
     .access = member<&C::connections, &ConnectionsConfig::max_registrations>()},
    {.path = "connections.accept_rate",
     .kind = K::rate,
     .reload = R::accept_limits,
     .access = member<&C::connections, &ConnectionsConfig::accept_rate, &RateLimit::per_second>(),
     .text = accept_rate_text},
    {.path = "connections.accept_burst",
     .kind = K::whole,
     .reload = R::accept_limits,
     .min = 0,
     .max = 100000000,
     .access = member<&C::connections, &ConnectionsConfig::accept_rate, &RateLimit::burst>(),
     .shown_with = "connections.accept_rate"},
    {.path = "connections.csm_timeout",
     .kind = K::duration,
     .reload = R::sessions,
     .min = kPositive,
     .access = member<&C::connections, &ConnectionsConfig::csm_timeout>()},
    {.path = "connections.csm_mode",
     .kind = K::choice,
     .reload = R::sessions,
     .access = member<&C::connections, &ConnectionsConfig::csm_mode>(),
     .choices = kCsmModes},
    {.path = "connections.unregistered_idle",
     .kind = K::duration,
     .reload = R::sessions,
     .min = kPositive,
     .access = member<&C::connections, &ConnectionsConfig::unregistered_idle>()},
    // 1152 is RFC 8323's base value; BERT needs more. 8388864 = largest BERT size (8 MiB + 128).
    {.path = "connections.max_message_size",
     .kind = K::size,
     .reload = R::sessions,
     .min = 1152,
     .max = 8388864,
     .access = member<&C::connections, &ConnectionsConfig::max_message_size>()},
    {.path = "connections.write_queue_limit",
     .kind = K::size,
     .reload = R::sessions,
     .min = 1152,
     .max = std::uint64_t{1} << 30,
     .access = member<&C::connections, &ConnectionsConfig::write_queue_limit>()},
    {.path = "connections.write_timeout",
     .kind = K::duration,
     .reload = R::sessions,
     .min = kPositive,
     .access = member<&C::connections, &ConnectionsConfig::write_timeout>()},
    {.path = "connections.request_timeout",
     .kind = K::duration,
     .reload = R::relays,
     .min = kPositive,
     .access = member<&C::connections, &ConnectionsConfig::request_timeout>()},
    {.path = "connections.max_tls_handshakes",
     .kind = K::whole,
     .reload = R::sessions,
     .min = 0,
     .max = 1'000'000,
     .access = member<&C::connections, &ConnectionsConfig::max_tls_handshakes>()},
    // Read by the control thread at each TLS accept and at drain.
    {.path = "connections.max_tls_handshakes_per_address",
     .kind = K::whole,
     .reload = R::in_place,
     .min = 0,
     .max = 1'000'000,
     .access = member<&C::connections, &ConnectionsConfig::max_tls_handshakes_per_address>()},

    {.path = "shutdown", .kind = K::section},
    {.path = "shutdown.drain_timeout",
     .kind = K::duration,
     .reload = R::in_place,
     .access = member<&C::shutdown, &ShutdownConfig::drain_timeout>()},
    {.path = "shutdown.hold_off_min",
     .kind = K::duration,
     .reload = R::in_place,
     .access = member<&C::shutdown, &ShutdownConfig::hold_off_min>()},
    {.path = "shutdown.hold_off_max",
     .kind = K::duration,
     .reload = R::in_place,
     .access = member<&C::shutdown, &ShutdownConfig::hold_off_max>()},

    {.path = "queue_mode", .kind = K::section},
    {.path = "queue_mode.max_queued",
     .kind = K::whole,
     .reload = R::relays,
     .min = 0,
     .max = 65536,
     .access = member<&C::queue_mode, &QueueModeConfig::max_queued>()},
    {.path = "queue_mode.max_age",
     .kind = K::duration,
     .reload = R::relays,
     .min = kPositive,
     .access = member<&C::queue_mode, &QueueModeConfig::max_age>()},

    // uplinks_* also bound how many unanswered requests a connection may have.
    {.path = "device_limits", .kind = K::section},
    {.path = "device_limits.uplinks_in_flight",
     .kind = K::whole,
     .reload = R::sessions_and_relays,
     .min = 1,
     .max = 1024,
     .access = member<&C::device_limits, &DeviceLimitsConfig::uplinks_in_flight>()},
    {.path = "device_limits.uplinks_queued",
     .kind = K::whole,
     .reload = R::sessions_and_relays,
     .min = 0,
     .max = 65536,
     .access = member<&C::device_limits, &DeviceLimitsConfig::uplinks_queued>()},
    {.path = "device_limits.notifications_per_second",
     .kind = K::rate,
     .reload = R::relays,
     .access = member<&C::device_limits, &DeviceLimitsConfig::notifications_per_second>()},
    {.path = "device_limits.notification_burst",
     .kind = K::whole,
     .reload = R::relays,
     .min = 1,
     .max = 1'000'000,
     .access = member<&C::device_limits, &DeviceLimitsConfig::notification_burst>()},

    {.path = "registration", .kind = K::section},
    {.path = "registration.max_lifetime",
     .kind = K::seconds,
     .reload = R::relays,
     .min = ms(60s),
     .access = member<&C::registration, &RegistrationConfig::max_lifetime>()},
    {.path = "registration.rate_per_address",
     .kind = K::rate,
     .reload = R::registration_limits,
     .access =
         member<&C::registration, &RegistrationConfig::rate_per_address, &RateLimit::per_second>(),
     .text = registration_rate_text},
    {.path = "registration.burst_per_address",
     .kind = K::whole,
     .reload = R::registration_limits,
     .min = 0,
     .max = 100000000,
     .access = member<&C::registration, &RegistrationConfig::rate_per_address, &RateLimit::burst>(),
     .shown_with = "registration.rate_per_address"},

    {.path = "store", .kind = K::section},
    {.path = "store.uri",
     .kind = K::store_uri,
     .access = member<&C::store, &StoreConfig::uri>(),
     .read = read_store_uri,
     .secret = true},  // redis:// may hold a password
    {.path = "store.ack_after_commit",
     .kind = K::boolean,
     .access = member<&C::store, &StoreConfig::ack_after_commit>()},

    // Read with a Redis store only; the instance's lease is taken once, at start.
    {.path = "cluster", .kind = K::section},
    {.path = "cluster.instance",
     .kind = K::text,
     .access = member<&C::cluster, &ClusterConfig::instance>(),
     .check = instance_is_a_key_part,
     .default_text = "the host name"},
    {.path = "cluster.lease",
     .kind = K::duration,
     .min = ms(1s),
     .max = ms(5min),
     .access = member<&C::cluster, &ClusterConfig::lease>()},

    // The admin server is set up once, on a thread of its own.
    {.path = "admin", .kind = K::section},
    {.path = "admin.listen",
     .kind = K::authority,
     .access = member<&C::admin, &AdminConfig::listen>(),
     .read = read_admin_listen},
    {.path = "admin.token",
     .kind = K::text,
     .access = member<&C::admin, &AdminConfig::token>(),
     .check = token_is_visible_ascii,
     .secret = true},
    // Loaded once, when the admin server starts, as the listeners' certificates are: rotating
    // one (even in place, under the same file name) needs a restart.
    {.path = "admin.tls", .kind = K::section, .read = read_admin_tls, .default_text = "none"},
    {.path = "admin.tls.certificate",
     .kind = K::file,
     .access = member<&C::admin, &AdminConfig::tls_certificate>()},
    {.path = "admin.tls.private_key",
     .kind = K::file,
     .access = member<&C::admin, &AdminConfig::tls_private_key>()},

    {.path = "credentials",
     .kind = K::list,
     .reload = R::credentials,
     .read = read_credentials,
     .default_text = "none"},
    {.path = "credentials[].endpoint",
     .kind = K::text,
     .reload = R::credentials,
     .default_text = "none"},
    {.path = "credentials[].psk_identity",
     .kind = K::text,
     .reload = R::credentials,
     .default_text = "none"},
    {.path = "credentials[].psk_key_hex",
     .kind = K::hex_key,
     .reload = R::credentials,
     .default_text = "none"},
    {.path = "credentials_file",
     .kind = K::file,
     .reload = R::credentials,
     .access = member<&C::credentials_file>(),
     .read = read_credentials_file},

    {.path = "log", .kind = K::section},
    {.path = "log.level",
     .kind = K::choice,
     .reload = R::log_level,
     .access = member<&C::log, &LogConfig::level>(),
     .choices = kLogLevels},
    {.path = "log.format",
     .kind = K::choice,
     .access = member<&C::log, &LogConfig::format>(),
     .choices = kLogFormats},

    {.path = "threads", .kind = K::whole, .min = 1, .max = 256, .access = member<&C::threads>()},
};

}  // namespace

std::span<const KeySpec> key_table() {
    return kKeys;
}

std::string_view leaf_name(std::string_view path) {
    const auto dot = path.rfind('.');
    return dot == std::string_view::npos ? path : path.substr(dot + 1);
}

namespace {

std::string_view parent_of(std::string_view path) {
    const auto dot = path.rfind('.');
    return dot == std::string_view::npos ? std::string_view() : path.substr(0, dot);
}

}  // namespace

const KeySpec* find_key(std::string_view path) {
    for (const auto& key : kKeys) {
        if (key.path == path) return &key;
    }
    return nullptr;
}

const KeySpec* find_child(std::string_view parent, std::string_view name) {
    for (const auto& key : kKeys) {
        if (parent_of(key.path) == parent && leaf_name(key.path) == name) return &key;
    }
    return nullptr;
}

std::string child_names(std::string_view parent) {
    std::string names;
    for (const auto& key : kKeys) {
        if (parent_of(key.path) != parent) continue;
        if (!names.empty()) names += ", ";
        names += leaf_name(key.path);
    }
    return names;
}

std::string spec_path(std::string_view path) {
    std::string out;
    out.reserve(path.size());
    for (std::size_t i = 0; i < path.size(); ++i) {
        out += path[i];
        if (path[i] != '[') continue;
        while (i + 1 < path.size() && path[i + 1] != ']')
            ++i;
    }
    return out;
}

}  // namespace lwgate::config
