#include "admin/reload_result.hpp"

#include "config/config_error_json.hpp"

namespace lwgate::admin {

using nlohmann::json;

namespace {

json changes_json(const std::vector<config::ReloadChange>& changes) {
    json out = json::array();
    for (const auto& c : changes)
        out.push_back(json{{"key", c.key}, {"from", c.from}, {"to", c.to}});
    return out;
}

std::string refusal(const ReloadResult& r) {
    switch (r.outcome) {
        case ReloadOutcome::config_errors:
            return r.config_path + " has " + std::to_string(r.errors.size()) +
                   " error(s); nothing changed";
        case ReloadOutcome::no_config_file:
            return "lwgate runs with the built-in defaults (started without --config): there is "
                   "no file to reload";
        case ReloadOutcome::draining:
            return "lwgate is draining: no reload";
        case ReloadOutcome::no_answer:
            return "the gateway's control thread did not answer in time; a reload may still "
                   "take place (see the log)";
        case ReloadOutcome::unsupported:
            return "this gateway cannot reload through the admin API";
        case ReloadOutcome::applied:
        case ReloadOutcome::checked:
            break;
    }
    return {};
}

}  // namespace

std::string_view to_string(ReloadOutcome outcome) {
    switch (outcome) {
        case ReloadOutcome::applied:
            return "applied";
        case ReloadOutcome::checked:
            return "checked";
        case ReloadOutcome::config_errors:
            return "config_errors";
        case ReloadOutcome::no_config_file:
            return "no_config_file";
        case ReloadOutcome::draining:
            return "draining";
        case ReloadOutcome::no_answer:
            return "no_answer";
        case ReloadOutcome::unsupported:
            return "unsupported";
    }
    return "unsupported";
}

int reload_http_status(const ReloadResult& result) {
    switch (result.outcome) {
        case ReloadOutcome::applied:
        case ReloadOutcome::checked:
            return 200;
        case ReloadOutcome::config_errors:
            return 422;
        case ReloadOutcome::no_config_file:
        case ReloadOutcome::draining:
            return 409;
        case ReloadOutcome::no_answer:
            return 503;
        case ReloadOutcome::unsupported:
            return 501;
    }
    return 501;
}

json reload_json(const ReloadResult& r) {
    const bool done = r.outcome == ReloadOutcome::applied || r.outcome == ReloadOutcome::checked;
    json out{{"outcome", std::string(to_string(r.outcome))}};
    if (!r.config_path.empty()) out["config"] = r.config_path;
    if (done) {
        out["dry_run"] = r.outcome == ReloadOutcome::checked;
        out["applied"] = changes_json(r.applied);
        out["needs_restart"] = changes_json(r.needs_restart);
        return out;
    }
    out["error"] = refusal(r);
    if (r.outcome == ReloadOutcome::config_errors) out["errors"] = json(r.errors);
    return out;
}

}  // namespace lwgate::admin
