// YAML -> Config, with every problem collected as a ConfigError naming the key path and the line.
//
// yaml-cpp throws (syntax errors, and on misuse of nodes); every throwing call is confined to
// load_config_string()/read_credentials_file() and caught there, so no exception leaves this file.
// Nodes are only read through iteration and Scalar(), never through operator[] or as<T>().
#include "lwgate/config/config_loader.hpp"

#include <arpa/inet.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <limits>
#include <optional>
#include <sstream>
#include <system_error>
#include <unordered_map>
#include <utility>

namespace lwgate::config {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// Small public helpers declared in config.hpp / config_loader.hpp.

const char* to_string(Scheme s) {
    switch (s) {
        case Scheme::coap_tcp:
            return "coap+tcp";
        case Scheme::coaps_tcp:
            return "coaps+tcp";
        case Scheme::coap:
            return "coap";
        case Scheme::coaps:
            return "coaps";
    }
    return "?";
}

const char* to_string(LogLevel l) {
    switch (l) {
        case LogLevel::trace:
            return "trace";
        case LogLevel::debug:
            return "debug";
        case LogLevel::info:
            return "info";
        case LogLevel::warn:
            return "warn";
        case LogLevel::error:
            return "error";
        case LogLevel::critical:
            return "critical";
        case LogLevel::off:
            return "off";
    }
    return "?";
}

const char* to_string(CsmMode m) {
    switch (m) {
        case CsmMode::strict:
            return "strict";
        case CsmMode::lenient:
            return "lenient";
    }
    return "?";
}

ListenerConfig default_listener() {
    ListenerConfig l;
    l.endpoint = Endpoint{Scheme::coap_tcp, "127.0.0.1", 5683, "coap+tcp://127.0.0.1:5683"};
    return l;
}

std::string ConfigError::to_string() const {
    std::string out;
    if (!file.empty()) {
        out = file;
        if (line > 0) out += " line " + std::to_string(line);
        out += ": ";
    } else if (line > 0) {
        out = "line " + std::to_string(line) + ": ";
    }
    if (!key.empty()) out += key + ": ";
    out += message;
    return out;
}

// ---------------------------------------------------------------------------------------------
// URIs and host:port.

namespace {

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

bool valid_ipv4(const std::string& host) {
    in_addr addr{};
    return inet_pton(AF_INET, host.c_str(), &addr) == 1;
}

bool valid_ipv6(const std::string& host) {
    in6_addr addr{};
    return inet_pton(AF_INET6, host.c_str(), &addr) == 1;
}

// RFC 1123 host name: dot-separated labels of letters, digits and '-', 1..63 characters each,
// not starting or ending with '-'; 253 characters at most.
std::optional<std::string> check_hostname(const std::string& host) {
    if (host.size() > 253) return "host name longer than 253 characters";
    bool numeric = true;
    std::size_t start = 0;
    while (true) {
        const std::size_t dot = host.find('.', start);
        const std::string_view label = std::string_view(host).substr(
            start, dot == std::string::npos ? host.npos : dot - start);
        if (label.empty() || label.size() > 63) return "not a valid host name: '" + host + "'";
        if (label.front() == '-' || label.back() == '-') {
            return "not a valid host name: '" + host + "'";
        }
        for (char c : label) {
            const bool alnum = is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
            if (!alnum && c != '-') return "not a valid host name: '" + host + "'";
            if (!is_digit(c)) numeric = false;
        }
        if (dot == std::string::npos) break;
        start = dot + 1;
    }
    if (numeric) return "not a valid IPv4 address: '" + host + "'";
    return std::nullopt;
}

struct HostPort {
    std::string host;  // IPv6 without brackets
    std::optional<std::uint16_t> port;
};

// "host", "host:port", "[v6]", "[v6]:port". Error message on failure.
std::variant<HostPort, std::string> parse_authority(std::string_view text) {
    HostPort out;
    std::string_view port_text;
    bool has_port = false;
    if (text.empty()) return std::string("missing host");
    if (text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos) return std::string("missing ']' after IPv6 address");
        out.host = std::string(text.substr(1, close - 1));
        if (!valid_ipv6(out.host)) return "not a valid IPv6 address: '" + out.host + "'";
        const auto rest = text.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return "unexpected '" + std::string(rest) + "' after ']'";
            has_port = true;
            port_text = rest.substr(1);
        }
    } else {
        const auto colon = text.rfind(':');
        if (colon != std::string_view::npos) {
            if (text.substr(0, colon).find(':') != std::string_view::npos) {
                return std::string("an IPv6 address must be written in brackets, e.g. [::1]:5683");
            }
            has_port = true;
            port_text = text.substr(colon + 1);
            text = text.substr(0, colon);
        }
        out.host = std::string(text);
        if (out.host.empty()) return std::string("missing host");
        const bool looks_ipv4 = std::all_of(out.host.begin(), out.host.end(),
                                            [](char c) { return is_digit(c) || c == '.'; });
        if (looks_ipv4) {
            if (!valid_ipv4(out.host)) return "not a valid IPv4 address: '" + out.host + "'";
        } else if (auto err = check_hostname(out.host)) {
            return *err;
        }
    }
    if (has_port) {
        if (port_text.empty()) return std::string("missing port after ':'");
        if (port_text.size() > 5 || !std::all_of(port_text.begin(), port_text.end(), is_digit)) {
            return "not a valid port: '" + std::string(port_text) + "'";
        }
        unsigned long value = std::stoul(std::string(port_text));
        if (value > 65535) return "port out of range (0-65535): " + std::string(port_text);
        out.port = static_cast<std::uint16_t>(value);
    }
    return out;
}

bool is_loopback(const std::string& host) {
    if (iequals(host, "localhost")) return true;
    in_addr v4{};
    if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
        return (ntohl(v4.s_addr) >> 24) == 127;
    }
    in6_addr v6{};
    if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
        static constexpr std::array<std::uint8_t, 16> kLoopback{0, 0, 0, 0, 0, 0, 0, 0,
                                                                0, 0, 0, 0, 0, 0, 0, 1};
        if (std::memcmp(v6.s6_addr, kLoopback.data(), 16) == 0) return true;
        static constexpr std::array<std::uint8_t, 12> kMapped{0, 0, 0, 0, 0,    0,
                                                              0, 0, 0, 0, 0xff, 0xff};
        return std::memcmp(v6.s6_addr, kMapped.data(), 12) == 0 && v6.s6_addr[12] == 127;
    }
    return false;
}

}  // namespace

