#include "admin/api.hpp"

#include <cmath>
#include <memory>

#include <spdlog/spdlog.h>

#include "admin/auth.hpp"
#include "admin/cluster_view.hpp"
#include "admin/credentials_api.hpp"
#include "admin/health.hpp"
#include "admin/json_views.hpp"
#include "admin/metrics_text.hpp"
#include "admin/openapi.hpp"
#include "admin/reload_result.hpp"
#include "admin/router.hpp"
#include "admin/status_page.hpp"
#include "log/operator_log.hpp"

namespace lwgate::admin {

using nlohmann::json;

namespace {

constexpr Duration default_ping_timeout{5'000};
constexpr Duration max_ping_timeout{60'000};
// How long a shard may take to start a Ping or hand back its answer, past the Ping's own
// timeout (a busy shard), as AdminBackend waits for a collection.
constexpr Duration shard_margin{2'000};

// An optional JSON object body; nullopt when it is something else.
std::optional<json> parse_body(const std::string& body) {
    if (body.find_first_not_of(" \t\r\n") == std::string::npos) return json::object();
    auto parsed = json::parse(body, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) return std::nullopt;
    return parsed;
}

std::optional<std::uint64_t> unsigned_field(const json& body, const char* key, std::uint64_t max,
                                            std::string& error) {
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) return std::nullopt;
    if (!it->is_number_unsigned() || it->get<std::uint64_t>() > max) {
        error = std::string(key) + " must be an integer from 0 to " + std::to_string(max);
        return std::nullopt;
    }
    return it->get<std::uint64_t>();
}

// A duration in seconds (a JSON number, fractions allowed) from 0 to `max`, to the millisecond.
std::optional<Duration> seconds_field(const json& body, const char* key, Duration max,
                                      std::string& error) {
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) return std::nullopt;
    const double max_seconds = static_cast<double>(max.count()) / 1000.0;
    if (!it->is_number() || it->get<double>() < 0 || it->get<double>() > max_seconds) {
        error =
            std::string(key) + " must be a number of seconds from 0 to " + json(max_seconds).dump();
        return std::nullopt;
    }
    return Duration(static_cast<Duration::rep>(std::llround(it->get<double>() * 1000.0)));
}

// The arguments of ping and release in the body, checked before the device is looked up: a bad
// request is 400 whatever state the device is in.
struct DeviceArgs {
    Duration timeout = default_ping_timeout;
    std::optional<std::string> alternative;
    std::optional<std::uint32_t> hold_off;
};

std::variant<DeviceArgs, Reply> device_args(Op op, const std::string& body) {
    const auto parsed = parse_body(body);
    if (!parsed) return error_reply(400, "the body must be a JSON object");
    const auto& args = *parsed;
    DeviceArgs out;
    std::string error;
    auto timeout = seconds_field(args, "timeout_seconds", max_ping_timeout, error);
    // timeout_ms: the name before every duration of the API was in seconds; still understood.
    if (!timeout && error.empty()) {
        if (const auto ms = unsigned_field(
                args, "timeout_ms", static_cast<std::uint64_t>(max_ping_timeout.count()), error))
            timeout = Duration(*ms);
    }
    if (op == Op::ping && timeout && *timeout > Duration::zero()) out.timeout = *timeout;
    if (op == Op::release) {
        if (auto it = args.find("alternative_address"); it != args.end() && !it->is_null()) {
            if (!it->is_string() || it->get<std::string>().empty() ||
                it->get<std::string>().size() > 255)
                return error_reply(400, "alternative_address must be a URI of 1 to 255 bytes");
            out.alternative = it->get<std::string>();
        }
        if (auto v = unsigned_field(args, "hold_off_seconds", 0xffffffffu, error))
            out.hold_off = static_cast<std::uint32_t>(*v);
    }
    if (!error.empty()) return error_reply(400, error);
    return out;
}

Reply ping_timed_out(Duration timeout) {
    return error_reply(
        504, "no Pong within " + json(static_cast<double>(timeout.count()) / 1000.0).dump() + " s");
}

Reply ping_reply(const std::string& target, const ConnectionRef& ref, Duration timeout,
                 const std::optional<session::AdminPingResult>& result) {
    using Outcome = session::AdminPingResult::Outcome;
    if (!result || result->outcome == Outcome::closed)
        return error_reply(409, target + " has no connection");
    if (result->outcome == Outcome::timeout) return ping_timed_out(timeout);
    const double rtt_seconds =
        static_cast<double>(
            std::chrono::duration_cast<std::chrono::microseconds>(result->rtt).count()) /
        1e6;
    return json_reply(200, json{{"rtt_seconds", rtt_seconds}, {"id", ref.id}});
}

// The arguments and the connection of a per-connection operation, or the error answer.
using Located = std::variant<std::pair<DeviceArgs, ConnectionRef>, Reply>;

Located locate(Backend& backend, const ConnectionTarget& target, Op op, const std::string& body) {
    auto checked = device_args(op, body);
    if (auto* reply = std::get_if<Reply>(&checked)) return *reply;
    auto snapshot = backend.collect({true, true, false, std::nullopt});
    auto found = find_connection(snapshot, target);
    if (auto* lookup = std::get_if<LookupError>(&found)) {
        if (*lookup == LookupError::no_connection)
            return error_reply(409, target.text + " has no connection");
        return error_reply(404, "no connection or registration for " + target.text);
    }
    return std::pair{std::get<DeviceArgs>(checked), std::get<ConnectionRef>(found)};
}

// POST /v1/connections/{target}/ping answers later: no thread waits for the device.
std::variant<Reply, Deferred> ping(Backend& backend, const ConnectionTarget& target,
                                   const std::string& body, std::function<void(Reply)> later) {
    auto located = locate(backend, target, Op::ping, body);
    if (auto* reply = std::get_if<Reply>(&located)) return *reply;
    const auto [args, ref] = std::get<std::pair<DeviceArgs, ConnectionRef>>(located);
    backend.start_ping(ref.shard, ref.id, args.timeout,
                       [later = std::move(later), target = target.text, ref = ref,
                        timeout = args.timeout](std::optional<session::AdminPingResult> result) {
                           later(ping_reply(target, ref, timeout, result));
                       });
    return Deferred{args.timeout + shard_margin, ping_timed_out(args.timeout)};
}

// What a release or close was asked to do, for the operator log.
std::string action_detail(const DeviceArgs& args, const ConnectionRef& ref) {
    std::string out = "conn " + std::to_string(ref.id);
    if (args.hold_off) out += ", hold_off_seconds " + std::to_string(*args.hold_off);
    if (args.alternative) out += ", alternative_address " + *args.alternative;
    return out;
}

// POST /v1/connections/{target}/release or /close.
Reply release_or_close(Backend& backend, const ConnectionTarget& target, Op op,
                       const ApiRequest& request) {
    auto located = locate(backend, target, op, request.body);
    if (auto* reply = std::get_if<Reply>(&located)) return *reply;
    const auto& [args, ref] = std::get<std::pair<DeviceArgs, ConnectionRef>>(located);
    const bool release = op == Op::release;
    const bool acted = release ? backend.release(ref.shard, ref.id, args.alternative, args.hold_off)
                               : backend.close(ref.shard, ref.id);
    if (!acted) return error_reply(409, target.text + " has no connection");
    logging::log_operator_action(request.client, release ? "release" : "close", target.text,
                                 action_detail(args, ref));
    return json_reply(202, json{{release ? "released" : "closed", true}, {"id", ref.id}});
}

// GET /v1/connections/{target}.
Reply connection_detail(Backend& backend, const ConnectionTarget& target) {
    std::optional<std::string> endpoint;
    if (target.id) {
        // The endpoint of a connection is known only after a first look.
        auto first = backend.collect({true, false, false, std::nullopt});
        for (const auto& shard : first.shards)
            for (const auto& c : shard.connections)
                if (c.session.info.id == *target.id) endpoint = c.endpoint;
    } else {
        endpoint = target.text;
    }
    auto snapshot = backend.collect({true, true, endpoint.has_value(), endpoint});
    auto detail = connection_detail_json(snapshot, target);
    if (!detail) return error_reply(404, "no connection or registration for " + target.text);
    return json_reply(200, *detail);
}

// `answer` of the {target} of /v1/connections/{target}[/verb] read with its ?by=, or the 400
// answer to a bad ?by=.
template <class Answer>
auto with_connection_target(const Route& r, const ApiRequest& request, Answer&& answer)
    -> decltype(answer(std::declval<const ConnectionTarget&>())) {
    const auto by = request.query.find("by");
    if (by == request.query.end()) return answer(ConnectionTarget(r.target));
    if (by->second != "endpoint")
        return error_reply(400,
                           "by must be endpoint (the target is an endpoint name, even one "
                           "that reads id:N)");
    return answer(ConnectionTarget(r.target, true));
}

// POST /v1/reload: the SIGHUP reload, or with {"dry_run": true} only what it would do.
Reply reload(Backend& backend, const ApiRequest& request) {
    const auto body = parse_body(request.body);
    if (!body) return error_reply(400, "the body must be a JSON object");
    bool dry_run = false;
    if (auto it = body->find("dry_run"); it != body->end() && !it->is_null()) {
        if (!it->is_boolean()) return error_reply(400, "dry_run must be true or false");
        dry_run = it->get<bool>();
    }
    // Like a drain, a reload changes the running gateway: the log says on whose request.
    if (!dry_run) spdlog::info("reload requested through the admin API by {}", request.client);
    const auto result = backend.reload(!dry_run);
    return json_reply(reload_http_status(result), reload_json(result));
}

}  // namespace

std::string dump_json(const json& value) {
    return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

Reply json_reply(int status, const json& body) {
    return {status, dump_json(body), "application/json", false, {}, {}};
}

Reply error_reply(int status, std::string message) {
    return json_reply(status, json{{"error", std::move(message)}});
}

std::optional<Reply> Api::refuse(std::string_view authorization) const {
    if (authorized(authorization, token_)) return std::nullopt;
    auto reply =
        error_reply(401, authorization.empty() ? "missing bearer token" : "wrong bearer token");
    reply.challenge = true;
    return reply;
}

void Api::log_unauthorized(std::string_view client, std::string_view method, std::string_view path,
                           std::string_view why, TimePoint now) {
    const std::string detail = std::string(why) + " (" + std::string(method) + " " +
                               std::string(path.substr(0, 200)) + ")";
    std::lock_guard lock(unauthorized_mutex_);
    unauthorized_log_.refused({.reason = "admin_unauthorized", .remote = client, .detail = detail},
                              now);
}

std::optional<std::uint64_t> Api::body_limit(std::string_view method, std::string_view path) {
    if (route(method, path).op == Op::credential_import) return max_import_body_bytes;
    return std::nullopt;
}

bool Api::is_probe(std::string_view method, std::string_view path) {
    const auto op = route(method, path).op;
    return op == Op::health || op == Op::metrics;
}

bool Api::needs_token(std::string_view method, std::string_view path) {
    return admin::needs_token(route(method, path).op);
}

std::variant<Reply, Deferred> Api::handle(const ApiRequest& request,
                                          std::function<void(Reply)> later) {
    try {
        const Route r = route(request.method, request.path);
        if (r.op == Op::ping) {
            return with_connection_target(r, request, [&](const ConnectionTarget& target) {
                return ping(backend_, target, request.body, std::move(later));
            });
        }
        return operation(request, r);
    } catch (const std::exception& e) {
        spdlog::error("admin {} {}: {}", request.method, request.path, e.what());
        return error_reply(500, std::string("internal error: ") + e.what());
    }
}

Reply Api::operation(const ApiRequest& request, const Route& r) {
    const auto& path = request.path;
    if (is_credential_op(r.op)) return credentials_operation(backend_, request, r);
    switch (r.op) {
        case Op::not_found:
            return error_reply(404, "no such resource: " + path);
        case Op::method_not_allowed: {
            auto reply = error_reply(405, request.method + " is not allowed on " + path);
            reply.allow = r.allow;
            return reply;
        }
        case Op::health: {
            // Counts only: a health check must stay cheap for the shards with many devices.
            auto snapshot = backend_.collect({false, false, false, std::nullopt});
            const auto health = evaluate_health(snapshot);
            return json_reply(health.status == "failing" ? 503 : 200,
                              health_json(snapshot, health));
        }
        case Op::metrics: {
            auto snapshot = backend_.collect({true, true, false, std::nullopt});
            return {
                200, metrics_text(snapshot), "text/plain; version=0.0.4; charset=utf-8", false, {},
                {}};
        }
        case Op::connections: {
            // Checked before the collection: a bad query costs the shards nothing.
            auto list = parse_list_query(request.query);
            if (!list) return error_reply(400, list.error().detail);
            auto snapshot = backend_.collect({true, true, false, std::nullopt});
            return json_reply(200, connections_json(snapshot, list->filter, list->page));
        }
        case Op::connection:
            return with_connection_target(r, request, [&](const ConnectionTarget& target) {
                return connection_detail(backend_, target);
            });
        case Op::cluster: {
            // Counts only, and the instance leases in Redis when clustered.
            auto snapshot = backend_.collect({false, false, false, std::nullopt});
            if (!snapshot.cluster.enabled) return json_reply(200, cluster_json(snapshot, nullptr));
            const auto instances = backend_.cluster_instances();
            return json_reply(200, cluster_json(snapshot, &instances));
        }
        case Op::openapi:
            return {200, openapi_text(), "application/json", false, {}, {}};
        case Op::status_page:
            return status_page_reply();
        case Op::drain:
            // The gateway stops: the log must say on whose request (the gateway says why).
            logging::log_operator_action(request.client, "drain", {}, {}, spdlog::level::warn);
            backend_.drain();
            return json_reply(202, json{{"draining", true}});
        case Op::reload:
            return reload(backend_, request);
        case Op::release:
        case Op::close:
            return with_connection_target(r, request, [&](const ConnectionTarget& target) {
                return release_or_close(backend_, target, r.op, request);
            });
        case Op::credentials:  // answered above (credentials_operation)
        case Op::credential:
        case Op::credential_put:
        case Op::credential_import:
        case Op::credential_remove:
        case Op::credential_rotate:
        case Op::credential_retire:
        case Op::ping:  // answered by handle(), later
            break;
    }
    return error_reply(404, "no such resource: " + path);
}

}  // namespace lwgate::admin
