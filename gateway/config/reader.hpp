// The loader's state while it walks one YAML document through the key table: the errors it
// collects, where each key was, and the typed readers every section uses. Internal to
// gateway/config.
//
// yaml-cpp throws; nothing here catches. Every caller is below load_config_string() or
// load_config_file(), which catch. Nodes are only read through iteration and Scalar().
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "config/config_loader.hpp"
#include "config/keys.hpp"
#include "lwgate/util/result.hpp"

namespace lwgate::config {

// The longest duration any key takes unless its range says less.
inline constexpr Duration kMaxDuration = std::chrono::hours(24 * 365);

// A value in the document together with where it is.
struct Item {
    std::string path;  // "listeners[1].tls.certificate"
    YAML::Node node;
    int line = 0;  // 1-based
};

int line_of(const YAML::Node& n);
std::string describe(const YAML::Node& n);  // "a map", "'abc'", "nothing", ...
std::string join(const std::string& path, std::string_view name);
std::string indexed(const std::string& path, std::size_t i);

// Parses a YAML text; a syntax error or a second document becomes one ConfigError.
std::optional<YAML::Node> parse_yaml(std::string_view text, std::vector<ConfigError>& errors,
                                     const std::string& file);
// Reads a whole file. On failure ConfigErrc::file_not_found, not_a_file, permission_denied or
// cannot_read, with the system's words for the cause as the detail.
Result<std::string, Error> read_file(const std::string& path);
// `name` against `base_dir` unless absolute.
std::string resolve(const std::string& base_dir, const std::string& name);

class Reader {
  public:
    Reader(std::string base_dir, std::vector<ConfigError>& errors, std::string file = {})
        : base_dir_(std::move(base_dir)), errors_(errors), file_(std::move(file)) {}

    void error(const std::string& key, int line, std::string message) {
        errors_.push_back({key, line, std::move(message), file_});
    }
    std::size_t error_count() const { return errors_.size(); }
    std::vector<ConfigError>& errors() { return errors_; }
    const std::string& base_dir() const { return base_dir_; }

    // The line of the value at `path` (a key the walk met), else 0.
    int line(const std::string& path) const {
        auto it = lines_.find(path);
        return it == lines_.end() ? 0 : it->second;
    }

    // Whether the walk met the key at `path`.
    bool has(const std::string& path) const { return lines_.count(path) != 0; }

    // Walks the map at `item` against the table's keys under it: unknown and duplicate keys are
    // errors naming the keys expected; `each` gets every known one. A null value (a section with
    // nothing under it) keeps the defaults. False when the value is not a map.
    using Each = std::function<void(const KeySpec&, const Item&)>;
    bool walk(const Item& item, const Each& each);
    // Walks the section at `item`, reading every key the default way (read_key).
    bool walk_section(const Item& item, Config& cfg);
    // A key's own reader, the walk of its section, or its kind into its place in `cfg`; then
    // its check.
    void read_key(const KeySpec& key, const Item& item, Config& cfg);

    // Typed values. Each reports its own errors and leaves `dst` unchanged on error.
    std::optional<std::string> scalar(const Item& it, std::string_view expected);
    bool optional_string(const Item& it, std::string& dst);
    bool boolean(const Item& it, bool& dst);
    template <typename T>
    bool whole(const Item& it, T& dst, std::uint64_t min, std::uint64_t max);
    bool duration(const Item& it, Duration& dst, bool positive, Duration max);
    bool whole_seconds(const Item& it, Duration& dst, Duration min, Duration max);
    template <typename T>
    bool size(const Item& it, T& dst, std::uint64_t min, std::uint64_t max);
    bool rate(const Item& it, double& per_second);
    // The index in `choices` of the value.
    std::optional<std::size_t> choice(const Item& it, std::span<const std::string_view> choices);
    bool existing_file(const Item& it, std::string& dst);
    bool hex_key(const Item& it, std::vector<std::uint8_t>& out);

    // Gathered while walking, judged once the whole document is read (cross_checks.cpp).
    std::vector<std::pair<std::string, int>> psk_listeners;  // tls.psk paths and lines
    std::size_t credential_errors = 0;
    bool have_credentials = false;
    std::optional<Item> credentials_file_item;
    bool admin_tls = false;  // admin.tls names both files (whether or not they were found)

  private:
    bool read_value(const KeySpec& key, const Item& item, Config& cfg);

    std::string base_dir_;
    std::vector<ConfigError>& errors_;
    std::string file_;
    std::unordered_map<std::string, int> lines_;  // path -> line of its value, for cross checks
};

// The whole document into `cfg` (config_loader.cpp).
void read_document(Reader& reader, const YAML::Node& root, Config& cfg);
// Checks across sections, once everything is read; adds the default listener when none is given.
void cross_checks(Reader& reader, Config& cfg);

}  // namespace lwgate::config