std::variant<Endpoint, std::string> parse_endpoint_uri(std::string_view uri) {
    const auto sep = uri.find("://");
    if (sep == std::string_view::npos) {
        return "not a URI: '" + std::string(uri) + "' (expected e.g. coap+tcp://127.0.0.1:5683)";
    }
    const auto scheme_text = uri.substr(0, sep);
    Endpoint ep;
    std::uint16_t default_port = 5683;
    if (iequals(scheme_text, "coap+tcp")) {
        ep.scheme = Scheme::coap_tcp;
    } else if (iequals(scheme_text, "coaps+tcp")) {
        ep.scheme = Scheme::coaps_tcp;
        default_port = 5684;
    } else if (iequals(scheme_text, "coap")) {
        ep.scheme = Scheme::coap;
    } else if (iequals(scheme_text, "coaps")) {
        ep.scheme = Scheme::coaps;
        default_port = 5684;
    } else {
        return "unsupported scheme '" + std::string(scheme_text) +
               "' (expected coap+tcp, coaps+tcp, coap or coaps)";
    }
    auto rest = uri.substr(sep + 3);
    const auto end = rest.find_first_of("/?#");
    auto authority = rest.substr(0, end);
    if (end != std::string_view::npos && rest.substr(end) != "/") {
        return "a path, query or fragment is not allowed: '" + std::string(uri) + "'";
    }
    if (authority.find('@') != std::string_view::npos) {
        return "user info is not allowed: '" + std::string(uri) + "'";
    }
    auto parsed = parse_authority(authority);
    if (auto* err = std::get_if<std::string>(&parsed)) return *err;
    auto& hp = std::get<HostPort>(parsed);
    ep.host = std::move(hp.host);
    ep.port = hp.port.value_or(default_port);
    ep.text = std::string(uri);
    return ep;
}

// ---------------------------------------------------------------------------------------------
// The loader.

namespace {

constexpr Duration kMaxDuration = std::chrono::hours(24 * 365);
constexpr const char* kDurationForm = "a duration like 250ms, 30s, 5m, 2h";
constexpr const char* kSizeForm = "a size like 65536, 512B, 256KiB, 1MiB";
constexpr const char* kRateForm = "a rate like 2000/s or 100/m";

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

// A value in the document together with where it is.
struct Item {
    std::string path;
    YAML::Node node;
    int line = 0;
};

struct Field {
    std::string_view name;
    std::function<void(const Item&)> handle;
};

// Parses a YAML text; a syntax error becomes one ConfigError.
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

// Reads a whole file; on failure returns nullopt and sets `why`.
std::optional<std::string> read_file(const std::string& path, std::string& why) {
    std::error_code ec;
    const auto status = fs::status(path, ec);
    if (ec || !fs::exists(status)) {
        why = std::error_code(ENOENT, std::generic_category()).message();
        return std::nullopt;
    }
    if (fs::is_directory(status)) {
        why = std::error_code(EISDIR, std::generic_category()).message();
        return std::nullopt;
    }
    errno = 0;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        why = errno != 0 ? std::error_code(errno, std::generic_category()).message()
                         : std::string("cannot open");
        return std::nullopt;
    }
    std::ostringstream buffer;
    buffer << in.rdbuf();
    if (in.bad()) {
        why = "read error";
        return std::nullopt;
    }
    return buffer.str();
}

std::string resolve(const std::string& base_dir, const std::string& name) {
    fs::path p(name);
    if (p.is_relative()) p = fs::path(base_dir.empty() ? "." : base_dir) / p;
    return p.lexically_normal().string();
}

class Loader {
  public:
    Loader(std::string base_dir, std::vector<ConfigError>& errors, std::string file = {})
        : base_dir_(std::move(base_dir)), errors_(errors), file_(std::move(file)) {}

    void load(const YAML::Node& root, Config& cfg);
    void credentials_list(const Item& item, std::vector<Credential>& out);

  private:
    void error(const std::string& key, int line, std::string message) {
        errors_.push_back({key, line, std::move(message), file_});
    }

    bool walk_map(const Item& item, std::initializer_list<Field> fields);

    // Typed values. Each reports its own errors and leaves `dst` unchanged on error.
    std::optional<std::string> scalar(const Item& it, std::string_view expected);
    bool optional_string(const Item& it, std::string& dst);
    bool boolean(const Item& it, bool& dst);
    template <typename T>
    bool whole(const Item& it, T& dst, std::uint64_t min, std::uint64_t max);
    bool duration(const Item& it, Duration& dst, bool positive, Duration max = kMaxDuration);
    bool whole_seconds(const Item& it, Duration& dst, Duration min, Duration max);
    template <typename T>
    bool size(const Item& it, T& dst, std::uint64_t min, std::uint64_t max);
    bool existing_file(const Item& it, std::string& dst);
    void upstream_bind(const Item& it, UpstreamConfig& up);
    template <typename E, std::size_t N>
    bool one_of(const Item& it, E& dst, const std::array<std::pair<const char*, E>, N>& names);

    void keepalive(const Item& it, KeepaliveConfig& k);
    void tcp(const Item& it, TcpConfig& t);
    void rate(const Item& it, RateLimit& r);
    void connections(const Item& it, ConnectionsConfig& c);
    void shutdown(const Item& it, ShutdownConfig& s);
    void queue_mode(const Item& it, QueueModeConfig& q);
    void device_limits(const Item& it, DeviceLimitsConfig& d);
    void registration(const Item& it, RegistrationConfig& r);
    void store(const Item& it, StoreConfig& st);
    void admin(const Item& it, AdminConfig& a);
    void log(const Item& it, LogConfig& l);
    void listeners(const Item& it, Config& cfg);
    void listener(const Item& it, Config& cfg);
    struct TlsSeen {
        bool is_map = false;
        bool certificate = false;  // written (non-empty), whether or not the file exists
        bool private_key = false;
        bool ca = false;
        bool psk_bad = false;  // psk: was written but is not a boolean
    };
    TlsSeen tls(const Item& it, TlsConfig& tls);
    void upstream(const Item& it, UpstreamConfig& up);
    std::optional<Endpoint> upstream_uri(const Item& it);
    void credential(const Item& it, Credential& cred);
    bool hex_key(const Item& v, std::vector<std::uint8_t>& out);
    void upstream_dtls(const Item& it, UpstreamConfig& up);
    void credentials_file(const Item& it, Config& cfg);
    void cross_checks(Config& cfg);

