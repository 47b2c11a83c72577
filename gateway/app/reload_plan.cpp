#include "app/reload_plan.hpp"

#include <map>

namespace lwgate::app {

namespace {

using config::format_duration;

std::string text(bool b) {
    return b ? "true" : "false";
}
std::string text(config::Duration d) {
    return format_duration(d);
}
std::string text(const std::string& s) {
    return s.empty() ? "\"\"" : s;
}
template <class N>
requires std::is_arithmetic_v<N> std::string text(N n) {
    return std::to_string(n);
}

class Differ {
  public:
    explicit Differ(std::vector<ReloadChange>& out) : out_(out) {}

    // Records `key` when the values differ; returns true if they do.
    template <class T>
    bool operator()(const std::string& key, const T& from, const T& to) {
        if (from == to) return false;
        out_.push_back({key, text(from), text(to)});
        return true;
    }
    bool raw(const std::string& key, const std::string& from, const std::string& to) {
        if (from == to) return false;
        out_.push_back({key, from, to});
        return true;
    }

  private:
    std::vector<ReloadChange>& out_;
};

std::string rate_text(const config::RateLimit& r) {
    std::string out = std::to_string(r.per_second);
    out.erase(out.find_last_not_of('0') + 1);
    if (!out.empty() && out.back() == '.') out.pop_back();
    out += "/s";
    if (r.burst) out += " burst " + std::to_string(r.burst);
    return out;
}

std::string listener_text(const config::ListenerConfig& l) {
    std::string out = l.endpoint.text;
    if (l.tls) {
        const auto& t = *l.tls;
        out += " tls(cert=" + t.certificate + " key=" + t.private_key + " ca=" + t.ca +
               " require_client_certificate=" + text(t.require_client_certificate) +
               " psk=" + text(t.psk) + " hint=" + t.psk_identity_hint +
               " handshake_timeout=" + text(t.handshake_timeout) + ")";
    }
    if (!l.allow_plain_registration) out += " allow_plain_registration=false";
    return out;
}

// Endpoint names only: keys and identities stay out of logs.
std::string credentials_change(const std::vector<config::Credential>& from,
                               const std::vector<config::Credential>& to) {
    std::map<std::string, const config::Credential*> old_by_ep, new_by_ep;
    for (const auto& c : from)
        old_by_ep[c.endpoint] = &c;
    for (const auto& c : to)
        new_by_ep[c.endpoint] = &c;
    std::string added, removed, changed;
    auto append = [](std::string& list, const std::string& ep) {
        list += (list.empty() ? "" : ",") + ep;
    };
    for (const auto& [ep, c] : new_by_ep) {
        auto it = old_by_ep.find(ep);
        if (it == old_by_ep.end())
            append(added, ep);
        else if (it->second->psk_identity != c->psk_identity || it->second->psk_key != c->psk_key)
            append(changed, ep);
    }
    for (const auto& [ep, c] : old_by_ep)
        if (!new_by_ep.count(ep)) append(removed, ep);
    std::string out;
    auto part = [&out](const char* what, const std::string& list) {
        if (list.empty()) return;
        out += (out.empty() ? "" : "; ") + std::string(what) + " " + list;
    };
    part("added", added);
    part("changed", changed);
    part("removed", removed);
    return out;
}

}  // namespace

ReloadPlan plan_reload(const config::Config& a, const config::Config& b) {
    ReloadPlan plan;
    Differ apply(plan.applied);
    Differ restart(plan.needs_restart);

    plan.log_level =
        apply.raw("log.level", config::to_string(a.log.level), config::to_string(b.log.level));

    bool session = false;
    session |= apply("keepalive.idle", a.keepalive.idle, b.keepalive.idle);
    session |= apply("keepalive.pong_timeout", a.keepalive.pong_timeout, b.keepalive.pong_timeout);
    session |= apply("keepalive.max_missed", a.keepalive.max_missed, b.keepalive.max_missed);
    const auto& ca = a.connections;
    const auto& cb = b.connections;
    session |= apply("connections.csm_timeout", ca.csm_timeout, cb.csm_timeout);
    session |= apply.raw("connections.csm_mode", config::to_string(ca.csm_mode),
                         config::to_string(cb.csm_mode));
    session |= apply("connections.unregistered_idle", ca.unregistered_idle, cb.unregistered_idle);
    session |= apply("connections.max_message_size", ca.max_message_size, cb.max_message_size);
    session |=
        apply("connections.max_tls_handshakes", ca.max_tls_handshakes, cb.max_tls_handshakes);
    session |= apply("connections.write_queue_limit", ca.write_queue_limit, cb.write_queue_limit);
    session |= apply("connections.write_timeout", ca.write_timeout, cb.write_timeout);
    plan.session_settings = session;

    bool limits = apply("connections.max", ca.max, cb.max);
    limits |=
        apply.raw("connections.accept_rate", rate_text(ca.accept_rate), rate_text(cb.accept_rate));
    plan.accept_limits = limits;

    bool relay = apply("connections.request_timeout", ca.request_timeout, cb.request_timeout);
    relay |= apply("queue_mode.max_queued", a.queue_mode.max_queued, b.queue_mode.max_queued);
    relay |= apply("queue_mode.max_age", a.queue_mode.max_age, b.queue_mode.max_age);
    const auto& da = a.device_limits;
    const auto& db = b.device_limits;
    const bool uplinks =
        apply("device_limits.uplinks_in_flight", da.uplinks_in_flight, db.uplinks_in_flight) |
        apply("device_limits.uplinks_queued", da.uplinks_queued, db.uplinks_queued);
    relay |= uplinks;
    plan.session_settings |= uplinks;  // how many unanswered requests a connection may have
    relay |= apply.raw("device_limits.notifications_per_second",
                       rate_text({da.notifications_per_second, 0}),
                       rate_text({db.notifications_per_second, 0}));
    relay |=
        apply("device_limits.notification_burst", da.notification_burst, db.notification_burst);
    relay |= apply("registration.max_lifetime", a.registration.max_lifetime,
                   b.registration.max_lifetime);
    plan.relay_params = relay;

    bool registration =
        apply("connections.max_registrations", ca.max_registrations, cb.max_registrations);
    registration |=
        apply.raw("registration.rate_per_address", rate_text(a.registration.rate_per_address),
                  rate_text(b.registration.rate_per_address));
    plan.registration_limits = registration;

    // Read by the control thread at each accept and at drain: nothing to push anywhere.
    apply("connections.max_tls_handshakes_per_address", ca.max_tls_handshakes_per_address,
          cb.max_tls_handshakes_per_address);
    apply("tcp.nodelay", a.tcp.nodelay, b.tcp.nodelay);
    apply("tcp.keepalive", a.tcp.keepalive, b.tcp.keepalive);
    apply("tcp.keepalive_idle", a.tcp.keepalive_idle, b.tcp.keepalive_idle);
    apply("tcp.keepalive_interval", a.tcp.keepalive_interval, b.tcp.keepalive_interval);
    apply("tcp.keepalive_count", a.tcp.keepalive_count, b.tcp.keepalive_count);
    apply("tcp.user_timeout", a.tcp.user_timeout, b.tcp.user_timeout);
    apply("shutdown.drain_timeout", a.shutdown.drain_timeout, b.shutdown.drain_timeout);
    apply("shutdown.hold_off_min", a.shutdown.hold_off_min, b.shutdown.hold_off_min);
    apply("shutdown.hold_off_max", a.shutdown.hold_off_max, b.shutdown.hold_off_max);

    const auto creds = credentials_change(a.credentials, b.credentials);
    if (!creds.empty()) {
        plan.applied.push_back({"credentials", std::to_string(a.credentials.size()) + " entries",
                                std::to_string(b.credentials.size()) + " entries (" + creds + ")"});
        plan.credentials = true;
    }
    if (apply("credentials_file", a.credentials_file, b.credentials_file)) plan.credentials = true;

    // Needs a restart: sockets that are bound, threads that run, sessions toward the core.
    std::string la, lb;
    for (const auto& l : a.listeners)
        la += (la.empty() ? "" : ", ") + listener_text(l);
    for (const auto& l : b.listeners)
        lb += (lb.empty() ? "" : ", ") + listener_text(l);
    restart.raw("listeners", la, lb);
    const auto& ua = a.upstream;
    const auto& ub = b.upstream;
    restart("upstream.uri", ua.uri, ub.uri);
    restart("upstream.bootstrap_uri", ua.bootstrap_uri, ub.bootstrap_uri);
    restart("upstream.ack_timeout", ua.ack_timeout, ub.ack_timeout);
    restart("upstream.max_retransmit", ua.max_retransmit, ub.max_retransmit);
    auto bind_text = [](const config::UpstreamConfig& u) {
        std::string text;
        for (const auto& a : u.bind_addresses)
            text += (text.empty() ? "" : ",") + a;
        return text + ":" + std::to_string(u.bind_port_first) + "-" +
               std::to_string(u.bind_port_last);
    };
    restart.raw("upstream.bind", bind_text(ua), bind_text(ub));
    // The gateway's own DTLS identity: named, never shown (it holds a key).
    if (ua.gateway_psk_identity != ub.gateway_psk_identity ||
        ua.gateway_psk_key != ub.gateway_psk_key ||
        ua.gateway_certificate != ub.gateway_certificate ||
        ua.gateway_private_key != ub.gateway_private_key || ua.gateway_ca != ub.gateway_ca)
        plan.needs_restart.push_back({"upstream.dtls", "(hidden)", "(changed)"});
    restart("threads", a.threads, b.threads);
    restart("store.uri", a.store.uri, b.store.uri);
    restart("store.ack_after_commit", a.store.ack_after_commit, b.store.ack_after_commit);
    restart("admin.listen", a.admin.listen, b.admin.listen);
    if (a.admin.token != b.admin.token)
        plan.needs_restart.push_back({"admin.token", "(hidden)", "(hidden)"});
    return plan;
}

std::string describe(const ReloadChange& change) {
    return change.key + " " + change.from + " -> " + change.to;
}

}  // namespace lwgate::app
