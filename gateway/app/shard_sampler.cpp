#include "app/shard_sampler.hpp"

namespace lwgate::app {
namespace {

void add_session_counters(const session::ShardMetrics& m, admin::ShardCounters& c) {
    c.sessions_started = m.sessions_started.get();
    for (std::size_t r = 0; r < session::close_reason_count; ++r)
        c.closes[r] = m.closes[r].get();
    c.tls_handshakes = m.tls_handshakes.get();
    c.tls_failures = m.tls_failures.get();
    for (std::size_t r = 0; r < session::tls_refusal_count; ++r)
        c.tls_refused[r] = m.tls_refused[r].get();
    c.pings_sent = m.pings_sent.get();
    c.pongs_received = m.pongs_received.get();
    c.missed_pongs = m.missed_pongs.get();
    c.bytes_in = m.bytes_in.get();
    c.bytes_out = m.bytes_out.get();
    c.messages_in = m.messages_in.get();
    c.messages_out = m.messages_out.get();
    c.too_large_for_device = m.too_large_for_peer.get();
    c.keepalive_bytes_in = m.keepalive_bytes_in.get();
    c.keepalive_bytes_out = m.keepalive_bytes_out.get();
    c.keepalive_wire_bytes = m.keepalive_wire_bytes.get();
    for (std::size_t i = 0; i < m.rtt_buckets_us.size(); ++i) {
        c.rtt_buckets.emplace_back(static_cast<double>(m.rtt_buckets_us[i]) / 1e6,
                                   m.rtt_bucket[i].get());
    }
    c.rtt_count = m.rtt_count.get();
    c.rtt_sum_seconds = static_cast<double>(m.rtt_sum_us.get()) / 1e6;
}

void add_bridge_counters(const lwm2m::Bridge& bridge, admin::ShardCounters& c) {
    const auto& stats = bridge.admin_stats;
    c.relayed = stats.relayed();
    c.queue_overflow = stats.queue_overflow();
    c.queue_expired = stats.queue_expired();
    c.upstream_sessions = stats.upstream_sessions();
    c.last_core_response = stats.last_core_response();
    c.last_core_failure = stats.last_core_failure();
    const auto& link = bridge.core_link().stats();
    c.upstream_failures = link.failures;
    c.upstream_responses = link.responses_received;
    c.duplicates_held = link.duplicates_held;
    c.duplicates_answered = link.duplicates_answered;
    c.answers_piggybacked = link.piggybacked;
    c.answers_separate = link.separate;
    c.registered_devices = bridge.metrics().registered_devices.get();
    for (std::size_t r = 0; r < c.refused.size(); ++r)
        c.refused[r] = bridge.metrics().refused[r].get();
    c.device_limits = bridge.relay_counters();
}

admin::ProbeState probe_state(upstream::CoreProbeState state) {
    switch (state) {
        case upstream::CoreProbeState::ok:
            return admin::ProbeState::ok;
        case upstream::CoreProbeState::failing:
            return admin::ProbeState::failing;
        case upstream::CoreProbeState::unknown:
            break;
    }
    return admin::ProbeState::unknown;
}

admin::CoreProbeSample probe_sample(const upstream::CoreProber& prober) {
    const auto& p = prober.probe();
    admin::CoreProbeSample out;
    out.interval = p.params().interval;
    out.timeout = p.params().timeout;
    out.max_missed = p.params().max_missed;
    out.state = probe_state(p.state());
    out.missed_in_a_row = p.missed_in_a_row();
    out.sent = p.sent_total();
    out.answered = p.answered_total();
    out.missed = p.missed_total();
    out.last_answer = p.last_answer();
    if (const auto rtt = p.last_rtt())
        out.last_rtt_seconds = static_cast<double>(rtt->count()) / 1e6;
    out.last_error = p.last_error();
    const auto& h = prober.rtt();
    for (std::size_t i = 0; i < rtt_bucket_bounds_us.size(); ++i)
        out.rtt_buckets.emplace_back(static_cast<double>(rtt_bucket_bounds_us[i]) / 1e6,
                                     h.cumulative[i]);
    out.rtt_count = h.count;
    out.rtt_sum_seconds = static_cast<double>(h.sum_us) / 1e6;
    return out;
}

// Cluster mode: the bridge's ownership counters and its Redis connection; the owner's epoch of
// the endpoint asked about, on the shard that owns it.
void add_cluster(const Shard& shard, const admin::CollectScope& scope, admin::ShardSample& out) {
    const auto& bridge = shard.bridge();
    if (!bridge.clustered()) return;
    const auto c = bridge.cluster_counters();
    out.cluster = admin::ClusterShardSample{
        c.owned,          c.moving,  c.moves_in,       c.moves_out,    c.lost,
        c.waited,         c.refused, c.redis_commands, c.redis_errors, c.redis_latency_us_total,
        c.redis_connected};
    if (scope.endpoint && bridge.router().owner_of(*scope.endpoint) == shard.index())
        out.owner_epoch = bridge.owner_epoch(*scope.endpoint);
}

admin::DeviceSample device_sample(const lwm2m::DeviceRelay& relay, unsigned shard,
                                  std::uint16_t upstream_port) {
    admin::DeviceSample d;
    d.endpoint = relay.endpoint();
    d.shard = shard;
    d.registered = relay.registered();
    for (const auto& segment : relay.location())
        d.location += "/" + segment;
    d.lifetime = relay.lifetime();
    d.registration_deadline = relay.registration_deadline();
    d.binding = relay.binding();
    d.version = relay.version();
    d.queue_mode = relay.queue_mode();
    d.queued = relay.queued();
    d.in_flight = relay.in_flight();
    d.connection = relay.connection();
    d.upstream_local_port = upstream_port;
    d.observations = relay.observations();
    return d;
}

void add_connections(const Shard& shard, admin::ShardSample& out) {
    out.connections.reserve(shard.session_count());
    const auto& router = shard.bridge().router();
    shard.for_each_session([&](std::uint64_t id, const session::SessionBase& s) {
        admin::ConnectionSample c;
        c.session = s.snapshot();
        c.shard = shard.index();
        c.endpoint = router.registered_endpoint(id);
        out.connections.push_back(std::move(c));
    });
}

}  // namespace

admin::ShardSample sample_shard(const Shard& shard, const CloseRecorder& closes,
                                const admin::CollectScope& scope) {
    admin::ShardSample out;
    out.index = shard.index();
    out.connection_count = shard.session_count();
    const TimePoint now = shard.time().now();
    const auto& history = closes.history();
    if (scope.connections) {
        add_connections(shard, out);
        out.recent_closes = history.recent_counts(now, admin::flapping_window);
    }
    if (scope.devices) {
        shard.bridge().for_each_registration(
            [&](const lwm2m::DeviceRelay& relay, std::uint16_t upstream_port) {
                if (!scope.endpoint || relay.endpoint() == *scope.endpoint)
                    out.devices.push_back(device_sample(relay, shard.index(), upstream_port));
            });
    }
    if (scope.closes && scope.endpoint) {
        if (const auto* records = history.find(*scope.endpoint))
            out.closes[*scope.endpoint].assign(records->begin(), records->end());
    }
    add_session_counters(shard.metrics(), out.counters);
    add_bridge_counters(shard.bridge(), out.counters);
    if (const auto* prober = shard.core_prober()) out.counters.core_probe = probe_sample(*prober);
    add_cluster(shard, scope, out);
    out.counters.half_open_last_minute = history.half_open_since(now - std::chrono::minutes(1));
    return out;
}

}  // namespace lwgate::app
