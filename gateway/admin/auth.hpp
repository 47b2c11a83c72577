// The admin API's bearer-token check. Pure.
#pragma once

#include <string_view>

namespace lwgate::admin {

// True when no token is configured, or `authorization` is "Bearer <token>" (scheme
// case-insensitive, RFC 6750 §2.1). Compares in constant time for equal lengths.
bool authorized(std::string_view authorization, std::string_view token);

}  // namespace lwgate::admin
