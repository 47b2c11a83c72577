// The UDP side of lwgate-bench wirecost: what one NAT refresh costs a device that speaks CoAP
// over UDP or DTLS to its LwM2M server, captured on loopback. A refresh is a Registration Update
// (POST to the registration's location, answered by the server): plain, after a full DTLS-PSK
// handshake, or after a resumed DTLS session.
#pragma once

#include <filesystem>
#include <string>

namespace lwgate::bench {

struct RefreshCosts {
    double udp = 0;              // IP bytes of one Update and its answer
    double dtls_full = 0;        // ... after a full DTLS-PSK handshake (with the cookie exchange)
    double dtls_resumption = 0;  // an abbreviated handshake, plus the Update in DTLS records
    bool resumed = false;        // openssl s_client said "Reused"
};

// Each refresh runs `refreshes` times; the mean is reported. Throws std::runtime_error when a
// peer cannot be started or a refresh fails.
RefreshCosts measure_udp_refreshes(const std::filesystem::path& dir, int refreshes);

}  // namespace lwgate::bench
