#include "views.hpp"

#include <map>

#include <nlohmann/json.hpp>

namespace lwgate::ctl {

using nlohmann::json;

namespace {

const json* field(const json& j, const char* key) {
    if (!j.is_object()) return nullptr;
    auto it = j.find(key);
    return it == j.end() ? nullptr : &*it;
}

std::string text(const json& j, const char* key, std::string fallback = "-") {
    const auto* f = field(j, key);
    if (!f || f->is_null()) return fallback;
    if (f->is_string()) return f->get<std::string>();
    if (f->is_boolean()) return f->get<bool>() ? "yes" : "no";
    if (f->is_number()) return f->dump();
    return fallback;
}

std::optional<double> number(const json& j, const char* key) {
    const auto* f = field(j, key);
    if (!f || !f->is_number()) return std::nullopt;
    return f->get<double>();
}

bool flag(const json& j, const char* key) {
    const auto* f = field(j, key);
    return f && f->is_boolean() && f->get<bool>();
}

std::string seconds(const json& j, const char* key) {
    auto n = number(j, key);
    return n ? format_seconds(*n) : "-";
}

// Round trips come in seconds like every duration of the API, and read better in ms: "0.41ms".
std::string seconds_as_ms(const json& j, const char* key) {
    auto n = number(j, key);
    return n ? format_ms(*n * 1000) : "-";
}

std::string count(const json& j, const char* key) {
    auto n = number(j, key);
    if (!n || *n < 0) return "-";
    return std::to_string(static_cast<std::uint64_t>(*n));
}

std::string bytes(const json& j, const char* key) {
    auto n = number(j, key);
    if (!n || *n < 0) return "-";
    return format_bytes(static_cast<std::uint64_t>(*n));
}

const json& array_or_empty(const json& j, const char* key) {
    static const json empty = json::array();
    const auto* f = field(j, key);
    return f && f->is_array() ? *f : empty;
}

const json& object_or_null(const json& j, const char* key) {
    static const json null;
    const auto* f = field(j, key);
    return f && f->is_object() ? *f : null;
}

// The active check of the core: "ok, last rtt 0.41ms, 12 answered, 0 missed, every 30s".
std::string probe_line(const json& probe) {
    std::string line = text(probe, "state");
    if (auto missed = number(probe, "missed_in_a_row"); missed && *missed > 0)
        line += ", " + count(probe, "missed_in_a_row") + " missed in a row (" +
                text(probe, "last_error") + ")";
    line += ", last rtt " + seconds_as_ms(probe, "last_rtt_seconds") + ", " +
            count(probe, "answered") + " answered, " + count(probe, "missed") + " missed, every " +
            seconds(probe, "interval_seconds");
    return line;
}

}  // namespace

std::string health_status(const json& health) {
    const auto* status = field(health, "status");
    return status && status->is_string() ? status->get<std::string>() : "";
}

std::string render_health(const json& health) {
    std::string out =
        "lwgate " + text(health, "version") + ": " + text(health, "status", "unknown");
    if (flag(health, "draining")) out += " (draining)";
    out += ", up " + seconds(health, "uptime_seconds") + "\n";
    for (const auto& reason : array_or_empty(health, "reasons")) {
        if (reason.is_string()) out += "  - " + reason.get<std::string>() + "\n";
    }
    Table t;
    t.add_row({"connections",
               count(health, "connections") + " (" + count(health, "registered") + " registered)"});
    for (const auto& l : array_or_empty(health, "listeners"))
        t.add_row({"listener", text(l, "uri") + (flag(l, "up") ? " up" : " DOWN")});
    const auto& core = object_or_null(health, "core");
    if (core.is_object()) {
        std::string line =
            text(core, "uri") + (flag(core, "reachable") ? " reachable" : " UNREACHABLE");
        if (auto ago = number(core, "last_response_seconds_ago"))
            line += ", last response " + format_seconds(*ago) + " ago";
        else
            line += ", no response yet";
        line += ", failures " + count(core, "failures_total");
        t.add_row({"core", line});
        const auto& probe = object_or_null(core, "probe");
        if (probe.is_object()) t.add_row({"core probe", probe_line(probe)});
    }
    return out + t.render();
}

std::vector<std::string> connection_row(const json& row) {
    std::string flags;
    auto add_flag = [&flags](const char* f) { flags += flags.empty() ? f : std::string(",") + f; };
    if (flag(row, "flapping")) add_flag("flapping");
    if (flag(row, "queue_mode")) add_flag("queue");
    if (field(row, "registered") && !flag(row, "registered")) add_flag("unregistered");
    std::string id = text(row, "id");
    return {text(row, "endpoint"),
            text(row, "state"),
            text(row, "transport"),
            text(row, "remote"),
            seconds(row, "connected_seconds"),
            seconds(row, "idle_seconds"),
            seconds_as_ms(row, "last_rtt_seconds"),
            count(row, "queued"),
            count(row, "observations"),
            id == "-" ? id : "#" + id,
            flags.empty() ? "-" : flags};
}

Table connections_table(const json& body) {
    Table t({"ENDPOINT", "STATE", "TRANSPORT", "REMOTE", "CONNECTED", "IDLE", "RTT", "QUEUED",
             "OBS", "CONN", "FLAGS"});
    for (const auto& row : array_or_empty(body, "connections"))
        t.add_row(connection_row(row));
    return t;
}

void ConnectionTally::add(const json& page) {
    for (const auto& row : array_or_empty(page, "connections")) {
        ++rows_;
        ++by_state_[text(row, "state")];
    }
}

std::string ConnectionTally::summary() const {
    std::string out = std::to_string(rows_) + " connection(s)";
    const char* sep = ": ";
    for (const auto& [state, n] : by_state_) {
        out += sep + std::to_string(n) + " " + state;
        sep = ", ";
    }
    return out;
}

std::string connections_summary(const json& body) {
    ConnectionTally tally;
    tally.add(body);
    auto out = tally.summary();
    const auto* next = field(body, "next");
    if (next && next->is_string()) out += " (more pages; " + count(body, "total") + " in all)";
    return out;
}

std::string render_device(const json& d) {
    Table t;
    t.add_row({"endpoint", text(d, "endpoint")});
    t.add_row({"state", text(d, "state") + (flag(d, "flapping") ? " (flapping)" : "")});
    const auto& c = object_or_null(d, "connection");
    if (c.is_object()) {
        t.add_row({"connection", "#" + text(c, "id") + " " + text(c, "transport") + " " +
                                     text(c, "remote") + " -> " + text(c, "local") + ", up " +
                                     seconds(c, "connected_seconds")});
        const auto psk = text(c, "psk_identity", "");
        const auto cn = text(c, "certificate_cn", "");
        if (!psk.empty()) t.add_row({"psk identity", psk});
        if (!cn.empty()) t.add_row({"certificate", "CN=" + cn});
        t.add_row(
            {"received", bytes(c, "bytes_in") + " in " + count(c, "messages_in") + " message(s)"});
        t.add_row(
            {"sent", bytes(c, "bytes_out") + " in " + count(c, "messages_out") + " message(s)"});
    } else {
        t.add_row({"connection", "none"});
    }
    const auto& k = object_or_null(d, "keepalive");
    if (k.is_object()) {
        t.add_row({"keepalive", "idle " + seconds(k, "idle_timeout_seconds") + ", pong timeout " +
                                    seconds(k, "pong_timeout_seconds") + "; pings " +
                                    count(k, "pings_sent") + ", pongs " +
                                    count(k, "pongs_received") + ", missed " + count(k, "missed")});
        std::string rtts;
        for (const auto& r : array_or_empty(k, "last_rtts_seconds")) {
            if (!r.is_number()) continue;
            if (!rtts.empty()) rtts += " ";
            rtts += format_ms(r.get<double>() * 1000);
        }
        t.add_row({"last rtts", rtts.empty() ? "-" : rtts});
        const auto& w = object_or_null(k, "wire");
        if (w.is_object())
            t.add_row({"wire cost",
                       bytes(w, "wire_bytes_estimated") + " on the wire so far (" +
                           count(w, "frames_out") + " frame(s) out, " + count(w, "frames_in") +
                           " in); idle: " + bytes(w, "idle_wire_bytes_per_day_estimated") +
                           "/day (estimated)"});
    }
    const auto& r = object_or_null(d, "registration");
    if (r.is_object()) {
        t.add_row({"registration", text(r, "location") + ", lifetime " +
                                       seconds(r, "lifetime_seconds") + ", expires in " +
                                       seconds(r, "expires_in_seconds")});
        t.add_row({"binding", text(r, "binding") + ", LwM2M " + text(r, "lwm2m_version") +
                                  ", queue mode " + text(r, "queue_mode") + ", upstream port " +
                                  text(r, "upstream_local_port")});
    } else {
        t.add_row({"registration", "none"});
    }
    const auto& q = object_or_null(d, "queue");
    if (q.is_object())
        t.add_row(
            {"queue", count(q, "queued") + " queued, " + count(q, "in_flight") + " in flight"});
    const auto& owner = object_or_null(d, "owner");
    if (owner.is_object()) {
        t.add_row({"owner",
                   flag(owner, "self") || number(owner, "epoch")
                       ? "instance " + text(owner, "instance") + ", epoch " + text(owner, "epoch")
                       : "not this instance (or moving)"});
    }
    std::string out = t.render();

    const auto& observations = array_or_empty(d, "observations");
    out += "observations (" + std::to_string(observations.size()) + ")\n";
    if (!observations.empty()) {
        Table o({"  PATH", "CORE TOKEN", "OBSERVE", "NOTIFICATIONS", "ACTIVE"});
        for (const auto& ob : observations)
            o.add_row({"  " + text(ob, "path"), text(ob, "core_token"), text(ob, "observe_number"),
                       count(ob, "notifications"), text(ob, "active")});
        out += o.render();
    }
    const auto& closes = array_or_empty(d, "recent_closes");
    out += "recent closes (" + std::to_string(closes.size()) + ")\n";
    if (!closes.empty()) {
        Table rc({"  AT", "REASON", "DETAIL"});
        for (const auto& cl : closes)
            rc.add_row({"  " + text(cl, "at"), text(cl, "reason"), text(cl, "detail", "")});
        out += rc.render();
    }
    return out;
}

std::string render_cluster(const json& c) {
    if (field(c, "enabled") && !flag(c, "enabled"))
        return "not clustered (store.uri is not Redis)\n";
    Table t;
    t.add_row({"instance", text(c, "instance") + " (incarnation " + text(c, "incarnation") + ")"});
    const auto& lease = object_or_null(c, "lease");
    if (lease.is_object()) {
        const auto* valid = field(lease, "valid");
        const std::string state = !valid || !valid->is_boolean() ? "unknown"
                                  : valid->get<bool>()           ? "valid"
                                                                 : "NOT VALID";
        t.add_row({"lease", state + ", " + seconds(lease, "seconds") + "; renewals " +
                                count(lease, "renewals") + ", failures " +
                                count(lease, "renewal_failures") + ", lapses " +
                                count(lease, "lapses")});
    }
    const auto& redis = object_or_null(c, "redis");
    if (redis.is_object()) {
        t.add_row({"redis", std::string(flag(redis, "connected") ? "connected" : "DISCONNECTED") +
                                "; commands " + count(redis, "commands") + ", errors " +
                                count(redis, "errors") + ", mean latency " +
                                seconds_as_ms(redis, "mean_latency_seconds")});
    }
    const auto& e = object_or_null(c, "endpoints");
    if (e.is_object())
        t.add_row({"endpoints", count(e, "owned") + " owned, " + count(e, "moving") + " moving"});
    const auto& m = object_or_null(c, "moves");
    if (m.is_object()) {
        t.add_row({"moves", count(m, "in") + " in, " + count(m, "out") + " out, " +
                                count(m, "lost") + " lost; uplinks waited " + count(m, "waited") +
                                ", refused " + count(m, "refused")});
    }
    std::string out = t.render();
    const auto* instances = field(c, "instances");
    if (!instances || !instances->is_array()) {
        out += "instances: " + text(c, "instances_error", "not listed") + "\n";
        return out;
    }
    out += "instances (" + std::to_string(instances->size()) + ")\n";
    Table it({"  NAME", "INCARNATION", "LEASE LEFT", ""});
    for (const auto& i : *instances) {
        it.add_row({"  " + text(i, "name"), text(i, "incarnation"), seconds(i, "ttl_seconds"),
                    flag(i, "self") ? "(this)" : ""});
    }
    if (it.size() > 0) out += it.render();
    if (flag(c, "instances_truncated")) out += "  (more not listed)\n";
    return out;
}

std::string render_ping(const std::string& endpoint, const json& body) {
    return "pong from " + endpoint + " in " + seconds_as_ms(body, "rtt_seconds");
}

std::string error_text(const json& body) {
    return text(body, "error", "");
}

}  // namespace lwgate::ctl
