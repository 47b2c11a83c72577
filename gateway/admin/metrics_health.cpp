// The families of /metrics that say whether lwgate and its core are well (the same verdicts as
// GET /v1/health) and what the process costs (process_*, the names Prometheus client libraries
// use, so that dashboards made for them work).
#include "admin/health.hpp"
#include "admin/metrics_writer.hpp"

namespace lwgate::admin {

namespace {

void write_probe(MetricsWriter& w, const CoreProbeSample& p) {
    w.family("lwgate_core_probe_state", "gauge",
             "The active check of the core (upstream.probe_interval): 1 for its state (unknown "
             "before the first verdict, ok, failing after upstream.probe_max_missed CoAP Pings "
             "in a row missed).");
    for (const auto state : {ProbeState::unknown, ProbeState::ok, ProbeState::failing}) {
        w.sample("lwgate_core_probe_state", fmt::format("state=\"{}\"", to_string(state)),
                 p.state == state ? 1 : 0);
    }
    w.family("lwgate_core_probes_total", "counter",
             "CoAP Pings sent to the core by the active check, by result: answered (a Reset or "
             "an empty ACK) or missed.");
    w.sample("lwgate_core_probes_total", "result=\"answered\"", p.answered);
    w.sample("lwgate_core_probes_total", "result=\"missed\"", p.missed);
    w.family("lwgate_core_probe_rtt_seconds", "histogram",
             "Round-trip time of the active check's CoAP Pings to the core.");
    w.histogram("lwgate_core_probe_rtt_seconds", p.rtt_buckets, p.rtt_count, p.rtt_sum_seconds);
}

}  // namespace

void write_health_metrics(MetricsWriter& w, const Snapshot& s) {
    const Health h = evaluate_health(s);
    w.family("lwgate_health_status", "gauge",
             "1 for the status GET /v1/health reports (ok, degraded or failing), else 0.");
    for (const char* status : {"ok", "degraded", "failing"})
        w.sample("lwgate_health_status", fmt::format("status=\"{}\"", status),
                 h.status == status ? 1 : 0);
    w.family("lwgate_core_up", "gauge",
             "1 when the core answers (its last CoAP Ping answered, or with the active check off "
             "an uplink answered) and no uplink failed since, else 0: /v1/health's "
             "core.reachable.");
    w.sample("lwgate_core_up", "", h.core_reachable ? 1 : 0);
    if (const auto* probe = core_probe_of(s)) write_probe(w, *probe);
}

void write_process_metrics(MetricsWriter& w, const Snapshot& s) {
    w.family("process_open_fds", "gauge", "Number of open file descriptors.");
    w.sample("process_open_fds", "", s.gateway.open_descriptors);
    if (s.gateway.descriptor_limit != 0) {
        w.family("process_max_fds", "gauge", "Maximum number of open file descriptors.");
        w.sample("process_max_fds", "", s.gateway.descriptor_limit);
    }
    if (!s.gateway.process) return;
    const auto& p = *s.gateway.process;
    w.family("process_cpu_seconds_total", "counter",
             "Total user and system CPU time spent in seconds.");
    w.sample("process_cpu_seconds_total", "", p.cpu_seconds);
    w.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    w.sample("process_resident_memory_bytes", "", p.resident_bytes);
    w.family("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
    w.sample("process_virtual_memory_bytes", "", p.virtual_bytes);
    w.family("process_start_time_seconds", "gauge",
             "Start time of the process since unix epoch in seconds.");
    w.sample("process_start_time_seconds", "", p.start_time_seconds);
}

}  // namespace lwgate::admin
