// `lwgatectl reload` and `lwgatectl config check [FILE]`: the answers of POST /v1/reload as
// text, and the local check of a file (the loader lwgate --check-config runs).
#pragma once

#include <iosfwd>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace lwgate::ctl {

// A 200 answer of POST /v1/reload, applied or (dry_run) checked:
//   reloaded /etc/lwgate/gateway.yaml: 1 change(s) applied, 1 needs a restart
//   applied:
//     keepalive.idle  1m -> 30s
//   needs a restart (in force until then: the "from" value):
//     threads  2 -> 3
std::string render_reload(const nlohmann::json& body);

// The errors of a 422 answer, one line each as lwgate --check-config prints them
// ("FILE: line 12: keepalive.idle: ..."), then "N error(s)". "" when the body has none.
std::string render_config_errors(const nlohmann::json& body);

// Checks `path` here, with this process's permissions and $CREDENTIALS_DIRECTORY: prints
// "PATH: ok" (exit 0), or every error with its key and line on `err` (exit 1). With `json`, the
// body POST /v1/reload would answer for a check of that file.
int check_config_file(const std::string& path, bool json, std::ostream& out, std::ostream& err);

}  // namespace lwgate::ctl