    int line(const std::string& path) const {
        auto it = lines_.find(path);
        return it == lines_.end() ? 0 : it->second;
    }

    std::string base_dir_;
    std::vector<ConfigError>& errors_;
    std::string file_;
    std::unordered_map<std::string, int> lines_;  // path -> line of its value, for cross checks
    std::vector<std::pair<std::string, int>> psk_listeners_;  // tls.psk paths/lines
    std::size_t credential_errors_ = 0;
};

bool Loader::walk_map(const Item& item, std::initializer_list<Field> fields) {
    if (item.node.IsNull()) return true;  // "section:" with nothing under it keeps the defaults
    std::string names;
    for (const auto& f : fields)
        names += (names.empty() ? "" : ", ") + std::string(f.name);
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
        const auto field = std::find_if(fields.begin(), fields.end(),
                                        [&](const Field& f) { return f.name == name; });
        if (field == fields.end()) {
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
        field->handle(Item{path, value, value_line});
    }
    return true;
}

std::optional<std::string> Loader::scalar(const Item& it, std::string_view expected) {
    if (it.node.IsScalar()) return it.node.Scalar();
    error(it.path, it.line, "expected " + std::string(expected) + ", got " + describe(it.node));
    return std::nullopt;
}

bool Loader::optional_string(const Item& it, std::string& dst) {
    if (it.node.IsNull()) {
        dst.clear();
        return true;
    }
    auto s = scalar(it, "a string");
    if (!s) return false;
    dst = *s;
    return true;
}

bool Loader::boolean(const Item& it, bool& dst) {
    auto s = scalar(it, "true or false");
    if (!s) return false;
    for (const char* yes : {"true", "yes", "on"}) {
        if (iequals(*s, yes)) {
            dst = true;
            return true;
        }
    }
    for (const char* no : {"false", "no", "off"}) {
        if (iequals(*s, no)) {
            dst = false;
            return true;
        }
    }
    error(it.path, it.line, "expected true or false, got '" + *s + "'");
    return false;
}

template <typename T>
bool Loader::whole(const Item& it, T& dst, std::uint64_t min, std::uint64_t max) {
    auto s = scalar(it, "a whole number");
    if (!s) return false;
    const std::string range =
        "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got ";
    if (s->size() > 1 && s->front() == '-' && std::all_of(s->begin() + 1, s->end(), is_digit)) {
        error(it.path, it.line, range + *s);
        return false;
    }
    if (s->empty() || !std::all_of(s->begin(), s->end(), is_digit)) {
        error(it.path, it.line, "expected a whole number, got '" + *s + "'");
        return false;
    }
    std::uint64_t value = 0;
    for (char c : *s) {
        const auto digit = static_cast<std::uint64_t>(c - '0');
        if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
            error(it.path, it.line, range + *s);
            return false;
        }
        value = value * 10 + digit;
    }
    if (value < min || value > max) {
        error(it.path, it.line, range + *s);
        return false;
    }
    dst = static_cast<T>(value);
    return true;
}

bool Loader::duration(const Item& it, Duration& dst, bool positive, Duration max) {
    auto s = scalar(it, kDurationForm);
    if (!s) return false;
    auto d = parse_duration(*s);
    if (!d) {
        error(it.path, it.line, std::string("expected ") + kDurationForm + ", got '" + *s + "'");
        return false;
    }
    if (positive && *d <= Duration::zero()) {
        error(it.path, it.line, "must be greater than 0, got '" + *s + "'");
        return false;
    }
    if (*d > max) {
        error(it.path, it.line, "must be at most " + format_duration(max) + ", got '" + *s + "'");
        return false;
    }
    dst = *d;
    return true;
}

// Kernel TCP keepalive settings count whole seconds.
bool Loader::whole_seconds(const Item& it, Duration& dst, Duration min, Duration max) {
    Duration d{};
    if (!duration(it, d, false, kMaxDuration)) return false;
    if (d.count() % 1000 != 0) {
        error(it.path, it.line, "must be whole seconds, got '" + it.node.Scalar() + "'");
        return false;
    }
    if (d < min || d > max) {
        error(it.path, it.line,
              "must be between " + format_duration(min) + " and " + format_duration(max) +
                  ", got '" + it.node.Scalar() + "'");
        return false;
    }
    dst = d;
    return true;
}

