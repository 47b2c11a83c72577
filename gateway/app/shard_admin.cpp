// The admin API's side of a shard (declared in shard.hpp's admin block). Everything here runs on
// the shard's own thread: the HTTP thread posts these and waits for the copies.
#include "app/shard.hpp"

#include "connection/downstream_session.hpp"

namespace lwgate::app {

using session::CloseReason;

admin::ShardSample Shard::admin_sample(const admin::CollectScope& scope) const {
    admin::ShardSample out;
    out.index = index_;
    out.connection_count = sessions_.size();
    const TimePoint now = time_.now();
    if (scope.connections) {
        out.connections.reserve(sessions_.size());
        for (const auto& [id, s] : sessions_) {
            admin::ConnectionSample c;
            c.session = s->snapshot();
            c.shard = index_;
            c.endpoint = bridge_->admin_endpoint_of(id);
            out.connections.push_back(std::move(c));
        }
        out.recent_closes = close_history_.recent_counts(now, admin::flapping_window);
    }
    if (scope.devices) out.devices = bridge_->admin_devices(scope.endpoint);
    if (scope.closes && scope.endpoint) {
        if (const auto* records = close_history_.find(*scope.endpoint))
            out.closes[*scope.endpoint].assign(records->begin(), records->end());
    }
    add_session_counters(out.counters);
    add_bridge_counters(out.counters);
    out.counters.half_open_last_minute =
        close_history_.half_open_since(now - std::chrono::minutes(1));
    return out;
}

void Shard::add_session_counters(admin::ShardCounters& c) const {
    const auto& m = metrics_;
    c.sessions_started = m.sessions_started.get();
    for (std::size_t r = 0; r < session::close_reason_count; ++r)
        c.closes[r] = m.closes[r].get();
    c.tls_handshakes = m.tls_handshakes.get();
    c.tls_failures = m.tls_failures.get();
    c.pings_sent = m.pings_sent.get();
    c.pongs_received = m.pongs_received.get();
    c.missed_pongs = m.missed_pongs.get();
    c.bytes_in = m.bytes_in.get();
    c.bytes_out = m.bytes_out.get();
    c.messages_in = m.messages_in.get();
    c.messages_out = m.messages_out.get();
    c.too_large_for_device = m.too_large_for_peer.get();
    for (std::size_t i = 0; i < m.rtt_buckets_us.size(); ++i) {
        c.rtt_buckets.emplace_back(static_cast<double>(m.rtt_buckets_us[i]) / 1e6,
                                   m.rtt_bucket[i].get());
    }
    c.rtt_count = m.rtt_count.get();
    c.rtt_sum_seconds = static_cast<double>(m.rtt_sum_us.get()) / 1e6;
}

void Shard::add_bridge_counters(admin::ShardCounters& c) const {
    const auto& stats = bridge_->admin_stats;
    c.relayed = stats.relayed();
    c.queue_overflow = stats.queue_overflow();
    c.queue_expired = stats.queue_expired();
    c.upstream_sessions = stats.upstream_sessions();
    c.last_core_response = stats.last_core_response();
    c.last_core_failure = stats.last_core_failure();
    const auto& link = bridge_->core_link().stats();
    c.upstream_failures = link.failures;
    c.upstream_responses = link.responses_received;
    c.duplicates_held = link.duplicates_held;
    c.duplicates_answered = link.duplicates_answered;
    c.answers_piggybacked = link.piggybacked;
    c.answers_separate = link.separate;
    c.registered_devices = bridge_->metrics().registered_devices.get();
    for (std::size_t r = 0; r < c.refused.size(); ++r)
        c.refused[r] = bridge_->metrics().refused[r].get();
    c.device_limits = bridge_->relay_counters();
}

bool Shard::admin_ping(std::uint64_t id, Duration timeout,
                       std::function<void(session::AdminPingResult)> done) {
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return false;
    // Keep the session alive for the call: a Ping on a dead socket may close it at once.
    auto keep = it->second;
    keep->admin_ping(timeout, std::move(done));
    return true;
}

bool Shard::admin_release(std::uint64_t id, std::optional<std::string> alternative_address,
                          std::optional<std::uint32_t> hold_off_seconds) {
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return false;
    auto keep = it->second;
    keep->admin_release(std::move(alternative_address), hold_off_seconds);
    return true;
}

bool Shard::admin_close(std::uint64_t id) {
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return false;
    auto keep = it->second;
    keep->close(CloseReason::admin, "closed by operator");
    return true;
}

void Shard::admin_record_close(session::SessionBase& session, CloseReason reason) {
    const TimePoint now = time_.now();
    if (reason == CloseReason::half_open) close_history_.record_half_open(now);
    const auto id = session.info().id;
    const auto endpoint = bridge_->admin_endpoint_of(id);
    if (!endpoint) return;
    close_history_.record(
        *endpoint,
        admin::CloseRecord{time_.wall_now(), now, reason, session.close_detail(),
                           admin::close_expected(reason, bridge_->admin_close_expected(id))});
}

}  // namespace lwgate::app
