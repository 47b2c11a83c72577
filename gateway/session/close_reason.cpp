#include "session/close_reason.hpp"

namespace lwgate::session {

std::string_view to_string(CloseReason reason) {
    switch (reason) {
        case CloseReason::peer_closed:
            return "peer_closed";
        case CloseReason::reset:
            return "reset";
        case CloseReason::abort_sent:
            return "abort_sent";
        case CloseReason::abort_received:
            return "abort_received";
        case CloseReason::release_received:
            return "release_received";
        case CloseReason::half_open:
            return "half_open";
        case CloseReason::csm_timeout:
            return "csm_timeout";
        case CloseReason::unregistered_idle:
            return "unregistered_idle";
        case CloseReason::limit_connections:
            return "limit_connections";
        case CloseReason::limit_rate:
            return "limit_rate";
        case CloseReason::tls_failure:
            return "tls_failure";
        case CloseReason::handshake_timeout:
            return "handshake_timeout";
        case CloseReason::bad_frame:
            return "bad_frame";
        case CloseReason::write_stalled:
            return "write_stalled";
        case CloseReason::shutdown:
            return "shutdown";
        case CloseReason::admin:
            return "admin";
        case CloseReason::registration_expired:
            return "registration_expired";
        case CloseReason::proxy_header:
            return "proxy_header";
        case CloseReason::moved:
            return "moved";
        case CloseReason::credentials_revoked:
            return "credentials_revoked";
        case CloseReason::count_:
            break;
    }
    return "unknown";
}

}  // namespace lwgate::session
