// Why a device connection ended. Every close records exactly one reason; logs, counters and the
// admin API use the same names.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

namespace lwgate::session {

enum class CloseReason : std::size_t {
    peer_closed,           // orderly TCP FIN from the device
    reset,                 // connection reset / broken pipe / other socket error
    abort_sent,            // we sent 7.05 Abort for a protocol violation (e.g. bad CSM option)
    abort_received,        // the device sent 7.05 Abort
    release_received,      // the device sent 7.04 Release and we closed after flushing
    half_open,             // keepalive: max_missed Pings without an answer
    csm_timeout,           // strict mode: no CSM within connections.csm_timeout
    unregistered_idle,     // no registration within connections.unregistered_idle
    limit_connections,     // refused: connections.max reached
    limit_rate,            // refused: accept_rate exceeded
    tls_failure,           // TLS handshake failed
    handshake_timeout,     // TLS handshake did not finish in time
    bad_frame,             // unrecoverable framing error (we sent 7.05 Abort)
    write_stalled,         // the device stopped reading: queue limit or write timeout
    shutdown,              // gateway drain (we sent 7.04 Release)
    admin,                 // closed on operator request
    registration_expired,  // the device's LwM2M registration lifetime ran out
    proxy_header,          // proxy_protocol listener: no valid PROXY header in time
    moved,                 // the endpoint moved to another lwgate instance (its device is there)
    credentials_revoked,   // the PSK identity it authenticated with was removed or retired
    count_
};

inline constexpr std::size_t close_reason_count = static_cast<std::size_t>(CloseReason::count_);

std::string_view to_string(CloseReason reason);

}  // namespace lwgate::session