template <typename T>
bool Loader::size(const Item& it, T& dst, std::uint64_t min, std::uint64_t max) {
    auto s = scalar(it, kSizeForm);
    if (!s) return false;
    auto bytes = parse_size(*s);
    if (!bytes) {
        error(it.path, it.line, std::string("expected ") + kSizeForm + ", got '" + *s + "'");
        return false;
    }
    if (*bytes < min || *bytes > max) {
        error(it.path, it.line,
              "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                  " bytes, got '" + *s + "'");
        return false;
    }
    dst = static_cast<T>(*bytes);
    return true;
}

bool Loader::existing_file(const Item& it, std::string& dst) {
    std::string name;
    if (!optional_string(it, name)) return false;
    if (name.empty()) {
        dst.clear();
        return true;
    }
    const std::string path = resolve(base_dir_, name);
    std::error_code ec;
    const auto status = fs::status(path, ec);
    if (ec || !fs::exists(status)) {
        error(it.path, it.line, "file not found: " + path);
        return false;
    }
    if (!fs::is_regular_file(status)) {
        error(it.path, it.line, "not a regular file: " + path);
        return false;
    }
    std::ifstream probe(path, std::ios::binary);
    if (!probe) {
        error(it.path, it.line, "file not readable: " + path);
        return false;
    }
    dst = path;
    return true;
}

template <typename E, std::size_t N>
bool Loader::one_of(const Item& it, E& dst, const std::array<std::pair<const char*, E>, N>& names) {
    std::string list;
    for (const auto& [name, value] : names)
        list += (list.empty() ? "" : ", ") + std::string(name);
    auto s = scalar(it, "one of " + list);
    if (!s) return false;
    for (const auto& [name, value] : names) {
        if (*s == name) {
            dst = value;
            return true;
        }
    }
    error(it.path, it.line, "expected one of " + list + ", got '" + *s + "'");
    return false;
}

// ---------------------------------------------------------------------------------------------

void Loader::load(const YAML::Node& root, Config& cfg) {
    const Item top{"", root, line_of(root)};
    if (!root.IsNull() && !root.IsMap()) {
        error("", top.line > 0 ? top.line : 1,
              "expected a map of settings at the top level, got " + describe(root));
        return;
    }
    std::optional<Item> credentials_file_item;
    bool have_credentials = false;
    walk_map(top,
             {
                 {"listeners", [&](const Item& it) { listeners(it, cfg); }},
                 {"upstream", [&](const Item& it) { upstream(it, cfg.upstream); }},
                 {"keepalive", [&](const Item& it) { keepalive(it, cfg.keepalive); }},
                 {"tcp", [&](const Item& it) { tcp(it, cfg.tcp); }},
                 {"connections", [&](const Item& it) { connections(it, cfg.connections); }},
                 {"shutdown", [&](const Item& it) { shutdown(it, cfg.shutdown); }},
                 {"queue_mode", [&](const Item& it) { queue_mode(it, cfg.queue_mode); }},
                 {"device_limits", [&](const Item& it) { device_limits(it, cfg.device_limits); }},
                 {"registration", [&](const Item& it) { registration(it, cfg.registration); }},
                 {"store", [&](const Item& it) { store(it, cfg.store); }},
                 {"admin", [&](const Item& it) { admin(it, cfg.admin); }},
                 {"credentials",
                  [&](const Item& it) {
                      have_credentials = true;
                      credentials_list(it, cfg.credentials);
                  }},
                 {"credentials_file", [&](const Item& it) { credentials_file_item = it; }},
                 {"log", [&](const Item& it) { log(it, cfg.log); }},
                 {"threads", [&](const Item& it) { whole(it, cfg.threads, 1, 256); }},
             });

    if (credentials_file_item) {
        if (have_credentials) {
            error(credentials_file_item->path, credentials_file_item->line,
                  "give either credentials or credentials_file, not both");
        } else {
            credentials_file(*credentials_file_item, cfg);
        }
    }
    cross_checks(cfg);
}

void Loader::keepalive(const Item& it, KeepaliveConfig& k) {
    walk_map(it, {
                     {"idle", [&](const Item& v) { duration(v, k.idle, true); }},
                     {"pong_timeout", [&](const Item& v) { duration(v, k.pong_timeout, true); }},
                     {"max_missed", [&](const Item& v) { whole(v, k.max_missed, 1, 100); }},
                 });
}

void Loader::tcp(const Item& it, TcpConfig& t) {
    constexpr Duration kMinKeepalive = std::chrono::seconds(1);
    constexpr Duration kMaxKeepalive = std::chrono::seconds(32767);  // kernel limit
    walk_map(
        it,
        {
            {"nodelay", [&](const Item& v) { boolean(v, t.nodelay); }},
            {"keepalive", [&](const Item& v) { boolean(v, t.keepalive); }},
            {"keepalive_idle",
             [&](const Item& v) {
                 whole_seconds(v, t.keepalive_idle, kMinKeepalive, kMaxKeepalive);
             }},
            {"keepalive_interval",
             [&](const Item& v) {
                 whole_seconds(v, t.keepalive_interval, kMinKeepalive, kMaxKeepalive);
             }},
            {"keepalive_count", [&](const Item& v) { whole(v, t.keepalive_count, 1, 127); }},
            {"user_timeout",
             [&](const Item& v) { duration(v, t.user_timeout, false, std::chrono::hours(24)); }},
        });
}

void Loader::rate(const Item& it, RateLimit& r) {
    auto s = scalar(it, kRateForm);
    if (!s) return;
    auto per_second = parse_rate(*s);
    if (!per_second) {
        error(it.path, it.line, std::string("expected ") + kRateForm + ", got '" + *s + "'");
    } else if (*per_second <= 0) {
        error(it.path, it.line, "must be greater than 0, got '" + *s + "'");
    } else {
        r.per_second = *per_second;
    }
}

void Loader::connections(const Item& it, ConnectionsConfig& c) {
    static constexpr std::array<std::pair<const char*, CsmMode>, 2> kModes{{
        {"strict", CsmMode::strict},
        {"lenient", CsmMode::lenient},
    }};
    walk_map(
        it,
        {
            {"max",
             [&](const Item& v) { whole(v, c.max, 1, std::numeric_limits<std::uint64_t>::max()); }},
            {"max_registrations",
             [&](const Item& v) {
                 whole(v, c.max_registrations, 0, std::numeric_limits<std::uint64_t>::max());
             }},
            {"accept_rate", [&](const Item& v) { rate(v, c.accept_rate); }},
            {"accept_burst", [&](const Item& v) { whole(v, c.accept_rate.burst, 0, 100000000); }},
            {"csm_timeout", [&](const Item& v) { duration(v, c.csm_timeout, true); }},
            {"csm_mode", [&](const Item& v) { one_of(v, c.csm_mode, kModes); }},
            {"unregistered_idle", [&](const Item& v) { duration(v, c.unregistered_idle, true); }},
            // 1152 is RFC 8323's base value; BERT needs more. 8388864 = largest BERT size (8 MiB +
            // 128).
            {"max_message_size",
             [&](const Item& v) { size(v, c.max_message_size, 1152, 8388864); }},
            {"write_queue_limit",
             [&](const Item& v) { size(v, c.write_queue_limit, 1152, std::uint64_t{1} << 30); }},
            {"write_timeout", [&](const Item& v) { duration(v, c.write_timeout, true); }},
            {"request_timeout", [&](const Item& v) { duration(v, c.request_timeout, true); }},
            {"max_tls_handshakes",
             [&](const Item& v) { whole(v, c.max_tls_handshakes, 0, 1'000'000); }},
            {"max_tls_handshakes_per_address",
             [&](const Item& v) { whole(v, c.max_tls_handshakes_per_address, 0, 1'000'000); }},
        });
}

void Loader::shutdown(const Item& it, ShutdownConfig& s) {
    walk_map(it, {
                     {"drain_timeout", [&](const Item& v) { duration(v, s.drain_timeout, false); }},
                     {"hold_off_min", [&](const Item& v) { duration(v, s.hold_off_min, false); }},
                     {"hold_off_max", [&](const Item& v) { duration(v, s.hold_off_max, false); }},
                 });
}

void Loader::queue_mode(const Item& it, QueueModeConfig& q) {
    walk_map(it, {
                     {"max_queued", [&](const Item& v) { whole(v, q.max_queued, 0, 65536); }},
                     {"max_age", [&](const Item& v) { duration(v, q.max_age, true); }},
                 });
}

void Loader::device_limits(const Item& it, DeviceLimitsConfig& d) {
    walk_map(
        it,
        {
            {"uplinks_in_flight", [&](const Item& v) { whole(v, d.uplinks_in_flight, 1, 1024); }},
            {"uplinks_queued", [&](const Item& v) { whole(v, d.uplinks_queued, 0, 65536); }},
            {"notifications_per_second",
             [&](const Item& v) {
                 RateLimit r{d.notifications_per_second, 0};
                 rate(v, r);
                 d.notifications_per_second = r.per_second;
             }},
            {"notification_burst",
             [&](const Item& v) { whole(v, d.notification_burst, 1, 1'000'000); }},
        });
}

void Loader::registration(const Item& it, RegistrationConfig& r) {
    walk_map(it, {
                     {"max_lifetime",
                      [&](const Item& v) {
                          whole_seconds(v, r.max_lifetime, std::chrono::seconds(60), kMaxDuration);
                      }},
                     {"rate_per_address", [&](const Item& v) { rate(v, r.rate_per_address); }},
                     {"burst_per_address",
                      [&](const Item& v) { whole(v, r.rate_per_address.burst, 0, 100000000); }},
                 });
}

void Loader::store(const Item& it, StoreConfig& st) {
    walk_map(
        it,
        {
            {"uri",
             [&](const Item& v) {
                 auto s = scalar(v, "memory: or sqlite:///path");
                 if (!s) return;
                 constexpr std::string_view kSqlite = "sqlite://";
                 const bool sqlite = s->rfind(kSqlite, 0) == 0 && s->size() > kSqlite.size() + 1 &&
                                     (*s)[kSqlite.size()] == '/';
                 if (*s == "memory:" || *s == "memory") {
                     st.uri = "memory:";  // `uri: memory:` unquoted is bad YAML: take `memory` too
                 } else if (sqlite) {
                     st.uri = *s;
                 } else {
                     error(v.path, v.line,
                           "expected memory: or sqlite:///absolute/path.db, got '" + *s + "'");
                 }
             }},
            {"ack_after_commit", [&](const Item& v) { boolean(v, st.ack_after_commit); }},
        });
}

void Loader::admin(const Item& it, AdminConfig& a) {
    walk_map(it, {
                     {"listen",
                      [&](const Item& v) {
                          if (v.node.IsNull()) {
                              a = AdminConfig{"off", a.token, "", 0, false};
                              return;
                          }
                          auto s = scalar(v, "host:port or off");
                          if (!s) return;
                          if (s->empty() || *s == "off") {
                              a = AdminConfig{"off", a.token, "", 0, false};
                              return;
                          }
                          auto parsed = parse_authority(*s);
                          if (auto* err = std::get_if<std::string>(&parsed)) {
                              error(v.path, v.line, *err);
                              return;
                          }
                          auto& hp = std::get<HostPort>(parsed);
                          if (!hp.port) {
                              error(v.path, v.line, "expected host:port, got '" + *s + "'");
                              return;
                          }
                          a.listen = *s;
                          a.host = hp.host;
                          a.port = *hp.port;
                      }},
                     {"token",
                      [&](const Item& v) {
                          if (!optional_string(v, a.token)) return;
                          // Sent as `Authorization: Bearer <token>`: visible ASCII only.
                          for (char c : a.token) {
                              if (c <= ' ' || c > '~') {
                                  error(v.path, v.line,
                                        "the token may only contain visible ASCII characters "
                                        "(no spaces)");
                                  return;
                              }
                          }
                      }},
                 });
}

void Loader::log(const Item& it, LogConfig& l) {
    static constexpr std::array<std::pair<const char*, LogLevel>, 7> kLevels{{
        {"trace", LogLevel::trace},
        {"debug", LogLevel::debug},
        {"info", LogLevel::info},
        {"warn", LogLevel::warn},
        {"error", LogLevel::error},
        {"critical", LogLevel::critical},
        {"off", LogLevel::off},
    }};
    walk_map(it, {
                     {"level", [&](const Item& v) { one_of(v, l.level, kLevels); }},
                 });
}

void Loader::listeners(const Item& it, Config& cfg) {
    if (it.node.IsNull()) return;
    if (!it.node.IsSequence()) {
        error(it.path, it.line, "expected a list of listeners, got " + describe(it.node));
        return;
    }
    std::size_t i = 0;
    for (auto el = it.node.begin(); el != it.node.end(); ++el, ++i) {
        const int el_line = line_of(*el);
        listener(Item{indexed(it.path, i), *el, el_line > 0 ? el_line : it.line}, cfg);
    }
}

void Loader::listener(const Item& it, Config& cfg) {
    if (!it.node.IsMap()) {
        error(it.path, it.line,
              "expected a map with keys uri, tls, allow_plain_registration, got " +
                  describe(it.node));
        return;
    }
    ListenerConfig l;
    l.line = it.line;
    bool have_uri = false;
    bool uri_ok = false;
    std::optional<Item> tls_item;
    TlsConfig tls_cfg;
    TlsSeen tls_seen;
    walk_map(it,
             {
                 {"uri",
                  [&](const Item& v) {
                      have_uri = true;
                      auto s = scalar(v, "a URI like coap+tcp://127.0.0.1:5683");
                      if (!s) return;
                      auto parsed = parse_endpoint_uri(*s);
                      if (auto* err = std::get_if<std::string>(&parsed)) {
                          error(v.path, v.line, *err);
                          return;
                      }
                      auto& ep = std::get<Endpoint>(parsed);
                      if (ep.scheme != Scheme::coap_tcp && ep.scheme != Scheme::coaps_tcp) {
                          error(v.path, v.line,
                                "a listener must be coap+tcp:// or coaps+tcp://, got '" + *s + "'");
                          return;
                      }
                      l.endpoint = ep;
                      uri_ok = true;
                  }},
                 {"tls",
                  [&](const Item& v) {
                      tls_item = v;
                      tls_seen = tls(v, tls_cfg);
                  }},
                 {"allow_plain_registration",
                  [&](const Item& v) { boolean(v, l.allow_plain_registration); }},
             });
    if (!have_uri) error(join(it.path, "uri"), it.line, "missing (every listener needs a uri)");
    if (uri_ok) {
        if (l.endpoint.scheme == Scheme::coaps_tcp) {
            if (!tls_item) {
                error(join(it.path, "tls"), it.line,
                      "missing: a coaps+tcp listener needs tls with certificate and private_key, "
                      "or psk: true");
            } else if (tls_seen.is_map && !tls_seen.certificate && !tls_seen.private_key &&
                       !tls_cfg.psk && !tls_seen.psk_bad) {
                error(tls_item->path, tls_item->line,
                      "needs certificate and private_key, or psk: true");
            }
            if (tls_cfg.psk) {
                psk_listeners_.emplace_back(join(tls_item->path, "psk"),
                                            line(join(tls_item->path, "psk")));
            }
            l.tls = tls_cfg;
        } else if (tls_item) {
            error(tls_item->path, tls_item->line,
                  "tls is only for coaps+tcp:// listeners (this one is coap+tcp://)");
        }
    }
    cfg.listeners.push_back(std::move(l));
}

Loader::TlsSeen Loader::tls(const Item& it, TlsConfig& t) {
    TlsSeen seen;
    // Pairings are judged on what was written, not on what loaded, so a missing file is one error.
    auto written = [](const Item& v) { return v.node.IsScalar() && !v.node.Scalar().empty(); };
    seen.is_map = walk_map(
        it,
        {
            {"certificate",
             [&](const Item& v) {
                 seen.certificate = written(v);
                 existing_file(v, t.certificate);
             }},
            {"private_key",
             [&](const Item& v) {
                 seen.private_key = written(v);
                 existing_file(v, t.private_key);
             }},
            {"ca",
             [&](const Item& v) {
                 seen.ca = written(v);
                 existing_file(v, t.ca);
             }},
            {"require_client_certificate",
             [&](const Item& v) { boolean(v, t.require_client_certificate); }},
            {"psk", [&](const Item& v) { seen.psk_bad = !boolean(v, t.psk); }},
            {"psk_identity_hint", [&](const Item& v) { optional_string(v, t.psk_identity_hint); }},
            {"handshake_timeout", [&](const Item& v) { duration(v, t.handshake_timeout, true); }},
        });
    if (!seen.is_map) return seen;
    const std::string certificate_path = join(it.path, "certificate");
    const std::string private_key_path = join(it.path, "private_key");
    if (seen.certificate && !seen.private_key) {
        error(private_key_path, it.line, "missing: certificate needs its private_key");
    } else if (seen.private_key && !seen.certificate) {
        error(certificate_path, it.line, "missing: private_key needs its certificate");
    }
    const std::string require_path = join(it.path, "require_client_certificate");
    if (t.require_client_certificate && !seen.ca) {
        error(require_path, line(require_path),
              "needs tls.ca to verify client certificates against");
    }
    const std::string ca_path = join(it.path, "ca");
    if (seen.ca && !seen.certificate) {
        error(ca_path, line(ca_path),
              "client certificates are only requested in certificate handshakes: ca needs "
              "certificate and private_key");
    }
    return seen;
}

std::optional<Endpoint> Loader::upstream_uri(const Item& it) {
    auto s = scalar(it, "a URI like coap://127.0.0.1:5683");
    if (!s) return std::nullopt;
    auto parsed = parse_endpoint_uri(*s);
    if (auto* err = std::get_if<std::string>(&parsed)) {
        error(it.path, it.line, *err);
        return std::nullopt;
    }
    auto& ep = std::get<Endpoint>(parsed);
    if (ep.scheme != Scheme::coap && ep.scheme != Scheme::coaps) {
        error(
            it.path, it.line,
            "the LwM2M server is reached over UDP: expected coap:// or coaps://, got '" + *s + "'");
        return std::nullopt;
    }
    if (ep.port == 0) {
        error(it.path, it.line, "port 0 is not a server port: '" + *s + "'");
        return std::nullopt;
    }
    return ep;
}

void Loader::upstream(const Item& it, UpstreamConfig& up) {
    walk_map(it, {
                     {"uri",
                      [&](const Item& v) {
                          if (auto ep = upstream_uri(v)) {
                              up.uri = ep->text;
                              up.endpoint = *ep;
                          }
                      }},
                     {"bootstrap_uri",
                      [&](const Item& v) {
                          if (v.node.IsNull() || (v.node.IsScalar() && v.node.Scalar().empty())) {
                              up.bootstrap_uri.clear();
                              up.bootstrap.reset();
                              return;
                          }
                          if (auto ep = upstream_uri(v)) {
                              up.bootstrap_uri = ep->text;
                              up.bootstrap = *ep;
                          }
                      }},
                     {"ack_timeout",
                      [&](const Item& v) {
                          // libcoap 4.3.1 ignores ACK timeouts below one second.
                          if (duration(v, up.ack_timeout, true) && up.ack_timeout < 1s) {
                              error(v.path, v.line, "must be at least 1s (libcoap limit)");
                          }
                      }},
                     {"max_retransmit",
                      [&](const Item& v) {
                          // libcoap 4.3.1 ignores 0 (coap_session_set_max_retransmit keeps its
                          // default of 4), so a 0 would silently mean 4.
                          if (whole(v, up.max_retransmit, 0, 20) && up.max_retransmit == 0) {
                              error(v.path, v.line, "must be at least 1 (libcoap ignores 0)");
                          }
                      }},
                     {"dtls_resume_timeout",
                      [&](const Item& v) { duration(v, up.dtls_resume_timeout, false, 1h); }},
                     {"piggyback_window",
                      [&](const Item& v) { duration(v, up.piggyback_window, false, 1s); }},
                     {"bind", [&](const Item& v) { upstream_bind(v, up); }},
                     {"dtls", [&](const Item& v) { upstream_dtls(v, up); }},
                 });
}

// The gateway's own DTLS identity toward the core, for devices without a credentials entry.
void Loader::upstream_dtls(const Item& it, UpstreamConfig& up) {
    bool identity = false;
    bool key = false;
    walk_map(it,
             {
                 {"psk_identity",
                  [&](const Item& v) {
                      identity = true;
                      auto s = scalar(v, "a PSK identity");
                      if (!s) return;
                      if (s->empty()) error(v.path, v.line, "must not be empty");
                      up.gateway_psk_identity = *s;
                  }},
                 {"psk_key_hex",
                  [&](const Item& v) {
                      key = true;
                      hex_key(v, up.gateway_psk_key);
                  }},
                 {"certificate", [&](const Item& v) { existing_file(v, up.gateway_certificate); }},
                 {"private_key", [&](const Item& v) { existing_file(v, up.gateway_private_key); }},
                 {"ca", [&](const Item& v) { existing_file(v, up.gateway_ca); }},
             });
    if (identity != key) {
        error(join(it.path, identity ? "psk_key_hex" : "psk_identity"), it.line,
              "missing: psk_identity and psk_key_hex go together");
    }
    if (up.gateway_certificate.empty() != up.gateway_private_key.empty()) {
        error(join(it.path, up.gateway_certificate.empty() ? "certificate" : "private_key"),
              it.line, "missing: certificate and private_key go together");
    }
    if (identity && !up.gateway_certificate.empty()) {
        error(it.path, it.line, "choose one gateway identity: a PSK or a certificate, not both");
    }
}

void Loader::upstream_bind(const Item& it, UpstreamConfig& up) {
    walk_map(
        it,
        {
            {"address",
             [&](const Item& v) {
                 // One address, or a list: each address adds the whole port range, so a list
                 // lifts the 64k devices per address limit (one UDP port per device).
                 up.bind_addresses.clear();
                 auto one = [&](const Item& a) {
                     auto text = scalar(a, "an IPv4 or IPv6 address");
                     if (!text) return;
                     unsigned char buf[sizeof(in6_addr)];
                     const bool v4 = inet_pton(AF_INET, text->c_str(), buf) == 1;
                     if (!v4 && inet_pton(AF_INET6, text->c_str(), buf) != 1) {
                         error(a.path, a.line,
                               "expected an IPv4 or IPv6 address, got '" + *text + "'");
                         return;
                     }
                     for (const auto& known : up.bind_addresses) {
                         if (known == *text) {
                             error(a.path, a.line, "'" + *text + "' is listed twice");
                             return;
                         }
                         if ((inet_pton(AF_INET, known.c_str(), buf) == 1) != v4) {
                             error(a.path, a.line,
                                   "mixes IPv4 and IPv6: the core is reached over one of them");
                             return;
                         }
                     }
                     up.bind_addresses.push_back(*text);
                 };
                 if (!v.node.IsSequence()) {
                     one(v);
                     return;
                 }
                 if (v.node.size() == 0) {
                     error(v.path, v.line, "expected at least one address");
                     return;
                 }
                 std::size_t i = 0;
                 for (auto el = v.node.begin(); el != v.node.end(); ++el, ++i) {
                     const int el_line = line_of(*el);
                     one(Item{indexed(v.path, i), *el, el_line > 0 ? el_line : v.line});
                 }
             }},
            {"ports",
             [&](const Item& v) {
                 // "40000-49999", or one port.
                 auto text = scalar(v, "a port range like 40000-49999");
                 if (!text) return;
                 unsigned long first = 0, last = 0;
                 char dash = 0, extra = 0;
                 const int n =
                     std::sscanf(text->c_str(), "%lu%c%lu%c", &first, &dash, &last, &extra);
                 if (n == 1) last = first;
                 if (!((n == 1) || (n == 3 && dash == '-')) || first == 0 || last > 65535 ||
                     first > last) {
                     error(v.path, v.line,
                           "expected a port range like 40000-49999 (1-65535), got '" + *text + "'");
                     return;
                 }
                 up.bind_port_first = static_cast<std::uint16_t>(first);
                 up.bind_port_last = static_cast<std::uint16_t>(last);
             }},
        });
}

void Loader::credential(const Item& it, Credential& cred) {
    cred.line = it.line;
    bool have_endpoint = false;
    bool have_identity = false;
    bool have_key = false;
    const std::size_t before = errors_.size();
    if (!it.node.IsMap()) {
        error(it.path, it.line,
              "expected a map with keys endpoint, psk_identity, psk_key_hex, got " +
                  describe(it.node));
        ++credential_errors_;
        return;
    }
    walk_map(it, {
                     {"endpoint",
                      [&](const Item& v) {
                          have_endpoint = true;
                          auto s = scalar(v, "an endpoint name");
                          if (!s) return;
                          if (s->empty()) {
                              error(v.path, v.line, "must not be empty");
                              return;
                          }
                          cred.endpoint = *s;
                      }},
                     {"psk_identity",
                      [&](const Item& v) {
                          have_identity = true;
                          auto s = scalar(v, "a PSK identity");
                          if (!s) return;
                          if (s->empty()) {
                              error(v.path, v.line, "must not be empty");
                              return;
                          }
                          cred.psk_identity = *s;
                      }},
                     {"psk_key_hex",
                      [&](const Item& v) {
                          have_key = true;
                          hex_key(v, cred.psk_key);
                      }},
                 });
    if (!have_endpoint) error(join(it.path, "endpoint"), it.line, "missing");
    if (!have_identity) error(join(it.path, "psk_identity"), it.line, "missing");
    if (!have_key) error(join(it.path, "psk_key_hex"), it.line, "missing");
    credential_errors_ += errors_.size() - before;
}

bool Loader::hex_key(const Item& v, std::vector<std::uint8_t>& out) {
    // The key is a secret: errors describe it, never quote it.
    if (!v.node.IsScalar()) {
        error(v.path, v.line,
              "expected hex digits, got " + std::string(v.node.IsNull()  ? "nothing"
                                                        : v.node.IsMap() ? "a map"
                                                                         : "a list"));
        return false;
    }
    const std::string& hex = v.node.Scalar();
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    if (!std::all_of(hex.begin(), hex.end(), [&](char c) { return nibble(c) >= 0; })) {
        error(v.path, v.line, "expected hex digits only (0-9, a-f)");
        return false;
    }
    if (hex.size() % 2 != 0) {
        error(v.path, v.line,
              "expected an even number of hex digits, got " + std::to_string(hex.size()));
        return false;
    }
    if (hex.empty() || hex.size() > 128) {
        error(v.path, v.line, "key must be 1 to 64 bytes, got " + std::to_string(hex.size() / 2));
        return false;
    }
    out.clear();
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        out.push_back(static_cast<std::uint8_t>(nibble(hex[i]) * 16 + nibble(hex[i + 1])));
    }
    return true;
}

