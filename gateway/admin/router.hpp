// Which admin API operation an HTTP method and path name. Pure; unknown path -> not_found,
// known path with the wrong method -> method_not_allowed.
#pragma once

#include <map>
#include <span>
#include <string>
#include <string_view>

namespace lwgate::admin {

enum class Op {
    health,
    connections,
    connection,  // GET /v1/connections/{target}
    ping,
    release,
    close,
    drain,
    reload,  // POST /v1/reload
    metrics,
    credentials,        // GET /v1/credentials (a page)
    credential,         // GET /v1/credentials/{target}
    credential_put,     // POST /v1/credentials
    credential_import,  // POST /v1/credentials/import
    credential_remove,  // DELETE /v1/credentials/{target}
    credential_rotate,  // POST /v1/credentials/{target}/rotate
    credential_retire,  // POST /v1/credentials/{target}/retire
    cluster,            // GET /v1/cluster
    openapi,            // GET /v1/openapi.json
    status_page,        // GET /: HTML, the one route served without the token
    not_found,
    method_not_allowed,
};

struct Route {
    Op op = Op::not_found;
    std::string target;  // endpoint name or "id:<n>" for the per-connection operations
    std::string allow;   // for 405: the methods the path takes
};

// One route of the admin API. `path` is written as in the OpenAPI document: "{target}" stands
// for one percent-encoded, non-empty segment (an endpoint name or id:N).
struct RouteSpec {
    std::string_view method;
    std::string_view path;
    Op op;
};

// Every route the admin API has: route() answers from this table and nothing else, so that the
// OpenAPI document can be checked against it (tests/unit/admin/openapi_test.cpp) and a route
// cannot be added without the document.
std::span<const RouteSpec> routes();

// False for the status page only. A browser cannot add an Authorization header to a page it
// navigates to, and the page holds no data: its script asks the operator for the token and sends
// it on every request it makes to the API, which checks it as for any client.
bool needs_token(Op op);

// `path` as sent (percent-encoded, without the query): the endpoint segment is decoded after
// the split, so an endpoint name may contain '/' (%2F).
Route route(std::string_view method, std::string_view path);

// The query of a request target (after '?'): key=value pairs split at '&', each side
// percent-decoded with '+' as a space; a malformed escape stays as it was, a pair without a key
// is left out.
std::multimap<std::string, std::string> parse_query(std::string_view query);

}  // namespace lwgate::admin
