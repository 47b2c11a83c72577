// The admin API without its HTTP plumbing: the bearer-token check, routing and every operation
// against a Backend. No sockets, threads or timers of its own, so the unit tests drive it with
// a fake Backend; AdminServer carries it over HTTP. Every answer is JSON except /metrics; every
// error is {"error": "..."}.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "admin/backend.hpp"
#include "log/security_log.hpp"
#include "admin/router.hpp"

namespace lwgate::admin {

struct Reply {
    int status = 200;
    std::string body;
    std::string content_type = "application/json";
    bool challenge = false;                                    // 401: add WWW-Authenticate: Bearer
    std::string allow;                                         // 405: the Allow header
    std::vector<std::pair<std::string, std::string>> headers;  // more fields (the status page's)
};

struct ApiRequest {
    std::string method;
    std::string path;                               // as sent: percent-encoded, no query
    std::multimap<std::string, std::string> query;  // decoded
    std::string body;
    std::string client;  // "127.0.0.1:54321", for the log
};

// An answer that comes later through handle()'s `later` (a Ping waits for its Pong). When it
// has not come within `deadline`, the device's shard did not answer: `fallback` is the answer.
struct Deferred {
    Duration deadline;
    Reply fallback;
};

class Api {
  public:
    Api(std::string token, Backend& backend) : token_(std::move(token)), backend_(backend) {}

    // The 401 for a request whose Authorization header does not carry the token; nullopt when
    // it does or no token is configured. Cheap: checked before the body is read.
    std::optional<Reply> refuse(std::string_view authorization) const;
    // A refused request in the security log: who (`client`, "ADDRESS:PORT"), what and why, as a
    // refused device identity is, within the same kind of budget (someone guessing the token
    // must not fill the disk). Called by the server, whose threads share the budget.
    void log_unauthorized(std::string_view client, std::string_view method,
                          std::string_view path, std::string_view why, TimePoint now);

    // Health and metrics: what monitoring polls, answered apart from operators' requests.
    static bool is_probe(std::string_view method, std::string_view path);
    // A body limit above the server's default, for the one route that takes large bodies (a
    // credentials import); nullopt for every other. Asked once the token is checked.
    static std::optional<std::uint64_t> body_limit(std::string_view method, std::string_view path);
    // False for the status page only (router's needs_token()): refuse() is not asked for it.
    static bool needs_token(std::string_view method, std::string_view path);

    // The answer to an authorised request, now (blocking while the Backend collects, up to its
    // deadline), or Deferred: then `later` runs once, from any thread, with the answer.
    std::variant<Reply, Deferred> handle(const ApiRequest& request,
                                         std::function<void(Reply)> later);

  private:
    Reply operation(const ApiRequest& request, const Route& route);

    std::string token_;
    Backend& backend_;
    std::mutex unauthorized_mutex_;
    logging::SecurityLog unauthorized_log_;
};

// JSON text for an answer. Invalid UTF-8 in a string (an endpoint name restored from an old
// store, a percent-decoded path) becomes U+FFFD: nlohmann's dump() would throw, and every
// caller of that view would get a 500.
std::string dump_json(const nlohmann::json& value);

Reply json_reply(int status, const nlohmann::json& body);
Reply error_reply(int status, std::string message);

}  // namespace lwgate::admin
