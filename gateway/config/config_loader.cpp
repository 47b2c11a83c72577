// YAML -> Config, with every problem collected as a ConfigError naming the key path and the line.
// The document is walked through the key table (keys.cpp); keys with a form of their own have
// readers in listeners.cpp, upstream.cpp, store_admin.cpp and credentials.cpp; rules across keys
// are in cross_checks.cpp.
//
// yaml-cpp throws (syntax errors, and on misuse of nodes); every throwing call is below
// load_config_string()/load_config_file() and caught there, so no exception leaves this library.
// Nodes are only read through iteration and Scalar(), never through operator[] or as<T>().
#include "config/config_loader.hpp"

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "config/key_readers.hpp"
#include "config/system_credentials.hpp"

namespace lwgate::config {

namespace fs = std::filesystem;

std::optional<YAML::Node> parse_yaml(std::string_view text, std::vector<ConfigError>& errors,
                                     const std::string& file) {
    try {
        auto docs = YAML::LoadAll(std::string(text));
        if (docs.empty()) return YAML::Node{};
        if (docs.size() > 1) {
            errors.push_back({"", line_of(docs[1]),
                              "only one YAML document is allowed (found a second one)", file});
            return std::nullopt;
        }
        return docs.front();
    } catch (const YAML::Exception& e) {
        errors.push_back(
            {"", e.mark.is_null() ? 0 : e.mark.line + 1, "YAML syntax error: " + e.msg, file});
        return std::nullopt;
    }
}

namespace {

Unexpected<Error> read_error(ConfigErrc code, int errno_value) {
    return fail(Error{code, std::error_code(errno_value, std::generic_category()).message()});
}

}  // namespace

Result<std::string, Error> read_file(const std::string& path) {
    std::error_code ec;
    const auto status = fs::status(path, ec);
    if (ec || !fs::exists(status)) return read_error(ConfigErrc::file_not_found, ENOENT);
    if (fs::is_directory(status)) return read_error(ConfigErrc::not_a_file, EISDIR);
    errno = 0;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        const int e = errno;
        if (e == 0) return fail(Error{ConfigErrc::cannot_read, "cannot open"});
        return read_error(e == EACCES ? ConfigErrc::permission_denied : ConfigErrc::cannot_read, e);
    }
    std::ostringstream buffer;
    buffer << in.rdbuf();
    if (in.bad()) return fail(Error{ConfigErrc::cannot_read, "read error"});
    return buffer.str();
}

std::string resolve(const std::string& base_dir, const std::string& name) {
    fs::path p(name);
    if (p.is_relative()) p = fs::path(base_dir.empty() ? "." : base_dir) / p;
    return p.lexically_normal().string();
}

void read_document(Reader& r, const YAML::Node& root, Config& cfg) {
    const Item top{"", root, line_of(root)};
    if (!root.IsNull() && !root.IsMap()) {
        r.error("", top.line > 0 ? top.line : 1,
                "expected a map of settings at the top level, got " + describe(root));
        return;
    }
    substitute_credentials(r, top, credentials_directory());
    r.walk_section(top, cfg);
    if (const auto& file = r.credentials_file_item) {
        if (r.have_credentials) {
            r.error(file->path, file->line,
                    "give either credentials or credentials_file, not both");
        } else {
            load_credentials_file(r, *file, cfg);
        }
    }
    cross_checks(r, cfg);
}

namespace {

// Records an error without ever throwing (used in catch blocks).
void add_error_noexcept(std::vector<ConfigError>& errors, int line, const char* what,
                        const std::string* file = nullptr) noexcept {
    try {
        errors.push_back({"", line, what, file ? *file : std::string()});
    } catch (...) {
        // Out of memory while reporting: nothing more can be done. The caller still returns the
        // error list, so the configuration is never taken as valid.
    }
}

std::optional<Config> load_into(std::string_view yaml, const std::string& base_dir,
                                std::vector<ConfigError>& errors) noexcept {
    try {
        Config cfg;
        if (auto root = parse_yaml(yaml, errors, "")) {
            Reader reader(base_dir, errors);
            read_document(reader, *root, cfg);
        }
        if (errors.empty()) return cfg;
    } catch (const YAML::Exception& e) {
        std::string message;
        try {
            message = "YAML error: " + e.msg;
        } catch (...) {
        }
        add_error_noexcept(errors, e.mark.is_null() ? 0 : e.mark.line + 1,
                           message.empty() ? "YAML error" : message.c_str());
    } catch (const std::exception& e) {
        add_error_noexcept(errors, 0, e.what());
    } catch (...) {
        add_error_noexcept(errors, 0, "unexpected error while loading the configuration");
    }
    return std::nullopt;
}

}  // namespace

LoadResult load_config_string(std::string_view yaml, const std::string& base_dir) {
    std::vector<ConfigError> errors;
    if (auto cfg = load_into(yaml, base_dir, errors)) return std::move(*cfg);
    return errors;
}

LoadResult load_config_file(const std::string& path) {
    std::vector<ConfigError> errors;
    try {
        auto text = read_file(path);
        if (!text) {
            errors.push_back({"", 0, "cannot read config file: " + text.error().detail, path});
            return errors;
        }
        std::string base_dir = fs::path(path).parent_path().string();
        if (base_dir.empty()) base_dir = ".";
        if (auto cfg = load_into(*text, base_dir, errors)) return std::move(*cfg);
    } catch (const std::exception& e) {
        add_error_noexcept(errors, 0, e.what(), &path);
    } catch (...) {
        add_error_noexcept(errors, 0, "unexpected error while reading the configuration", &path);
    }
    return errors;
}

}  // namespace lwgate::config
