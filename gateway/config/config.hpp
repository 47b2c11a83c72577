// The whole configuration as one struct tree. Defaults here are the embedded defaults: an empty
// YAML file yields a gateway on loopback. Loading and validation live in config_loader.hpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lwgate/config/duration.hpp"

namespace lwgate::config {

using namespace std::chrono_literals;

enum class Scheme { coap_tcp, coaps_tcp, coap, coaps };

struct Endpoint {
    Scheme scheme = Scheme::coap_tcp;
    std::string host;  // literal address or name; IPv6 without brackets
    std::uint16_t port = 0;
    std::string text;  // as written, for logs
};

// File names are resolved against the config file's directory when loaded; the loader checks that
// they exist and are readable (their contents are checked when the TLS context is built).
struct TlsConfig {
    std::string certificate;  // PEM file (server certificate chain)
    std::string private_key;  // PEM file
    std::string ca;           // PEM file: client certificates are verified against it when set
    // With ca: a client without a certificate (or PSK) fails the handshake.
    bool require_client_certificate = false;
    bool psk = false;  // accept TLS-PSK with identities from `credentials`
    std::string psk_identity_hint;
    Duration handshake_timeout = 10s;
};

struct ListenerConfig {
    Endpoint endpoint;
    std::optional<TlsConfig> tls;          // required for coaps+tcp, forbidden for coap+tcp
    bool allow_plain_registration = true;  // plain TCP carries no identity; bridge decides
    bool reuse_port = false;               // SO_REUSEPORT: several lwgate processes share the port
    bool proxy_protocol = false;           // every connection starts with a PROXY v1/v2 header
    int line = 0;                          // 1-based line in the config file (0: built in)
};

struct UpstreamConfig {
    std::string uri = "coap://127.0.0.1:5683";  // coap:// or coaps:// (DTLS)
    std::string bootstrap_uri;                  // empty: none
    // `uri` and `bootstrap_uri` parsed by the loader.
    Endpoint endpoint{Scheme::coap, "127.0.0.1", 5683, "coap://127.0.0.1:5683"};
    std::optional<Endpoint> bootstrap;
    // upstream.dtls: the gateway's own DTLS identity toward the core (coaps://), used for every
    // device that has no entry in the credentials table: a PSK, or a certificate (PEM files).
    std::string gateway_psk_identity;
    std::vector<std::uint8_t> gateway_psk_key;
    std::string gateway_certificate;
    std::string gateway_private_key;
    std::string gateway_ca;  // verify the core's certificate against this CA (PEM) when set
    // CoAP reliability toward the core (RFC 7252 §4.8): first retransmission after ack_timeout
    // (randomised by 1.5), doubling, max_retransmit times. With the defaults an unanswered
    // uplink fails after about 45-93 s; lower them to answer devices sooner when the core is down.
    Duration ack_timeout = 2s;
    unsigned max_retransmit = 4;
    // After a restart, how long a device's DTLS session may take to resume from its stored port
    // before lwgate gives that port up, opens a session on a new one and sends an Update on the
    // device's behalf (some cores ignore a new ClientHello from an address they hold a session
    // for; see docs/bridge.md "What survives a restart"). 0: never give up the stored port.
    Duration dtls_resume_timeout = 5s;
    // How long lwgate keeps a confirmable request of the core unacknowledged while the device
    // answers it: an answer within the window goes back piggybacked on the ACK (2 datagrams per
    // request at the core instead of 4: empty ACK, separate CON response and its ACK); after it
    // an empty ACK goes out and the answer follows as a separate response (RFC 7252 §5.2). At
    // most 1s, below the core's ACK_TIMEOUT (2 s by default), so the core does not retransmit.
    // 0: acknowledge every request at once.
    Duration piggyback_window = std::chrono::milliseconds(500);
    // Local side of the per-device UDP sockets toward the core. No address: any. Several
    // addresses: each one adds the port range (a device takes one address:port). Ports 0-0:
    // the kernel picks (stable for a registration's life; a restart binds the stored one again).
    std::vector<std::string> bind_addresses;
    std::uint16_t bind_port_first = 0;
    std::uint16_t bind_port_last = 0;
    // The active check of the core: a CoAP Ping (an empty CON) every probe_interval (0: off),
    // missed when no answer (Reset or empty ACK) comes within probe_timeout; probe_max_missed
    // missed in a row make health `failing`. With the defaults a core that stops answering is
    // failing within about a minute (3 x 30 s), whether or not devices send anything.
    Duration probe_interval = 30s;
    Duration probe_timeout = 5s;
    unsigned probe_max_missed = 3;
};

struct KeepaliveConfig {
    Duration idle = 60s;
    Duration pong_timeout = 10s;
    unsigned max_missed = 1;
};

struct TcpConfig {
    bool nodelay = true;
    bool keepalive = true;              // SO_KEEPALIVE
    Duration keepalive_idle = 120s;     // TCP_KEEPIDLE
    Duration keepalive_interval = 30s;  // TCP_KEEPINTVL
    unsigned keepalive_count = 4;       // TCP_KEEPCNT
    Duration user_timeout = 60s;        // TCP_USER_TIMEOUT (0 = kernel default)
};

struct RateLimit {
    double per_second = 2000;
    unsigned burst = 0;  // 0: one second's worth
};

enum class CsmMode { strict, lenient };

struct ConnectionsConfig {
    std::uint64_t max = 100000;
    // Live registrations at most (each holds a UDP socket toward the core); beyond, a new
    // Register gets 5.03. 0: derived from the descriptor limit at start (RLIMIT_NOFILE).
    std::uint64_t max_registrations = 0;
    RateLimit accept_rate;
    Duration csm_timeout = 5s;
    CsmMode csm_mode = CsmMode::strict;
    Duration unregistered_idle = 30s;
    std::uint32_t max_message_size = 16384;      // advertised in our CSM
    std::size_t write_queue_limit = 256 * 1024;  // bytes queued per connection before closing it
    Duration write_timeout = 30s;    // one write may not take longer (peer stopped reading)
    Duration request_timeout = 30s;  // a request relayed to a device unanswered -> 5.04
    // TLS handshakes in progress per shard; more wait (their handshake_timeout running) until
    // one finishes. Bounds the CPU and memory of a reconnect storm. 0 = no limit.
    unsigned max_tls_handshakes = 256;
    // TLS handshakes pending (waiting for a slot or running) from one source IP address, over
    // all shards; beyond, a new TLS connection from it is closed at once, so that one address
    // cannot keep the slots busy with stalled ClientHellos. 0 = no limit.
    unsigned max_tls_handshakes_per_address = 32;
};

struct ShutdownConfig {
    Duration drain_timeout = 10s;
    Duration hold_off_min = 10s;  // Release Hold-Off is drawn uniformly from [min, max]
    Duration hold_off_max = 120s;
};

struct QueueModeConfig {
    unsigned max_queued = 16;
    Duration max_age = 300s;
};

// What one device may have lwgate do, so that no device takes more than its share of a shard.
struct DeviceLimitsConfig {
    unsigned uplinks_in_flight = 8;        // its requests at the core at once
    unsigned uplinks_queued = 32;          // waiting behind those; beyond: 5.03 with Max-Age
    double notifications_per_second = 20;  // toward the core; beyond: coalesced per observation
    unsigned notification_burst = 40;
};

struct RegistrationConfig {
    // Lifetimes above this are lowered to it toward the core (and in lwgate): a device that
    // asks for "forever" re-registers after it. LwM2M devices do.
    Duration max_lifetime = 24h;
    // New registrations per second from one source address (per thread); beyond: 5.03.
    RateLimit rate_per_address{100, 1000};
};

struct StoreConfig {
    // "memory:" or "sqlite:///absolute/path.db". The loader also takes a bare "memory" (YAML needs
    // quotes around a value ending in ':') and stores it as "memory:".
    std::string uri = "memory:";
    // Acknowledge a request of the core that lwgate holds for a device only once the store has
    // committed it (else right away, and a crash within the commit latency loses it). Costs the
    // core the commit latency (one fsync) before its ACK.
    bool ack_after_commit = false;
};

// Only with a Redis store: the lwgate instances on one Redis share its devices, and a device's
// state moves to whichever instance it connects to.
struct ClusterConfig {
    // Becomes part of Redis key names and a channel name, so it must be unique among the
    // instances on one store. Left empty by Config{} because its default, the host name, is only
    // known at load time (cross_checks.cpp).
    std::string instance;
    // Renewed every third of it, so a renewal or two may fail before ownership is lost; another
    // instance takes a dead one's devices over this long after it stopped renewing.
    Duration lease = 10s;
};

struct AdminConfig {
    std::string listen = "127.0.0.1:8484";  // host:port, [v6]:port; port 0 = any free port
    std::string token;                      // required when `listen` is not a loopback address
    std::string host = "127.0.0.1";         // parsed `listen` (IPv6 without brackets)
    std::uint16_t port = 8484;
    bool enabled = true;  // `listen: off` (or empty) disables the admin API
    // admin.tls: PEM files, both or neither (resolved and checked readable like every file; their
    // contents are checked when the admin server starts). With them the API speaks HTTPS only.
    std::string tls_certificate;
    std::string tls_private_key;
    bool tls() const { return !tls_certificate.empty(); }
};

struct Credential {
    std::string endpoint;
    std::string psk_identity;
    std::vector<std::uint8_t> psk_key;  // 1..64 bytes (psk_key_hex in the config)
    int line = 0;                       // 1-based line in the config or credentials_file
};

enum class LogLevel { trace, debug, info, warn, error, critical, off };
// text: the lines lwgate always wrote; json: one JSON object per line (gateway/log).
enum class LogFormat { text, json };

struct LogConfig {
    LogLevel level = LogLevel::info;
    LogFormat format = LogFormat::text;  // chosen at start: a restart changes it
};

struct Config {
    // load_config_* puts the default listener (coap+tcp://127.0.0.1:5683, see default_listener())
    // here when the file gives none, so a loaded Config always has at least one listener.
    std::vector<ListenerConfig> listeners;
    UpstreamConfig upstream;
    KeepaliveConfig keepalive;
    TcpConfig tcp;
    ConnectionsConfig connections;
    ShutdownConfig shutdown;
    QueueModeConfig queue_mode;
    DeviceLimitsConfig device_limits;
    RegistrationConfig registration;
    StoreConfig store;
    ClusterConfig cluster;
    AdminConfig admin;
    std::vector<Credential> credentials;  // inline or read from credentials_file
    std::string credentials_file;  // resolved path when the table came from a file, else empty
    LogConfig log;
    unsigned threads = 2;
};

// The listener used when the configuration names none: coap+tcp://127.0.0.1:5683, no TLS.
ListenerConfig default_listener();

const char* to_string(Scheme s);     // "coap+tcp", "coaps+tcp", "coap", "coaps"
const char* to_string(LogLevel l);   // "trace" ... "off", as written in the config
const char* to_string(CsmMode m);    // "strict", "lenient"
const char* to_string(LogFormat f);  // "text", "json"

}  // namespace lwgate::config
