// Walking a YAML map through the key table, and reading a key by its kind into Config.
#include "config/reader.hpp"

#include <algorithm>
#include <limits>

namespace lwgate::config {

int line_of(const YAML::Node& n) {
    const auto m = n.Mark();
    return m.is_null() ? 0 : m.line + 1;
}

std::string describe(const YAML::Node& n) {
    switch (n.Type()) {
        case YAML::NodeType::Null:
            return "nothing";
        case YAML::NodeType::Map:
            return "a map";
        case YAML::NodeType::Sequence:
            return "a list";
        case YAML::NodeType::Scalar:
            return "'" + n.Scalar() + "'";
        case YAML::NodeType::Undefined:
            break;
    }
    return "nothing";
}

std::string join(const std::string& path, std::string_view name) {
    return path.empty() ? std::string(name) : path + "." + std::string(name);
}

std::string indexed(const std::string& path, std::size_t i) {
    return path + "[" + std::to_string(i) + "]";
}

bool Reader::walk(const Item& item, const Each& each) {
    if (item.node.IsNull()) return true;  // "section:" with nothing under it keeps the defaults
    const std::string parent = spec_path(item.path);
    const std::string names = child_names(parent);
    if (!item.node.IsMap()) {
        error(item.path, item.line,
              "expected a map with keys " + names + ", got " + describe(item.node));
        return false;
    }
    std::vector<std::string> seen;
    for (auto it = item.node.begin(); it != item.node.end(); ++it) {
        const YAML::Node key = it->first;
        const YAML::Node value = it->second;
        const int key_line = line_of(key) > 0 ? line_of(key) : item.line;
        if (!key.IsScalar()) {
            error(item.path, key_line, "expected a key name, got " + describe(key));
            continue;
        }
        const std::string name = key.Scalar();
        const std::string path = join(item.path, name);
        const KeySpec* spec = find_child(parent, name);
        if (spec == nullptr) {
            error(path, key_line, "unknown key (expected one of: " + names + ")");
            continue;
        }
        if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
            error(path, key_line, "duplicate key");
            continue;
        }
        seen.push_back(name);
        // A null value's mark points at whatever follows it; the key's line is the useful one.
        int value_line = value.IsNull() ? key_line : line_of(value);
        if (value_line == 0) value_line = key_line;
        lines_[path] = value_line;
        each(*spec, Item{path, value, value_line});
    }
    return true;
}

bool Reader::walk_section(const Item& item, Config& cfg) {
    return walk(item, [&](const KeySpec& key, const Item& value) { read_key(key, value, cfg); });
}

void Reader::read_key(const KeySpec& key, const Item& item, Config& cfg) {
    if (key.read) {
        key.read(*this, item, cfg);
    } else if (key.kind == Kind::section) {
        walk_section(item, cfg);
    } else if (read_value(key, item, cfg) && key.check) {
        if (const char* why = key.check(cfg)) error(item.path, item.line, why);
    }
}

namespace {

// Calls `fn` with the whole-number value behind `ref`; false when it is not one.
template <typename Fn>
bool with_count(const ValueRef& ref, Fn&& fn) {
    if (auto* u = std::get_if<unsigned*>(&ref)) return fn(**u);
    if (auto* w = std::get_if<std::uint64_t*>(&ref)) return fn(**w);
    return false;
}

template <typename E>
bool set_choice(const ValueRef& ref, std::size_t index) {
    auto* dst = std::get_if<E*>(&ref);
    if (dst == nullptr) return false;
    **dst = static_cast<E>(index);
    return true;
}

}  // namespace

// A key without a reader of its own: by its kind, into its place in Config. The table test
// (keys_test.cpp) checks that every such key's place has the type its kind reads.
bool Reader::read_value(const KeySpec& key, const Item& item, Config& cfg) {
    const ValueRef ref = key.access.ref(cfg);
    const std::uint64_t max = key.max ? key.max : std::numeric_limits<std::uint64_t>::max();
    const Duration max_duration = key.max ? Duration(key.max) : kMaxDuration;
    switch (key.kind) {
        case Kind::boolean:
            return boolean(item, *std::get<bool*>(ref));
        case Kind::whole:
            return with_count(ref, [&](auto& dst) { return whole(item, dst, key.min, max); });
        case Kind::size:
            return with_count(ref, [&](auto& dst) { return size(item, dst, key.min, max); });
        case Kind::duration: {
            Duration d{};
            if (!duration(item, d, key.min > 0, max_duration)) return false;
            if (d < Duration(key.min)) {
                error(item.path, item.line,
                      "must be at least " + format_duration(Duration(key.min)) + ", got '" +
                          item.node.Scalar() + "'");
                return false;
            }
            *std::get<Duration*>(ref) = d;
            return true;
        }
        case Kind::seconds:
            return whole_seconds(item, *std::get<Duration*>(ref), Duration(key.min), max_duration);
        case Kind::rate:
            return rate(item, *std::get<double*>(ref));
        case Kind::choice: {
            const auto index = choice(item, key.choices);
            return index &&
                   (set_choice<CsmMode>(ref, *index) || set_choice<LogLevel>(ref, *index) ||
                    set_choice<LogFormat>(ref, *index));
        }
        case Kind::text:
            return optional_string(item, *std::get<std::string*>(ref));
        case Kind::file:
            return existing_file(item, *std::get<std::string*>(ref));
        default:
            error(item.path, item.line, "internal error: no reader for this key");
            return false;
    }
}

}  // namespace lwgate::config
