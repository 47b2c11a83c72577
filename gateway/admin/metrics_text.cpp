#include "admin/metrics_text.hpp"

#include <map>

#include <fmt/format.h>

#include "admin/cluster_view.hpp"
#include "admin/json_views.hpp"
#include "admin/metrics_writer.hpp"
#include "lwgate/coap/code.hpp"

namespace lwgate::admin {

namespace {

using Writer = MetricsWriter;

template <class F>
std::uint64_t sum(const Snapshot& s, F f) {
    std::uint64_t n = 0;
    for (const auto& shard : s.shards)
        n += f(shard.counters);
    return n;
}

}  // namespace

std::string escape_label(std::string_view value) {
    std::string out;
    for (char c : value) {
        if (c == '\\' || c == '"') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

namespace {

using C = ShardCounters;

// Every state/transport pair is written, so a state that empties reads 0 instead of vanishing.
void write_connections(Writer& w, const Snapshot& s) {
    std::map<std::pair<State, session::Transport>, std::uint64_t> by_state;
    for (auto st : all_states)
        if (st != State::sleeping && st != State::away)
            for (auto t : {session::Transport::tcp, session::Transport::tls})
                by_state[{st, t}] = 0;
    for (const auto& row : build_rows(s)) {
        if (row.connection) ++by_state[{row.state, row.connection->session.info.transport}];
    }
    w.family("lwgate_connections", "gauge", "Device connections by state and transport.");
    for (const auto& [key, n] : by_state) {
        w.sample("lwgate_connections",
                 fmt::format("state=\"{}\",transport=\"{}\"", to_string(key.first),
                             session::to_string(key.second)),
                 n);
    }
}

void write_process(Writer& w, const Snapshot& s) {
    write_process_metrics(w, s);
    w.family("lwgate_upstream_sessions", "gauge",
             "Upstream sessions (one UDP socket each) across the process.");
    w.sample("lwgate_upstream_sessions", "", s.gateway.upstream_sessions);
}

void write_admission(Writer& w, const Snapshot& s) {
    w.family("lwgate_accepted_total", "counter", "Accepted device connections.");
    w.sample("lwgate_accepted_total", "", s.gateway.accepted);
    w.family("lwgate_refused_total", "counter",
             "Connections refused by a limit or in their TLS handshake, and device messages "
             "refused by the identity and registration rules, by reason.");
    w.sample("lwgate_refused_total", "reason=\"limit_connections\"", s.gateway.refused_limit);
    w.sample("lwgate_refused_total", "reason=\"limit_rate\"", s.gateway.refused_rate);
    w.sample("lwgate_refused_total", "reason=\"limit_handshakes_per_address\"",
             s.gateway.refused_handshakes_per_address);
    w.sample("lwgate_refused_total", "reason=\"limit_descriptors\"", s.gateway.refused_descriptors);
    for (std::size_t r = 0; r < lwm2m::refusal_count; ++r) {
        w.sample("lwgate_refused_total",
                 fmt::format("reason=\"{}\"", lwm2m::to_string(static_cast<lwm2m::Refusal>(r))),
                 sum(s, [r](const C& c) { return c.refused[r]; }));
    }
    for (std::size_t r = 0; r < session::tls_refusal_count; ++r) {
        const auto reason = session::to_string(static_cast<session::TlsRefusal>(r));
        w.sample("lwgate_refused_total", fmt::format("reason=\"{}\"", reason),
                 sum(s, [r](const C& c) { return c.tls_refused[r]; }));
    }

    w.family("lwgate_device_limited_total", "counter",
             "What device_limits held back: requests answered 5.03 (uplinks), notifications "
             "replaced by a newer one (notifications).");
    w.sample("lwgate_device_limited_total", "what=\"uplinks\"",
             sum(s, [](const C& c) { return c.device_limits.uplinks_refused_busy; }));
    w.sample("lwgate_device_limited_total", "what=\"notifications\"",
             sum(s, [](const C& c) { return c.device_limits.notifications_coalesced; }));
}

void write_closes(Writer& w, const Snapshot& s) {
    w.family("lwgate_closes_total", "counter", "Closed device connections by reason.");
    for (std::size_t r = 0; r < session::close_reason_count; ++r) {
        w.sample(
            "lwgate_closes_total",
            fmt::format("reason=\"{}\"", session::to_string(static_cast<session::CloseReason>(r))),
            sum(s, [r](const C& c) { return c.closes[r]; }));
    }
}

void write_keepalive(Writer& w, const Snapshot& s) {
    w.family("lwgate_pings_sent_total", "counter", "CoAP Pings sent to devices.");
    w.sample("lwgate_pings_sent_total", "", sum(s, [](const C& c) { return c.pings_sent; }));
    w.family("lwgate_pongs_received_total", "counter", "CoAP Pongs received from devices.");
    w.sample("lwgate_pongs_received_total", "",
             sum(s, [](const C& c) { return c.pongs_received; }));
    w.family("lwgate_pongs_missed_total", "counter", "Pings without an answer in time.");
    w.sample("lwgate_pongs_missed_total", "", sum(s, [](const C& c) { return c.missed_pongs; }));
    w.family("lwgate_keepalive_frame_bytes_total", "counter",
             "Bytes of CoAP Ping and Pong frames exchanged with devices, as encoded.");
    w.sample("lwgate_keepalive_frame_bytes_total", "direction=\"in\"",
             sum(s, [](const C& c) { return c.keepalive_bytes_in; }));
    w.sample("lwgate_keepalive_frame_bytes_total", "direction=\"out\"",
             sum(s, [](const C& c) { return c.keepalive_bytes_out; }));
    w.family("lwgate_keepalive_wire_bytes_estimated_total", "counter",
             "The same frames with their TCP/IP headers, TLS records and ACKs, estimated.");
    w.sample("lwgate_keepalive_wire_bytes_estimated_total", "",
             sum(s, [](const C& c) { return c.keepalive_wire_bytes; }));
    w.family("lwgate_half_open_detected_total", "counter",
             "Connections closed as half-open by the keepalive.");
    w.sample("lwgate_half_open_detected_total", "", sum(s, [](const C& c) {
                 return c.closes[static_cast<std::size_t>(session::CloseReason::half_open)];
             }));
}

void write_rtt(Writer& w, const Snapshot& s) {
    w.family("lwgate_rtt_seconds", "histogram", "Round-trip time of Ping/Pong.");
    std::map<double, std::uint64_t> buckets;
    std::uint64_t rtt_count = 0;
    double rtt_sum = 0;
    for (const auto& shard : s.shards) {
        for (const auto& [le, n] : shard.counters.rtt_buckets)
            buckets[le] += n;
        rtt_count += shard.counters.rtt_count;
        rtt_sum += shard.counters.rtt_sum_seconds;
    }
    w.histogram("lwgate_rtt_seconds", {buckets.begin(), buckets.end()}, rtt_count, rtt_sum);
}

void write_traffic(Writer& w, const Snapshot& s) {
    w.family("lwgate_bytes_received_total", "counter", "Bytes received from devices.");
    w.sample("lwgate_bytes_received_total", "", sum(s, [](const C& c) { return c.bytes_in; }));
    w.family("lwgate_bytes_sent_total", "counter", "Bytes sent to devices.");
    w.sample("lwgate_bytes_sent_total", "", sum(s, [](const C& c) { return c.bytes_out; }));
    w.family("lwgate_messages_received_total", "counter", "CoAP messages received from devices.");
    w.sample("lwgate_messages_received_total", "",
             sum(s, [](const C& c) { return c.messages_in; }));
    w.family("lwgate_messages_sent_total", "counter", "CoAP messages sent to devices.");
    w.sample("lwgate_messages_sent_total", "", sum(s, [](const C& c) { return c.messages_out; }));
    w.family("lwgate_messages_dropped_total", "counter",
             "Messages for devices dropped unsent, by reason.");
    w.sample("lwgate_messages_dropped_total", "reason=\"device_max_message_size\"",
             sum(s, [](const C& c) { return c.too_large_for_device; }));
}

void write_relayed(Writer& w, const Snapshot& s) {
    w.family("lwgate_relayed_requests_total", "counter",
             "Requests relayed between devices and the core, by operation and result code.");
    RelayCounts relayed;
    for (const auto& shard : s.shards)
        for (const auto& [key, n] : shard.counters.relayed)
            relayed[key] += n;
    for (const auto& [key, n] : relayed) {
        w.sample("lwgate_relayed_requests_total",
                 fmt::format("direction=\"{}\",operation=\"{}\",code=\"{}\"",
                             key.uplink ? "uplink" : "downlink", escape_label(key.operation),
                             coap::code_to_string(key.code)),
                 n);
    }
}

void write_queue(Writer& w, const Snapshot& s) {
    std::uint64_t queued = 0;
    for (const auto& shard : s.shards)
        for (const auto& d : shard.devices)
            queued += d.queued;
    w.family("lwgate_queue_depth", "gauge", "Requests of the core held for sleeping devices.");
    w.sample("lwgate_queue_depth", "", queued);
    w.family("lwgate_queue_dropped_total", "counter", "Held requests given up.");
    w.sample("lwgate_queue_dropped_total", "reason=\"overflow\"",
             sum(s, [](const C& c) { return c.queue_overflow; }));
    w.sample("lwgate_queue_dropped_total", "reason=\"expired\"",
             sum(s, [](const C& c) { return c.queue_expired; }));
}

void write_registered(Writer& w, const Snapshot& s) {
    std::int64_t registered = 0;
    for (const auto& shard : s.shards)
        registered += shard.counters.registered_devices;
    w.family("lwgate_registered_devices", "gauge", "Devices with a live LwM2M registration.");
    w.sample("lwgate_registered_devices", "", registered);
}

void write_upstream(Writer& w, const Snapshot& s) {
    w.family("lwgate_upstream_handshakes_total", "counter",
             "Upstream sessions opened toward the core (a DTLS handshake each with coaps).");
    w.sample("lwgate_upstream_handshakes_total", "",
             sum(s, [](const C& c) { return c.upstream_sessions; }));
    w.family("lwgate_upstream_failures_total", "counter",
             "Uplinks the core did not answer (retransmissions exhausted, DTLS failure, Reset).");
    w.sample("lwgate_upstream_failures_total", "",
             sum(s, [](const C& c) { return c.upstream_failures; }));
    w.family("lwgate_upstream_duplicates_total", "counter",
             "Requests the core sent again (it missed our ACK) that were not relayed twice: "
             "state=held while the device's answer was pending (acknowledged again), "
             "state=answered after it (answered again from memory).");
    w.sample("lwgate_upstream_duplicates_total", "state=\"held\"",
             sum(s, [](const C& c) { return c.duplicates_held; }));
    w.sample("lwgate_upstream_duplicates_total", "state=\"answered\"",
             sum(s, [](const C& c) { return c.duplicates_answered; }));
    w.family("lwgate_upstream_answers_total", "counter",
             "Answers to the core's requests: mode=piggybacked on the request's ACK (the device "
             "answered within upstream.piggyback_window), mode=separate (after an empty ACK, or "
             "to a NON request).");
    w.sample("lwgate_upstream_answers_total", "mode=\"piggybacked\"",
             sum(s, [](const C& c) { return c.answers_piggybacked; }));
    w.sample("lwgate_upstream_answers_total", "mode=\"separate\"",
             sum(s, [](const C& c) { return c.answers_separate; }));
}

void write_store(Writer& w, const Snapshot& s) {
    w.family("lwgate_store_operations_total", "counter",
             "Operations on the state store: device records saved and deleted by the shards, "
             "saves replaced by a newer one before reaching disk, transactions committed "
             "and failed.");
    const auto& st = s.store;
    for (const auto& [op, n] : {std::pair<const char*, std::uint64_t>{"save", st.puts},
                                {"delete", st.erases},
                                {"coalesced", st.coalesced},
                                {"commit", st.batches},
                                {"error", st.errors}}) {
        w.sample("lwgate_store_operations_total", fmt::format("op=\"{}\"", op), n);
    }
}

// Cluster mode only: ownership and moves of this instance, its lease and its shards' Redis.
void write_cluster(Writer& w, const Snapshot& s) {
    if (!s.cluster.enabled) return;
    const auto t = cluster_totals(s).sum;
    // Families of one unlabelled sample each.
    const auto one = [&w](std::string_view name, std::string_view type, std::string_view help,
                          auto value) {
        w.family(name, type, help);
        w.sample(name, "", value);
    };
    one("lwgate_cluster_endpoints_owned", "gauge", "Endpoints this instance owns in the cluster.",
        t.owned);
    one("lwgate_cluster_endpoints_moving", "gauge",
        "Endpoints being claimed from or handed over to another instance.", t.moving);
    w.family("lwgate_cluster_moves_total", "counter",
             "Endpoints adopted from (in) or handed over to (out) another instance.");
    w.sample("lwgate_cluster_moves_total", "direction=\"in\"", t.moves_in);
    w.sample("lwgate_cluster_moves_total", "direction=\"out\"", t.moves_out);
    one("lwgate_cluster_endpoints_lost_total", "counter",
        "Endpoints taken from this instance (a refused fenced write, a lapsed lease).", t.lost);
    one("lwgate_cluster_uplinks_waited_total", "counter",
        "Device messages that waited for a move of their endpoint.", t.waited);
    one("lwgate_cluster_uplinks_refused_total", "counter",
        "Device messages answered 5.03 while their endpoint was moving.", t.refused);
    if (s.cluster.link_sampled) {
        one("lwgate_cluster_lease_valid", "gauge",
            "1 when this instance's lease in Redis is valid, else 0.",
            s.cluster.lease_valid ? 1 : 0);
        one("lwgate_cluster_lease_lapses_total", "counter",
            "Times this instance's lease was found lapsed.", s.cluster.lapses);
    }
    one("lwgate_cluster_redis_commands_total", "counter",
        "Cluster commands the shards sent to Redis.", t.redis_commands);
    one("lwgate_cluster_redis_errors_total", "counter", "Cluster commands to Redis that failed.",
        t.redis_errors);
    one("lwgate_cluster_redis_latency_seconds_total", "counter",
        "Time the shards' cluster commands to Redis took, summed (divide by "
        "lwgate_cluster_redis_commands_total for the mean).",
        static_cast<double>(t.redis_latency_us_total) / 1e6);
}

void write_tls(Writer& w, const Snapshot& s) {
    w.family("lwgate_tls_handshakes_total", "counter", "Completed TLS handshakes.");
    w.sample("lwgate_tls_handshakes_total", "",
             sum(s, [](const C& c) { return c.tls_handshakes; }));
    w.family("lwgate_tls_failures_total", "counter", "Failed or timed-out TLS handshakes.");
    w.sample("lwgate_tls_failures_total", "", sum(s, [](const C& c) { return c.tls_failures; }));
}

}  // namespace

std::string metrics_text(const Snapshot& s) {
    Writer w;
    write_connections(w, s);
    write_health_metrics(w, s);
    write_process(w, s);
    write_admission(w, s);
    write_closes(w, s);
    write_keepalive(w, s);
    write_rtt(w, s);
    write_traffic(w, s);
    write_relayed(w, s);
    write_queue(w, s);
    write_registered(w, s);
    write_upstream(w, s);
    write_store(w, s);
    write_tls(w, s);
    write_cluster(w, s);
    w.family("lwgate_build_info", "gauge", "Build information.");
    w.sample("lwgate_build_info", fmt::format("version=\"{}\"", escape_label(s.gateway.version)),
             1);
    return w.take();
}

}  // namespace lwgate::admin
