// The JSON documents of the admin API (see helpers' admin-api-contract.md, mirrored in
// docs/operations.md, "Admin API"), built from a Snapshot. Pure:
// tests/unit/admin/json_views_test.cpp.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "admin/admin_error.hpp"
#include "admin/model.hpp"
#include "admin/state.hpp"
#include "lwgate/util/result.hpp"

namespace lwgate::admin {

// One line of GET /v1/connections: a live connection, or a registered endpoint without one.
// Pointers into the Snapshot only, so that a million rows copy no endpoint name.
struct Row {
    State state = State::active;
    const ConnectionSample* connection = nullptr;
    const DeviceSample* device = nullptr;
    const std::string* endpoint = nullptr;  // null: a connection not bound to an endpoint yet
    bool flapping = false;
};

// Every row, in the order of GET /v1/connections (see RowKey).
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

// Where a row stands in GET /v1/connections: by endpoint name (bytes; none sorts first), then
// connection id (0: a registered endpoint without a connection; real ids start at 1). Why this
// order: it is unique per row and made of what does not change while a row lives (a connection
// keeps its id, a device its name), so a cursor holding the last key of a page stays meaningful
// whatever connects or closes meanwhile; and a device that reconnects keeps its place next to its
// name, so a listing does not see it twice at two ends. (A connection that binds its endpoint
// between two pages moves from the unnamed rows to its name: it may be listed twice or not
// at all in that one listing.)
struct RowKey {
    std::string_view endpoint;
    std::uint64_t id = 0;
    auto operator<=>(const RowKey&) const = default;
};
RowKey key_of(const Row& row);

// GET /v1/connections?limit=N&after=CURSOR. The cursor is opaque to clients: the key of the last
// row of the previous page, encoded (base64url of the endpoint's bytes, '.', the id) so that any
// endpoint name survives a URL and a JSON string.
inline constexpr std::size_t default_page_limit = 1000;
inline constexpr std::size_t max_page_limit = 10000;
struct Cursor {
    std::string endpoint;
    std::uint64_t id = 0;
    RowKey key() const { return {endpoint, id}; }
};
std::string encode_cursor(RowKey key);
std::optional<Cursor> decode_cursor(std::string_view text);

struct Page {
    std::size_t limit = default_page_limit;
    std::optional<Cursor> after;  // rows strictly after this key
};
struct ListQuery {
    Filter filter;
    Page page;
};
// The filters of parse_filter() plus limit (1 to max_page_limit) and after. Each of limit and
// after at most once; a bad value is AdminErrc::bad_parameter_value, its detail naming the
// parameter.
Result<ListQuery, Error> parse_list_query(const std::multimap<std::string, std::string>& query);

nlohmann::json row_json(const Row& row, const Snapshot& snapshot);
// The first page (default limit) of the rows `filter` matches.
nlohmann::json connections_json(const Snapshot& snapshot, const Filter& filter);
// {"count": rows in this page, "total": rows the filter matches, "connections": [...],
// "next": the cursor of the next page, null on the last}. The filter applies first, then the
// page.
nlohmann::json connections_json(const Snapshot& snapshot, const Filter& filter, const Page& page);

// What the {target} segment of /v1/connections/{target}[/verb] names: connection `id` when it
// reads "id:<n>", else an endpoint. An endpoint may itself be called "id:7" (LwM2M allows any
// name): `by_endpoint` (the query ?by=endpoint) takes the segment as a name, whatever it reads.
struct ConnectionTarget {
    explicit ConnectionTarget(std::string segment, bool by_endpoint = false);
    std::string text;                 // as given: for answers and the operator log
    std::optional<std::uint64_t> id;  // set: a connection id
};

// GET /v1/connections/{target}.
std::optional<nlohmann::json> connection_detail_json(const Snapshot& snapshot,
                                                     const ConnectionTarget& target);

// Where a per-connection operation (ping, release, close) goes.
struct ConnectionRef {
    unsigned shard = 0;
    std::uint64_t id = 0;
};
enum class LookupError { unknown, no_connection };
std::variant<ConnectionRef, LookupError> find_connection(const Snapshot& snapshot,
                                                         const ConnectionTarget& target);

// "2026-11-22T05:10:00Z"
std::string iso8601(WallClock::time_point at);
// Seconds or milliseconds with three decimals at most, for stable JSON.
double rounded(double value);
double seconds_between(TimePoint from, TimePoint to);

}  // namespace lwgate::admin
