// A config error as JSON, one form wherever one is shown: the admin API's reload answer and
// `lwgatectl config check --json`. nlohmann-json finds it by argument-dependent lookup, so
// `nlohmann::json(errors)` makes the array. Header-only: lwgate_config itself does not use JSON.
#pragma once

#include <nlohmann/json.hpp>

#include "config/config_loader.hpp"

namespace lwgate::config {

// {"key", "line", "message"}, and "file" when the error is not in the config file itself (an
// included credentials_file): the config file goes without saying.
inline void to_json(nlohmann::json& out, const ConfigError& e) {
    out = nlohmann::json{{"key", e.key}, {"line", e.line}, {"message", e.message}};
    if (!e.file.empty()) out["file"] = e.file;
}

}  // namespace lwgate::config
