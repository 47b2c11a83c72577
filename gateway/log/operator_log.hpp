// What operators do to the running gateway through the admin API (drain, close or release a
// connection, change credentials, ...): one line each, naming the action, its target and the
// admin client's address, so that the log answers "who closed this device's connection".
#pragma once

#include <string_view>

#include <spdlog/common.h>

namespace lwgate::logging {

// `client`: the admin client's "ADDRESS:PORT" (admin::ApiRequest::client). `action`: "drain",
// "close", "release", "credentials.put", ... `target`: what it acts on (an endpoint, "id:N",
// an identity), empty when nothing in particular. `detail`: its arguments, if any.
void log_operator_action(std::string_view client, std::string_view action, std::string_view target,
                         std::string_view detail = {},
                         spdlog::level::level_enum level = spdlog::level::info);

}  // namespace lwgate::logging
