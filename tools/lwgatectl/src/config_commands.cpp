#include "config_commands.hpp"

#include <ostream>
#include <variant>

#include <nlohmann/json.hpp>

#include "config/config_error_json.hpp"
#include "config/config_loader.hpp"
#include "format.hpp"

namespace lwgate::ctl {

using nlohmann::json;

namespace {

std::string text_of(const json& body, const char* key) {
    if (!body.is_object()) return {};
    const auto it = body.find(key);
    return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
}

const json& list_of(const json& body, const char* key) {
    static const json none = json::array();
    if (!body.is_object()) return none;
    const auto it = body.find(key);
    return it != body.end() && it->is_array() ? *it : none;
}

// "  keepalive.idle  1m -> 30s" per change, keys aligned.
std::string change_lines(const json& changes) {
    Table table;
    for (const auto& c : changes)
        table.add_row({"  " + text_of(c, "key"), text_of(c, "from") + " -> " + text_of(c, "to")});
    return table.render();
}

config::ConfigError error_of(const json& e) {
    config::ConfigError out;
    out.key = text_of(e, "key");
    out.message = text_of(e, "message");
    out.file = text_of(e, "file");
    const auto line = e.is_object() ? e.find("line") : e.end();
    if (e.is_object() && line != e.end() && line->is_number_integer()) out.line = line->get<int>();
    return out;
}

// An error as lwgate --check-config prints it: the config file first unless the error names
// another one (credentials_file).
std::string error_line(const std::string& config_path, const config::ConfigError& e) {
    return (e.file.empty() ? config_path + ": " : std::string()) + e.to_string();
}

}  // namespace

std::string render_reload(const json& body) {
    const auto& applied = list_of(body, "applied");
    const auto& restart = list_of(body, "needs_restart");
    const bool dry_run = body.is_object() && body.value("dry_run", false);
    const auto path = text_of(body, "config");
    std::string out;
    if (dry_run) {
        out = path + ": ok (read by the running lwgate)\n";
        if (applied.empty() && restart.empty()) return out + "a reload would change nothing\n";
        if (!applied.empty()) out += "a reload would apply:\n" + change_lines(applied);
    } else {
        out = "reloaded " + path + ": " + std::to_string(applied.size()) + " change(s) applied, " +
              std::to_string(restart.size()) + " need(s) a restart\n";
        if (!applied.empty()) out += "applied:\n" + change_lines(applied);
    }
    if (!restart.empty())
        out += "needs a restart (until then the value on the left stays in force):\n" +
               change_lines(restart);
    return out;
}

std::string render_config_errors(const json& body) {
    const auto& errors = list_of(body, "errors");
    if (errors.empty()) return {};
    const auto path = text_of(body, "config");
    std::string out;
    for (const auto& e : errors)
        out += error_line(path, error_of(e)) + "\n";
    return out + std::to_string(errors.size()) + " error(s)\n";
}

int check_config_file(const std::string& path, bool as_json, std::ostream& out, std::ostream& err) {
    auto loaded = config::load_config_file(path);
    const auto* errors = std::get_if<std::vector<config::ConfigError>>(&loaded);
    if (as_json) {
        json body{{"config", path}, {"outcome", errors ? "config_errors" : "checked"}};
        if (errors) {
            body["error"] = path + " has " + std::to_string(errors->size()) + " error(s)";
            body["errors"] = json(*errors);
        }
        out << body.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
        return errors ? exit_refused : exit_ok;
    }
    if (!errors) {
        out << path << ": ok\n";
        return exit_ok;
    }
    for (const auto& e : *errors)
        err << error_line(path, e) << "\n";
    err << errors->size() << " error(s)\n";
    return exit_refused;
}

}  // namespace lwgate::ctl
