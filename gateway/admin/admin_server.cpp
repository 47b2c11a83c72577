#include "admin/admin_server.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <variant>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "admin/auth.hpp"
#include "admin/health.hpp"
#include "admin/json_views.hpp"
#include "admin/metrics_text.hpp"
#include "admin/router.hpp"

namespace lwgate::admin {

using nlohmann::json;
using Reply = AdminServer::Reply;

namespace {

constexpr Duration default_ping_timeout{5'000};
constexpr Duration max_ping_timeout{60'000};

Reply json_reply(int status, const json& body) {
    return {status, body.dump(), "application/json", false, {}};
}

Reply error_reply(int status, std::string message) {
    return json_reply(status, json{{"error", std::move(message)}});
}

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
    const auto timeout_ms = unsigned_field(
        args, "timeout_ms", static_cast<std::uint64_t>(max_ping_timeout.count()), error);
    if (op == Op::ping && timeout_ms && *timeout_ms > 0) out.timeout = Duration(*timeout_ms);
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

// POST /v1/connections/{target}/ping, /release or /close.
Reply device_action(Backend& backend, const Route& r, const std::string& body) {
    auto checked = device_args(r.op, body);
    if (auto* reply = std::get_if<Reply>(&checked)) return *reply;
    const auto& args = std::get<DeviceArgs>(checked);
    auto snapshot = backend.collect({true, true, false, std::nullopt});
    auto found = find_connection(snapshot, r.target);
    if (auto* lookup = std::get_if<LookupError>(&found)) {
        if (*lookup == LookupError::no_connection)
            return error_reply(409, r.target + " has no connection");
        return error_reply(404, "no connection or registration for " + r.target);
    }
    const auto ref = std::get<ConnectionRef>(found);
    if (r.op == Op::ping) {
        auto result = backend.ping(ref.shard, ref.id, args.timeout);
        if (!result || result->outcome == session::AdminPingResult::Outcome::closed)
            return error_reply(409, r.target + " has no connection");
        if (result->outcome == session::AdminPingResult::Outcome::timeout) {
            return error_reply(504,
                               "no Pong within " + std::to_string(args.timeout.count()) + " ms");
        }
        const double rtt_ms = rounded(static_cast<double>(result->rtt.count()) / 1000.0);
        return json_reply(200, json{{"rtt_ms", rtt_ms}, {"id", ref.id}});
    }
    if (r.op == Op::release) {
        if (!backend.release(ref.shard, ref.id, args.alternative, args.hold_off))
            return error_reply(409, r.target + " has no connection");
        return json_reply(202, json{{"released", true}, {"id", ref.id}});
    }
    if (!backend.close(ref.shard, ref.id)) return error_reply(409, r.target + " has no connection");
    return json_reply(202, json{{"closed", true}, {"id", ref.id}});
}

// GET /v1/connections/{target}: an endpoint name, or id:N.
Reply connection_detail(Backend& backend, const std::string& target) {
    std::optional<std::string> endpoint;
    if (target.rfind("id:", 0) == 0) {
        // The endpoint of a connection is known only after a first look.
        auto first = backend.collect({true, false, false, std::nullopt});
        for (const auto& shard : first.shards)
            for (const auto& c : shard.connections)
                if ("id:" + std::to_string(c.session.info.id) == target) endpoint = c.endpoint;
    } else {
        endpoint = target;
    }
    auto snapshot = backend.collect({true, true, endpoint.has_value(), endpoint});
    auto detail = connection_detail_json(snapshot, target);
    if (!detail) return error_reply(404, "no connection or registration for " + target);
    return json_reply(200, *detail);
}

// "127.0.0.1:54321" or "[::1]:54321".
std::string client_address(const httplib::Request& req) {
    const bool v6 = req.remote_addr.find(':') != std::string::npos;
    return (v6 ? "[" + req.remote_addr + "]" : req.remote_addr) + ":" +
           std::to_string(req.remote_port);
}

}  // namespace

AdminServer::AdminServer(const config::AdminConfig& config, Backend& backend)
    : config_(config), backend_(backend) {}

AdminServer::~AdminServer() {
    stop();
}

std::optional<std::string> AdminServer::start() {
    server_ = std::make_unique<httplib::Server>();
    // A few workers: a Ping waiting for its Pong must not hold up health checks and scrapes.
    server_->new_task_queue = [] { return new httplib::ThreadPool(4); };
    server_->set_keep_alive_timeout(1);
    server_->set_read_timeout(5, 0);
    server_->set_write_timeout(5, 0);
    server_->set_payload_max_length(64 * 1024);
    const auto handler = [this](const httplib::Request& req, httplib::Response& res) {
        serve(req, res);
    };
    // One handler for everything: routing (404 vs 405) is ours, see router.hpp.
    server_->Get(".*", handler);
    server_->Post(".*", handler);
    server_->Put(".*", handler);
    server_->Patch(".*", handler);
    server_->Delete(".*", handler);
    server_->Options(".*", handler);
    // A request with neither Content-Length nor Transfer-Encoding has no body (RFC 9112 6.3),
    // e.g. `curl -X POST URL`. httplib 0.11 would read a POST's body until the client closes,
    // which it does not while it waits for the answer: a read timeout and a 400.
    server_->set_pre_routing_handler(
        [handler](const httplib::Request& req, httplib::Response& res) {
            if (req.has_header("Content-Length") || req.has_header("Transfer-Encoding"))
                return httplib::Server::HandlerResponse::Unhandled;
            handler(req, res);
            return httplib::Server::HandlerResponse::Handled;
        });
    // Errors httplib produces itself (e.g. 400 for a malformed request, 413) carry no body: give
    // them the API's JSON error too.
    server_->set_error_handler(
        httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
            if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
            std::string message = "HTTP " + std::to_string(res.status);
            if (res.status == 400) message += ": malformed request";
            if (res.status == 413) message += ": body too large";
            res.set_content(json{{"error", message}}.dump(), "application/json");
            return httplib::Server::HandlerResponse::Handled;
        }));
    if (config_.port == 0) {
        port_ = server_->bind_to_any_port(config_.host);
    } else {
        port_ = server_->bind_to_port(config_.host, config_.port) ? config_.port : -1;
    }
    if (port_ <= 0) {
        server_.reset();
        return "cannot bind admin.listen " + config_.listen + ": " + std::strerror(errno);
    }
    thread_ = std::thread([this] {
        server_->listen_after_bind();
        listen_returned_ = true;
    });
    // httplib's stop() does nothing until listen_after_bind() has marked the server running, so
    // a stop that came earlier (SIGTERM right after start) would leave the thread listening
    // forever and shutdown hanging in join(). Return only once the server runs.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!server_->is_running() && !listen_returned_ &&
           std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (!server_->is_running()) {
        if (listen_returned_) {
            thread_.join();
            server_.reset();
        } else {
            // Not running and not returned after 5 s: nothing can stop it; leave it be.
            thread_.detach();
            (void)server_.release();
        }
        return "admin API on " + config_.listen + " did not start";
    }
    return std::nullopt;
}

void AdminServer::stop() {
    if (!server_) return;
    server_->stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
}

std::string AdminServer::url() const {
    const bool v6 = config_.host.find(':') != std::string::npos;
    return "http://" + (v6 ? "[" + config_.host + "]" : config_.host) + ":" + std::to_string(port_);
}

void AdminServer::serve(const httplib::Request& req, httplib::Response& res) {
    Reply reply;
    try {
        // The raw path: cpp-httplib's req.path is decoded, which would turn an endpoint's %2F
        // into a path separator.
        const auto raw = std::string_view(req.target).substr(0, req.target.find('?'));
        reply = handle(req.method, std::string(raw.empty() ? req.path : raw), req.params,
                       req.get_header_value("Authorization"), req.body, client_address(req));
    } catch (const std::exception& e) {
        spdlog::error("admin {} {}: {}", req.method, req.path, e.what());
        reply = error_reply(500, std::string("internal error: ") + e.what());
    }
    res.status = reply.status;
    if (reply.challenge) res.set_header("WWW-Authenticate", "Bearer");
    if (!reply.allow.empty()) res.set_header("Allow", reply.allow);
    res.set_content(reply.body, reply.content_type.c_str());
}

Reply AdminServer::handle(const std::string& method, const std::string& path,
                          const std::multimap<std::string, std::string>& query,
                          const std::string& authorization, const std::string& body,
                          const std::string& client) {
    if (!authorized(authorization, config_.token)) {
        auto reply =
            error_reply(401, authorization.empty() ? "missing bearer token" : "wrong bearer token");
        reply.challenge = true;
        return reply;
    }
    const Route r = route(method, path);
    switch (r.op) {
        case Op::not_found:
            return error_reply(404, "no such resource: " + path);
        case Op::method_not_allowed: {
            auto reply = error_reply(405, method + " is not allowed on " + path);
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
                200, metrics_text(snapshot), "text/plain; version=0.0.4; charset=utf-8", false, {}};
        }
        case Op::connections: {
            auto filter = parse_filter(query);
            if (auto* error = std::get_if<std::string>(&filter)) return error_reply(400, *error);
            auto snapshot = backend_.collect({true, true, false, std::nullopt});
            return json_reply(200, connections_json(snapshot, std::get<Filter>(filter)));
        }
        case Op::connection:
            return connection_detail(backend_, r.target);
        case Op::drain:
            // The gateway stops: the log must say why, and on whose request.
            spdlog::warn("drain requested through the admin API by {}: stopping", client);
            backend_.drain();
            return json_reply(202, json{{"draining", true}});
        case Op::ping:
        case Op::release:
        case Op::close:
            return device_action(backend_, r, body);
    }
    return error_reply(404, "no such resource: " + path);
}

}  // namespace lwgate::admin
