// Which admin API operation an HTTP method and path name. Pure; unknown path -> not_found,
// known path with the wrong method -> method_not_allowed.
#pragma once

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
    metrics,
    not_found,
    method_not_allowed,
};

struct Route {
    Op op = Op::not_found;
    std::string target;  // endpoint name or "id:<n>" for the per-connection operations
    std::string allow;   // for 405: the methods the path takes
};

// `path` as sent (percent-encoded, without the query): the endpoint segment is decoded after
// the split, so an endpoint name may contain '/' (%2F).
Route route(std::string_view method, std::string_view path);

}  // namespace lwgate::admin
