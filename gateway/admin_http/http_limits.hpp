// The admin API's HTTP limits. Anyone who can reach admin.listen can connect and send bytes
// before the bearer token is checked, so nothing a client sends may cost lwgate memory, a
// worker thread or descriptors beyond these bounds (docs/operations.md, Admin API).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace lwgate::admin::http_limits {

// Connections open at once; one more is closed as soon as it is accepted. Well inside the
// descriptors lwgate keeps for itself (app::DescriptorBudget::reserve, 256), so admin clients
// never take a descriptor a device needs.
inline constexpr std::size_t max_connections = 64;

// Request line and header fields together: 431 and close beyond, before more is buffered.
inline constexpr std::uint32_t max_header_bytes = 8 * 1024;

// A body as received (each chunk of a chunked body counts when its size line arrives, before
// its data): 413 and close beyond. The largest real body, a release with a 255-byte URI, is
// far below.
inline constexpr std::uint64_t max_body_bytes = 64 * 1024;

// A whole request, headers and body, must arrive within this, counted from the accept (with
// admin.tls, the TLS handshake included) or from the first byte after the previous answer; a
// client that trickles bytes, or never finishes its handshake, is closed.
inline constexpr std::chrono::seconds request_timeout{5};

// A kept-alive connection without a new request is closed after this.
inline constexpr std::chrono::seconds idle_timeout{1};

// An answer the client does not read within this closes the connection.
inline constexpr std::chrono::seconds write_timeout{5};

// When lwgate stops, answers already being prepared (a drain's 202 above all) get this long to
// reach their clients before the admin server goes.
inline constexpr std::chrono::milliseconds shutdown_grace{1000};

// Threads that run requests against the shards (a collection waits up to 2 s for a busy
// shard): health and metrics have their own, so operators' requests never delay them.
inline constexpr int probe_threads = 2;
inline constexpr int operator_threads = 2;

}  // namespace lwgate::admin::http_limits
