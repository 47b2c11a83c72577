// What the admin API sees of one device connection: a copy taken on the connection's shard, so
// the HTTP thread never touches a live session. Plain data, no Asio.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "session/admin_pings.hpp"
#include "session/close_reason.hpp"
#include "session/keepalive_fsm.hpp"
#include "session/wire_cost.hpp"
#include "util/clock.hpp"

namespace lwgate::session {

enum class Transport { tcp, tls };
inline const char* to_string(Transport t) {
    return t == Transport::tcp ? "tcp" : "tls";
}

// Who the device is, as far as the connection tells.
struct ConnectionInfo {
    std::uint64_t id = 0;
    std::string remote;  // "127.0.0.1:40000"
    std::string local;
    Transport transport = Transport::tcp;
    TimePoint connected_since{};
    std::string psk_identity;                         // TLS-PSK identity, if any
    std::string peer_certificate;                     // client certificate subject CN, if any
    std::vector<std::string> peer_certificate_names;  // its DNS and URI subjectAltNames
    bool allow_plain_registration = true;   // the listener's setting (plain TCP has no identity)
    std::uint32_t tls_record_overhead = 0;  // bytes TLS adds to a record, once negotiated
};

struct KeepaliveSnapshot {
    Duration idle{};
    Duration pong_timeout{};
    unsigned max_missed = 0;
    bool awaiting_pong = false;  // a Ping is out and nothing was received since
    unsigned missed = 0;         // missed Pongs in a row
    std::uint64_t pings_sent = 0;
    std::uint64_t pongs_received = 0;
    std::uint64_t missed_total = 0;
    std::vector<Rtt> recent_rtts;           // oldest first
    KeepaliveTraffic traffic;               // Ping/Pong frames both ways
    std::uint32_t tls_record_overhead = 0;  // what TLS adds to each of them (0 on plain TCP)
};

struct SessionSnapshot {
    ConnectionInfo info;
    TimePoint last_rx{};
    TimePoint last_tx{};
    bool handshaking = false;  // TLS handshake still running
    bool registered = false;   // the bridge bound an LwM2M registration to this connection
    bool closing = false;      // Release/Abort sent (or a close decided), waiting for the close
    KeepaliveSnapshot keepalive;
    std::uint64_t bytes_in = 0;
    std::uint64_t bytes_out = 0;
    std::uint64_t messages_in = 0;
    std::uint64_t messages_out = 0;
};

}  // namespace lwgate::session