void Loader::credentials_list(const Item& it, std::vector<Credential>& out) {
    if (it.node.IsNull()) return;
    if (!it.node.IsSequence()) {
        error(it.path, it.line, "expected a list of credentials, got " + describe(it.node));
        ++credential_errors_;
        return;
    }
    std::size_t i = 0;
    for (auto el = it.node.begin(); el != it.node.end(); ++el, ++i) {
        const int el_line = line_of(*el);
        Credential cred;
        const Item item{indexed(it.path, i), *el, el_line > 0 ? el_line : it.line};
        credential(item, cred);
        if (!cred.endpoint.empty()) {
            auto dup = std::find_if(out.begin(), out.end(), [&](const Credential& c) {
                return c.endpoint == cred.endpoint;
            });
            if (dup != out.end()) {
                const auto first = static_cast<std::size_t>(dup - out.begin());
                error(join(item.path, "endpoint"), line(join(item.path, "endpoint")),
                      "duplicate endpoint '" + cred.endpoint + "' (also " +
                          indexed(it.path, first) + ", line " + std::to_string(dup->line) + ")");
                ++credential_errors_;
            }
        }
        if (!cred.psk_identity.empty()) {
            auto dup = std::find_if(out.begin(), out.end(), [&](const Credential& c) {
                return c.psk_identity == cred.psk_identity;
            });
            if (dup != out.end()) {
                const auto first = static_cast<std::size_t>(dup - out.begin());
                error(join(item.path, "psk_identity"), line(join(item.path, "psk_identity")),
                      "duplicate psk_identity '" + cred.psk_identity + "' (also " +
                          indexed(it.path, first) + ", line " + std::to_string(dup->line) + ")");
                ++credential_errors_;
            }
        }
        // Keep every entry (even a broken one) so that indexes in messages match the document.
        out.push_back(std::move(cred));
    }
}

