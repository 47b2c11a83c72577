// What a DownstreamSession needs from the shard that runs it. The shard is single-threaded, so
// everything here is called on the shard's own thread only.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include <asio/io_context.hpp>

#include "log/security_log.hpp"
#include "lwgate/coap/message.hpp"
#include "session/address_counts.hpp"
#include "session/close_reason.hpp"
#include "session/downstream_protocol.hpp"
#include "session/session_snapshot.hpp"
#include "session/tls_refusal.hpp"
#include "util/clock.hpp"
#include "util/counter.hpp"
#include "util/rtt_histogram.hpp"
#include "util/time_source.hpp"

namespace lwgate::session {

// Per-shard counters; the shard's thread is the only writer.
struct ShardMetrics {
    Gauge connections_tcp;
    Gauge connections_tls;
    Counter sessions_started;
    std::array<Counter, close_reason_count> closes{};
    Counter tls_handshakes;
    Counter tls_failures;
    std::array<Counter, tls_refusal_count> tls_refused{};  // failed handshakes, by why
    Counter pings_sent;
    Counter pongs_received;
    Counter pings_received;
    Counter missed_pongs;
    Counter bytes_in;
    Counter bytes_out;
    Counter messages_in;
    Counter messages_out;
    Counter error_responses;
    Counter too_large_for_peer;    // messages for a device over its Max-Message-Size, not sent
    Counter keepalive_bytes_in;    // Ping/Pong frames from devices, as encoded
    Counter keepalive_bytes_out;   // ... to devices
    Counter keepalive_wire_bytes;  // both, estimated with TCP/IP (and TLS) overhead: wire_cost.hpp
    // Round trips of our Pings (lwgate_rtt_seconds): cumulative buckets, upper bounds in
    // rtt_buckets_us.
    static constexpr auto rtt_buckets_us = rtt_bucket_bounds_us;
    std::array<Counter, rtt_buckets_us.size()> rtt_bucket{};
    Counter rtt_count;
    Counter rtt_sum_us;
    void observe_rtt(Rtt rtt) {
        const auto us = static_cast<std::uint64_t>(std::max<Rtt::rep>(0, rtt.count()));
        for (std::size_t i = 0; i < rtt_buckets_us.size(); ++i)
            if (us <= rtt_buckets_us[i]) rtt_bucket[i].add();
        rtt_count.add();
        rtt_sum_us.add(us);
    }
};

struct SessionSettings {
    ProtocolParams protocol;
    std::size_t write_queue_limit = 256 * 1024;
    Duration write_timeout{30'000};
    Duration linger{2'000};           // how long an after-flush close may wait for the last write
    unsigned max_tls_handshakes = 0;  // per shard, 0 = no limit (connections.max_tls_handshakes)
};

class SessionBase;

// Proxy listeners: called with the device's address from the PROXY header (IPv4 as IPv4-mapped
// IPv6), on the session's shard. A ticket admits the connection (TLS: counted as a pending
// handshake of that address until the handshake ends); nullopt refuses it.
using ProxyAdmit =
    std::function<std::optional<PendingHandshakes::Ticket>(const AddressCounts::Address&)>;

// Implemented by the shard.
class SessionHost {
  public:
    virtual ~SessionHost() = default;
    virtual asio::io_context& io() = 0;
    virtual ShardMetrics& metrics() = 0;
    virtual const SessionSettings& settings() const = 0;
    // The shard's time: sessions never read a clock of their own.
    virtual const TimeSource& time() const = 0;
    // A read buffer shared by all plain-TCP sessions of the shard: sessions read into it and
    // decode at once, so an idle connection holds no read buffer of its own.
    virtual std::span<std::uint8_t> read_buffer() = 0;
    // A request or response from the device, for the bridge.
    virtual void on_device_message(SessionBase& session, coap::Message&& message) = 0;
    virtual void on_session_closed(SessionBase& session, CloseReason reason) = 0;
    // TLS handshakes in progress are capped per shard (SessionSettings::max_tls_handshakes). A
    // session asks before its handshake: `begin` runs now or once a slot frees up; it returns
    // false when the session closed meanwhile, and the slot goes to the next one. A session
    // that began gives its slot back with release_handshake_slot() exactly once.
    virtual void acquire_handshake_slot(std::function<bool()> begin) = 0;
    virtual void release_handshake_slot() = 0;
    // The shard's security log: refused identities, and the lines a flood of refused
    // connections repeats, within a budget.
    virtual logging::SecurityLog& security_log() = 0;
    // The endpoint a connection of this shard speaks for (registered), for its close line.
    virtual std::optional<std::string> endpoint_of(std::uint64_t conn) const = 0;
};

class SessionBase {
  public:
    virtual ~SessionBase() = default;
    virtual void start() = 0;
    // Graceful drain: 7.04 Release with Hold-Off, then wait for the device to close.
    virtual void drain(std::optional<std::uint32_t> hold_off_seconds) = 0;
    virtual void close(CloseReason reason, std::string detail) = 0;
    virtual void send(const coap::Message& message) = 0;
    // The bridge attaches a registration (stops the unregistered-idle limit) or detaches it.
    virtual void set_registered(bool registered) = 0;
    // SIGHUP: new keepalive settings for this open connection (its timers follow at once).
    virtual void apply_keepalive(const KeepaliveParams& params) = 0;
    virtual const ConnectionInfo& info() const = 0;

    // Admin API (called on the session's shard).
    virtual SessionSnapshot snapshot() const = 0;
    // A Ping now; `done` runs once on this shard with the RTT, a timeout or the close.
    virtual void admin_ping(Duration timeout, std::function<void(AdminPingResult)> done) = 0;
    // 7.04 Release with the optional Alternative-Address and Hold-Off, then close (reason admin).
    virtual void admin_release(std::optional<std::string> alternative_address,
                               std::optional<std::uint32_t> hold_off_seconds) = 0;
    // Why the connection ended (set before SessionHost::on_session_closed).
    virtual const std::string& close_detail() const = 0;
};
using SessionPtr = std::shared_ptr<SessionBase>;

}  // namespace lwgate::session
