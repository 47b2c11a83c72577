// Admin API JSON -> human text. Pure: every function takes the parsed body and returns text, and
// tolerates missing fields, nulls and wrong types (shown as "-"), so a newer or older gateway never
// makes lwgatectl crash.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "format.hpp"

namespace lwgate::ctl {

// GET /v1/health: a few lines (status, reasons, counts, listeners, core).
std::string render_health(const nlohmann::json& health);
// The `status` field, or "" when it is missing.
std::string health_status(const nlohmann::json& health);

// One table row per ROW of GET /v1/connections, in the API's order.
std::vector<std::string> connection_row(const nlohmann::json& row);
Table connections_table(const nlohmann::json& body);
// "3 connection(s)" plus a count per state, e.g. "3 connection(s): 2 active, 1 sleeping". A page
// with a `next` says there is more: "... (more pages; 5234 in all)".
std::string connections_summary(const nlohmann::json& body);

// The rows of several pages of GET /v1/connections counted by state, for one summary line.
class ConnectionTally {
  public:
    void add(const nlohmann::json& page);
    // As connections_summary() for one page holding every row.
    std::string summary() const;

  private:
    std::size_t rows_ = 0;
    std::map<std::string, std::size_t> by_state_;
};

// GET /v1/connections/{endpoint}: everything known about one device, as key/value blocks.
std::string render_device(const nlohmann::json& device);

// GET /v1/cluster: this instance, its lease, Redis, ownership and moves as key/value lines, then
// one row per instance lease in Redis ("not clustered" when the gateway is a single instance).
std::string render_cluster(const nlohmann::json& cluster);

// POST .../ping: "pong from dev-1 in 0.38ms".
std::string render_ping(const std::string& endpoint, const nlohmann::json& body);

// {"error":"..."} -> its text; any other body -> "" .
std::string error_text(const nlohmann::json& body);

}  // namespace lwgate::ctl
