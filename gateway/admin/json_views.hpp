// The JSON documents of the admin API (see helpers' admin-api-contract.md, mirrored in
// docs/operations.md, "Admin API"), built from a Snapshot. Pure:
// tests/unit/admin/json_views_test.cpp.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "admin/admin_error.hpp"
#include "admin/model.hpp"
#include "admin/state.hpp"
#include "lwgate/util/result.hpp"

namespace lwgate::admin {

// One line of GET /v1/connections: a live connection, or a registered endpoint without one.
struct Row {
    State state = State::active;
    const ConnectionSample* connection = nullptr;
    const DeviceSample* device = nullptr;
    std::optional<std::string> endpoint;
    bool flapping = false;
};

std::vector<Row> build_rows(const Snapshot& snapshot);

struct Filter {
    std::optional<State> state;
    std::string endpoint_prefix;
    std::optional<session::Transport> transport;
    std::string remote_prefix;
};
// Query parameters state, endpoint, transport, remote. An unknown parameter
// (AdminErrc::unknown_parameter) or value (bad_parameter_value) is an error; its detail is the
// 400's message.
Result<Filter, Error> parse_filter(const std::multimap<std::string, std::string>& query);
bool matches(const Row& row, const Filter& filter);

nlohmann::json row_json(const Row& row, const Snapshot& snapshot);
nlohmann::json connections_json(const Snapshot& snapshot, const Filter& filter);

// GET /v1/connections/{target}: target is an endpoint name or "id:<connection id>".
std::optional<nlohmann::json> connection_detail_json(const Snapshot& snapshot,
                                                     const std::string& target);

// Where a per-connection operation (ping, release, close) goes.
struct ConnectionRef {
    unsigned shard = 0;
    std::uint64_t id = 0;
};
enum class LookupError { unknown, no_connection };
std::variant<ConnectionRef, LookupError> find_connection(const Snapshot& snapshot,
                                                         const std::string& target);

// "2026-11-22T05:10:00Z"
std::string iso8601(WallClock::time_point at);
// Seconds or milliseconds with three decimals at most, for stable JSON.
double rounded(double value);
double seconds_between(TimePoint from, TimePoint to);

}  // namespace lwgate::admin
