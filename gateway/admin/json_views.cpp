#include "admin/json_views.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>
#include <numeric>
#include <unordered_map>
#include <unordered_set>

#include "lwgate/coap/message.hpp"

namespace lwgate::admin {

using nlohmann::json;

namespace {

// Whole microseconds, as measured: a round trip on a LAN is well below the millisecond that
// rounded() keeps.
double seconds_of(session::Rtt rtt) {
    return static_cast<double>(std::chrono::duration_cast<std::chrono::microseconds>(rtt).count()) /
           1e6;
}

std::string hex(const coap::Token& token) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (auto b : token.bytes()) {
        out += digits[b >> 4];
        out += digits[b & 0xf];
    }
    return out;
}

// Devices by endpoint, across shards (each endpoint lives on exactly one owner shard). Views of
// the snapshot's names: a list of a million devices copies none.
std::unordered_map<std::string_view, const DeviceSample*> devices_by_endpoint(const Snapshot& s) {
    std::unordered_map<std::string_view, const DeviceSample*> out;
    out.reserve(std::accumulate(
        s.shards.begin(), s.shards.end(), std::size_t{0},
        [](std::size_t n, const ShardSample& shard) { return n + shard.devices.size(); }));
    for (const auto& shard : s.shards)
        for (const auto& d : shard.devices)
            out[d.endpoint] = &d;
    return out;
}

unsigned recent_closes(const Snapshot& s, const std::string& endpoint) {
    unsigned n = 0;
    for (const auto& shard : s.shards) {
        if (auto it = shard.recent_closes.find(endpoint); it != shard.recent_closes.end())
            n += it->second;
    }
    return n;
}

bool registered_on(const ConnectionSample& c, const DeviceSample* d) {
    return c.session.registered || (d && d->registered && d->connection == c.session.info.id);
}

std::optional<std::uint64_t> parse_id(std::string_view target) {
    constexpr std::string_view prefix = "id:";
    if (!target.starts_with(prefix)) return std::nullopt;
    std::uint64_t id = 0;
    const char* first = target.data() + prefix.size();
    const char* last = target.data() + target.size();
    auto [end, ec] = std::from_chars(first, last, id);
    if (ec != std::errc() || end != last || first == last) return std::nullopt;
    return id;
}

// The connection of `endpoint` the API talks about: the relay's current one, else the newest.
const ConnectionSample* connection_of(const Snapshot& s, const std::string& endpoint,
                                      const DeviceSample* device) {
    const ConnectionSample* best = nullptr;
    for (const auto& shard : s.shards) {
        for (const auto& c : shard.connections) {
            if (c.endpoint != endpoint) continue;
            if (device && device->connection == c.session.info.id) return &c;
            if (!best || c.session.info.connected_since > best->session.info.connected_since)
                best = &c;
        }
    }
    return best;
}

const ConnectionSample* connection_by_id(const Snapshot& s, std::uint64_t id) {
    for (const auto& shard : s.shards)
        for (const auto& c : shard.connections)
            if (c.session.info.id == id) return &c;
    return nullptr;
}

}  // namespace

double rounded(double value) {
    return std::round(value * 1000.0) / 1000.0;
}

double seconds_between(TimePoint from, TimePoint to) {
    return rounded(std::chrono::duration<double>(to - from).count());
}

