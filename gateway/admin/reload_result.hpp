// POST /v1/reload: what the gateway's reload did with its config file (the same reload as
// SIGHUP), or, as a check, what it would do; and the answer the admin API makes of it. Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config_loader.hpp"
#include "config/reload_plan.hpp"

namespace lwgate::admin {

enum class ReloadOutcome {
    applied,         // read, planned and applied; what needs a restart stays as it is
    checked,         // read and planned only: nothing changed
    config_errors,   // the file has errors: nothing changed
    no_config_file,  // started with the built-in defaults (no --config): nothing to re-read
    draining,        // the gateway is stopping
    no_answer,       // the control thread did not answer in time (a reload may still happen)
    unsupported,     // this backend cannot reload
};

struct ReloadResult {
    ReloadOutcome outcome = ReloadOutcome::unsupported;
    std::string config_path;                          // the file read (empty: none)
    std::vector<config::ReloadChange> applied;        // (would be) applied at run time
    std::vector<config::ReloadChange> needs_restart;  // from: the value still in force
    std::vector<config::ConfigError> errors;          // config_errors: every one, key and line
};

// "applied", "checked", ... as the answer's "outcome".
std::string_view to_string(ReloadOutcome outcome);

// 200 applied or checked, 422 config errors, 409 no config file or draining, 503 no answer,
// 501 unsupported.
int reload_http_status(const ReloadResult& result);

// {"outcome", "dry_run", "config", "applied": [{"key", "from", "to"}], "needs_restart": [...]}
// on success; {"error", "outcome", "config", "errors": [{"key", "line", "message", "file"}]}
// otherwise ("errors" for config errors only).
nlohmann::json reload_json(const ReloadResult& result);

}  // namespace lwgate::admin