void Loader::credentials_file(const Item& it, Config& cfg) {
    std::string name;
    if (!optional_string(it, name) || name.empty()) return;
    const std::string path = resolve(base_dir_, name);
    std::string why;
    auto text = read_file(path, why);
    if (!text) {
        error(it.path, it.line, "cannot read " + path + ": " + why);
        ++credential_errors_;
        return;
    }
    cfg.credentials_file = path;
    const std::size_t before = errors_.size();
    // Errors inside the credentials file carry its path and its own line numbers.
    if (auto root = parse_yaml(*text, errors_, path)) {
        Loader sub(fs::path(path).parent_path().string(), errors_, path);
        sub.credentials_list(Item{"credentials", *root, line_of(*root)}, cfg.credentials);
    }
    credential_errors_ += errors_.size() - before;
}

void Loader::cross_checks(Config& cfg) {
    if (cfg.listeners.empty()) cfg.listeners.push_back(default_listener());

    for (std::size_t j = 0; j < cfg.listeners.size(); ++j) {
        const auto& b = cfg.listeners[j].endpoint;
        if (b.host.empty() || b.port == 0) continue;
        for (std::size_t i = 0; i < j; ++i) {
            const auto& a = cfg.listeners[i].endpoint;
            if (a.host == b.host && a.port == b.port) {
                const std::string path = indexed("listeners", j) + ".uri";
                error(path, line(path),
                      "same address as " + indexed("listeners", i) + " (line " +
                          std::to_string(cfg.listeners[i].line) + ")");
                break;
            }
        }
    }

    if (cfg.credentials.empty() && credential_errors_ == 0) {
        for (const auto& [path, psk_line] : psk_listeners_) {
            error(path, psk_line,
                  "no credentials to accept: psk: true needs entries in credentials or "
                  "credentials_file");
        }
    }

    const auto& sd = cfg.shutdown;
    if (sd.hold_off_min > sd.hold_off_max) {
        const std::string path =
            line("shutdown.hold_off_min") ? "shutdown.hold_off_min" : "shutdown.hold_off_max";
        error(path, line(path),
              "hold_off_min (" + format_duration(sd.hold_off_min) +
                  ") is greater than hold_off_max (" + format_duration(sd.hold_off_max) + ")");
    }

    const auto& admin = cfg.admin;
    if (admin.enabled && !is_loopback(admin.host) && admin.token.empty()) {
        error("admin.listen", line("admin.listen"),
              "'" + admin.host +
                  "' is not a loopback address: set admin.token, or anyone who can reach it "
                  "controls the gateway");
    }
    if (admin.enabled && admin.port != 0) {
        for (std::size_t i = 0; i < cfg.listeners.size(); ++i) {
            const auto& ep = cfg.listeners[i].endpoint;
            if (ep.host == admin.host && ep.port == admin.port) {
                error("admin.listen", line("admin.listen"),
                      "same address as " + indexed("listeners", i));
            }
        }
    }
}

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
            Loader loader(base_dir, errors);
            loader.load(*root, cfg);
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
        std::string why;
        auto text = read_file(path, why);
        if (!text) {
            errors.push_back({"", 0, "cannot read config file: " + why, path});
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