std::string iso8601(WallClock::time_point at) {
    const std::time_t t = WallClock::to_time_t(at);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

namespace {

// Every row, unsorted: O(connections + devices), pointers into the snapshot only.
std::vector<Row> collect_rows(const Snapshot& s) {
    const auto devices = devices_by_endpoint(s);
    std::size_t connections = 0;
    for (const auto& shard : s.shards)
        connections += shard.connections.size();
    std::vector<Row> rows;
    rows.reserve(connections + devices.size());
    std::unordered_set<std::uint64_t> live;
    live.reserve(connections);
    for (const auto& shard : s.shards) {
        for (const auto& c : shard.connections) {
            live.insert(c.session.info.id);
            Row row;
            row.connection = &c;
            if (c.endpoint) {
                row.endpoint = &*c.endpoint;
                if (auto it = devices.find(*c.endpoint); it != devices.end())
                    row.device = it->second;
            }
            row.state = classify(c.session, registered_on(c, row.device), s.now);
            rows.push_back(row);
        }
    }
    for (const auto& shard : s.shards) {
        for (const auto& d : shard.devices) {
            if (!d.registered || (d.connection && live.count(*d.connection))) continue;
            Row row;
            row.device = &d;
            row.endpoint = &d.endpoint;
            row.state = classify_absent(d.queue_mode);
            rows.push_back(row);
        }
    }
    for (auto& row : rows) {
        if (row.endpoint) row.flapping = recent_closes(s, *row.endpoint) >= flapping_closes;
    }
    return rows;
}

// A type rather than a function, so that the sorts inline the comparison.
struct ByKey {
    bool operator()(const Row& a, const Row& b) const { return key_of(a) < key_of(b); }
};
constexpr ByKey by_key;

}  // namespace

RowKey key_of(const Row& row) {
    return {row.endpoint ? std::string_view(*row.endpoint) : std::string_view(),
            row.connection ? row.connection->session.info.id : 0};
}

std::vector<Row> build_rows(const Snapshot& s) {
    auto rows = collect_rows(s);
    std::sort(rows.begin(), rows.end(), by_key);
    return rows;
}

Result<Filter, Error> parse_filter(const std::multimap<std::string, std::string>& query) {
    Filter f;
    for (const auto& [key, value] : query) {
        if (key == "state") {
            f.state = parse_state(value);
            if (!f.state) {
                return fail(Error{AdminErrc::bad_parameter_value, "unknown state '" + value + "'"});
            }
        } else if (key == "endpoint") {
            f.endpoint_prefix = value;
        } else if (key == "transport") {
            if (value == "tcp") {
                f.transport = session::Transport::tcp;
            } else if (value == "tls") {
                f.transport = session::Transport::tls;
            } else {
                return fail(Error{AdminErrc::bad_parameter_value,
                                  "transport must be tcp or tls, got '" + value + "'"});
            }
        } else if (key == "remote") {
            f.remote_prefix = value;
        } else {
            return fail(
                Error{AdminErrc::unknown_parameter, "unknown query parameter '" + key + "'"});
        }
    }
    return f;
}

namespace {

constexpr std::string_view base64url_digits =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64url(std::string_view bytes) {
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::uint32_t bits = 0;
    int held = 0;
    for (unsigned char b : bytes) {
        bits = (bits << 8) | b;
        held += 8;
        while (held >= 6) {
            held -= 6;
            out += base64url_digits[(bits >> held) & 0x3f];
        }
    }
    if (held > 0) out += base64url_digits[(bits << (6 - held)) & 0x3f];
    return out;
}

// Unpadded base64url; nullopt for a character outside the alphabet, an impossible length or
// bits left over (so that every name has exactly one spelling).
std::optional<std::string> from_base64url(std::string_view text) {
    if (text.size() % 4 == 1) return std::nullopt;
    std::string out;
    std::uint32_t bits = 0;
    int held = 0;
    for (char c : text) {
        const auto digit = base64url_digits.find(c);
        if (digit == std::string_view::npos) return std::nullopt;
        bits = (bits << 6) | static_cast<std::uint32_t>(digit);
        held += 6;
        if (held >= 8) {
            held -= 8;
            out += static_cast<char>((bits >> held) & 0xff);
        }
    }
    if ((bits & ((1u << held) - 1)) != 0) return std::nullopt;
    return out;
}

// The whole of `text` as a decimal number (no sign, no blanks); nullopt otherwise or on overflow.
std::optional<std::uint64_t> decimal(std::string_view text) {
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

Error bad_value(std::string detail) {
    return Error{AdminErrc::bad_parameter_value, std::move(detail)};
}

std::optional<Error> parse_limit(const std::string& value, std::size_t& limit) {
    const auto n = decimal(value);
    if (!n || *n < 1 || *n > max_page_limit)
        return bad_value("limit must be an integer from 1 to " + std::to_string(max_page_limit) +
                         ", got '" + value + "'");
    limit = static_cast<std::size_t>(*n);
    return std::nullopt;
}

}  // namespace

std::string encode_cursor(RowKey key) {
    return base64url(key.endpoint) + "." + std::to_string(key.id);
}

std::optional<Cursor> decode_cursor(std::string_view text) {
    const auto dot = text.find('.');
    if (dot == std::string_view::npos) return std::nullopt;
    auto endpoint = from_base64url(text.substr(0, dot));
    const auto id = decimal(text.substr(dot + 1));
    if (!endpoint || !id) return std::nullopt;
    return Cursor{std::move(*endpoint), *id};
}

Result<ListQuery, Error> parse_list_query(const std::multimap<std::string, std::string>& query) {
    ListQuery out;
    std::multimap<std::string, std::string> filters;
    for (const auto& [key, value] : query) {
        if (key != "limit" && key != "after") {
            filters.emplace(key, value);
        } else if (query.count(key) > 1) {
            return fail(bad_value(key + " may be given once"));
        } else if (key == "limit") {
            if (auto error = parse_limit(value, out.page.limit)) return fail(std::move(*error));
        } else {
            out.page.after = decode_cursor(value);
            if (!out.page.after)
                return fail(
                    bad_value("after must be the `next` of a previous page, got '" + value + "'"));
        }
    }
    auto filter = parse_filter(filters);
    if (!filter) return fail(std::move(filter.error()));
    out.filter = std::move(*filter);
    return out;
}

bool matches(const Row& row, const Filter& f) {
    if (f.state && row.state != *f.state) return false;
    if (!f.endpoint_prefix.empty() &&
        (!row.endpoint || row.endpoint->rfind(f.endpoint_prefix, 0) != 0))
        return false;
    if (f.transport && (!row.connection || row.connection->session.info.transport != *f.transport))
        return false;
    if (!f.remote_prefix.empty() &&
        (!row.connection || row.connection->session.info.remote.rfind(f.remote_prefix, 0) != 0))
        return false;
    return true;
}

json row_json(const Row& row, const Snapshot& s) {
    json j;
    const auto* c = row.connection;
    const auto* d = row.device;
    j["id"] = c ? json(c->session.info.id) : json(nullptr);
    j["endpoint"] = row.endpoint ? json(*row.endpoint) : json(nullptr);
    j["state"] = to_string(row.state);
    j["transport"] = c ? json(session::to_string(c->session.info.transport)) : json(nullptr);
    j["remote"] = c ? json(c->session.info.remote) : json(nullptr);
    j["connected_seconds"] =
        c ? json(seconds_between(c->session.info.connected_since, s.now)) : json(nullptr);
    j["idle_seconds"] = c ? json(seconds_between(c->session.last_rx, s.now)) : json(nullptr);
    const auto& rtts = c ? c->session.keepalive.recent_rtts : std::vector<session::Rtt>{};
    j["last_rtt_seconds"] = rtts.empty() ? json(nullptr) : json(seconds_of(rtts.back()));
    j["registered"] = c ? registered_on(*c, d) : (d && d->registered);
    j["queue_mode"] = d ? d->queue_mode : false;
    j["queued"] = d ? d->queued : 0;
    j["observations"] = d ? d->observations.size() : 0;
    j["shard"] = c ? c->shard : (d ? d->shard : 0);
    j["flapping"] = row.flapping;
    return j;
}

json connections_json(const Snapshot& s, const Filter& filter) {
    return connections_json(s, filter, Page{});
}

// One page in O(n + k log k) for n rows and a page of k: the rows are collected once (pointers,
// unsorted), filtered and cut at the cursor in one pass, and only the k first of what is left
// are ordered (nth_element, then a sort of k), so a page of a million devices sorts 1000 rows,
// not a million; the snapshot itself is the one copy of the connections.
json connections_json(const Snapshot& s, const Filter& filter, const Page& page) {
    auto rows = collect_rows(s);
    std::size_t total = 0;
    const auto after = page.after ? std::optional<RowKey>(page.after->key()) : std::nullopt;
    std::erase_if(rows, [&](const Row& row) {
        if (!matches(row, filter)) return true;
        ++total;
        return after && !(*after < key_of(row));
    });
    const std::size_t limit = std::max<std::size_t>(page.limit, 1);
    const bool more = rows.size() > limit;
    if (more) {
        std::nth_element(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(limit),
                         rows.end(), by_key);
        rows.resize(limit);
    }
    std::sort(rows.begin(), rows.end(), by_key);
    json list = json::array();
    for (const auto& row : rows)
        list.push_back(row_json(row, s));
    json out;
    out["count"] = list.size();
    out["total"] = total;
    out["connections"] = std::move(list);
    out["next"] = more ? json(encode_cursor(key_of(rows.back()))) : json(nullptr);
    return out;
}

namespace {

// What GET /v1/connections/{target} describes: a connection, the device's record, or both.
struct DetailTarget {
    const ConnectionSample* connection = nullptr;
    const DeviceSample* device = nullptr;
    std::optional<std::string> endpoint;
};

std::optional<DetailTarget> resolve_detail_target(const Snapshot& s,
                                                  const ConnectionTarget& target) {
    const auto devices = devices_by_endpoint(s);
    DetailTarget t;
    if (const auto id = target.id) {
        t.connection = connection_by_id(s, *id);
        if (!t.connection) return std::nullopt;
        t.endpoint = t.connection->endpoint;
        if (t.endpoint) {
            if (auto it = devices.find(*t.endpoint); it != devices.end()) t.device = it->second;
        }
        return t;
    }
    t.endpoint = target.text;
    if (auto it = devices.find(target.text); it != devices.end()) t.device = it->second;
    t.connection = connection_of(s, target.text, t.device);
    if (!t.connection && !(t.device && t.device->registered)) return std::nullopt;
    return t;
}

json connection_part_json(const ConnectionSample& c, const Snapshot& s) {
    const auto& info = c.session.info;
    return {
        {"id", info.id},
        {"transport", session::to_string(info.transport)},
        {"remote", info.remote},
        {"local", info.local},
        {"connected_seconds", seconds_between(info.connected_since, s.now)},
        {"idle_seconds", seconds_between(c.session.last_rx, s.now)},
        {"last_tx_seconds", c.session.last_tx == TimePoint{}
                                ? json(nullptr)
                                : json(seconds_between(c.session.last_tx, s.now))},
        {"psk_identity", info.psk_identity},
        {"certificate_cn", info.peer_certificate},
        {"bytes_in", c.session.bytes_in},
        {"bytes_out", c.session.bytes_out},
        {"messages_in", c.session.messages_in},
        {"messages_out", c.session.messages_out},
        {"shard", c.shard},
    };
}

// What keeping this device reachable cost so far, and would cost a day if it sent nothing else.
// The day's projection takes this connection's mean Ping and Pong once it exchanged any, else
// the frames lwgate sends first (a 1-byte token: 3 bytes each).
json keepalive_wire_json(const session::KeepaliveSnapshot& k) {
    const auto& t = k.traffic;
    const std::uint64_t frames = t.frames_in + t.frames_out;
    const auto mean_frame =
        frames == 0 ? std::uint32_t{3}
                    : static_cast<std::uint32_t>((t.bytes_in + t.bytes_out + frames / 2) / frames);
    return {
        {"frames_in", t.frames_in},
        {"frames_out", t.frames_out},
        {"frame_bytes_in", t.bytes_in},
        {"frame_bytes_out", t.bytes_out},
        {"wire_bytes_estimated", session::estimate_wire_bytes(t, k.tls_record_overhead)},
        {"idle_wire_bytes_per_day_estimated",
         session::idle_wire_bytes_per_day(k.idle, mean_frame, mean_frame, k.tls_record_overhead)},
    };
}

json keepalive_json(const session::KeepaliveSnapshot& k) {
    json rtts = json::array();
    for (auto r : k.recent_rtts)
        rtts.push_back(seconds_of(r));
    const auto seconds = [](Duration d) { return static_cast<double>(d.count()) / 1000.0; };
    return {
        {"idle_timeout_seconds", seconds(k.idle)},
        {"pong_timeout_seconds", seconds(k.pong_timeout)},
        {"max_missed", k.max_missed},
        {"pings_sent", k.pings_sent},
        {"pongs_received", k.pongs_received},
        {"missed", k.missed_total},
        {"missed_in_a_row", k.missed},
        {"awaiting_pong", k.awaiting_pong},
        {"last_rtts_seconds", std::move(rtts)},
        {"wire", keepalive_wire_json(k)},
    };
}

json registration_json(const DeviceSample& d, const Snapshot& s) {
    json expires = nullptr;
    if (d.registration_deadline != never)
        expires = std::max(0.0, seconds_between(s.now, d.registration_deadline));
    return {
        {"location", d.location},
        {"lifetime_seconds", d.lifetime ? json(*d.lifetime) : json(nullptr)},
        {"expires_in_seconds", expires},
        {"binding", d.binding},
        {"lwm2m_version", d.version},
        {"queue_mode", d.queue_mode},
        {"upstream_local_port", d.upstream_local_port},
        {"shard", d.shard},
    };
}

json observations_json(const DeviceSample* d) {
    json observations = json::array();
    if (!d) return observations;
    for (const auto& o : d->observations) {
        observations.push_back({{"path", o.path},
                                {"core_token", hex(o.core_token)},
                                {"observe_number", o.observe_number},
                                {"active", o.active},
                                {"notifications", o.notifications}});
    }
    return observations;
}

// The newest few closes of `endpoint` across shards, oldest first.
json recent_closes_json(const Snapshot& s, const std::optional<std::string>& endpoint) {
    std::vector<const CloseRecord*> closes;
    if (endpoint) {
        for (const auto& shard : s.shards) {
            if (auto it = shard.closes.find(*endpoint); it != shard.closes.end())
                for (const auto& r : it->second)
                    closes.push_back(&r);
        }
    }
    std::sort(closes.begin(), closes.end(),
              [](const CloseRecord* a, const CloseRecord* b) { return a->at < b->at; });
    constexpr std::size_t shown = 8;
    if (closes.size() > shown) closes.erase(closes.begin(), closes.end() - shown);
    json recent = json::array();
    for (const auto* r : closes) {
        recent.push_back({{"at", iso8601(r->at)},
                          {"reason", std::string(session::to_string(r->reason))},
                          {"detail", r->detail},
                          {"expected", r->expected}});
    }
    return recent;
}

}  // namespace

namespace {

// Cluster mode: this instance when one of its shards owns the endpoint (with the fencing
// epoch), otherwise not known here (another instance, or a move under way).
json owner_json(const Snapshot& s) {
    for (const auto& shard : s.shards) {
        if (shard.owner_epoch)
            return {
                {"instance", s.cluster.instance}, {"epoch", *shard.owner_epoch}, {"self", true}};
    }
    return {{"instance", nullptr}, {"epoch", nullptr}, {"self", false}};
}

}  // namespace

std::optional<json> connection_detail_json(const Snapshot& s, const ConnectionTarget& target) {
    const auto t = resolve_detail_target(s, target);
    if (!t) return std::nullopt;
    const ConnectionSample* c = t->connection;
    const DeviceSample* d = t->device;
    const auto& endpoint = t->endpoint;

    json j;
    j["endpoint"] = endpoint ? json(*endpoint) : json(nullptr);
    j["state"] = to_string(c ? classify(c->session, registered_on(*c, d), s.now)
                             : classify_absent(d && d->queue_mode));
    j["flapping"] = endpoint && recent_closes(s, *endpoint) >= flapping_closes;
    j["connection"] = c ? connection_part_json(*c, s) : json(nullptr);
    j["keepalive"] = c ? keepalive_json(c->session.keepalive) : json(nullptr);
    j["registration"] = d && d->registered ? registration_json(*d, s) : json(nullptr);
    j["queue"] = {{"queued", d ? d->queued : 0}, {"in_flight", d ? d->in_flight : 0}};
    j["observations"] = observations_json(d);
    j["recent_closes"] = recent_closes_json(s, endpoint);
    if (s.cluster.enabled && endpoint) j["owner"] = owner_json(s);
    return j;
}

ConnectionTarget::ConnectionTarget(std::string segment, bool by_endpoint)
    : text(std::move(segment)), id(by_endpoint ? std::nullopt : parse_id(text)) {}

std::variant<ConnectionRef, LookupError> find_connection(const Snapshot& s,
                                                         const ConnectionTarget& target) {
    if (const auto id = target.id) {
        if (const auto* c = connection_by_id(s, *id)) return ConnectionRef{c->shard, *id};
        return LookupError::unknown;
    }
    const auto devices = devices_by_endpoint(s);
    const DeviceSample* d = nullptr;
    if (auto it = devices.find(target.text); it != devices.end()) d = it->second;
    if (const auto* c = connection_of(s, target.text, d))
        return ConnectionRef{c->shard, c->session.info.id};
    return d ? LookupError::no_connection : LookupError::unknown;
}

}  // namespace lwgate::admin
