// Loads and validates the YAML configuration before anything starts. Every problem is reported
// with the key path and the line, and all problems are collected, not just the first.
#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/config.hpp"
#include "config/config_error.hpp"
#include "lwgate/util/result.hpp"

namespace lwgate::config {

struct ConfigError {
    std::string key;  // dotted path, e.g. "listeners[1].tls.certificate"; list indexes are 0-based
    int line = 0;     // 1-based; 0 when unknown (e.g. file not readable)
    std::string message;
    // Set only when the error is not in the main config text: the credentials_file, or the config
    // file itself when it cannot be read.
    std::string file;
    // "line 12: listeners[1].tls.certificate: file not found"; without a line: "key: message";
    // with a file: "creds.yaml line 3: credentials[0].psk_key_hex: ..."
    std::string to_string() const;
};

using LoadResult = std::variant<Config, std::vector<ConfigError>>;

// base_dir resolves relative file names (certificates, credentials_file) against the config file.
// An empty document (or one with only comments) yields the defaults. No exception escapes: YAML
// syntax errors, unreadable files and unexpected failures come back as ConfigErrors.
LoadResult load_config_string(std::string_view yaml, const std::string& base_dir = ".");
LoadResult load_config_file(const std::string& path);  // base_dir = the file's directory

// Parses "coap+tcp://host:port" / "coaps://[::1]:5684". Port defaults per scheme
// (5683 plain, 5684 secure). Host: IPv4, [IPv6] or a DNS name. Port 0 is accepted here (listeners
// may bind any free port); the loader rejects it for upstream URIs. A trailing "/" is tolerated;
// any other path, a query, a fragment or user info is an error. On failure: ConfigErrc::bad_uri
// (the URI's form), bad_host or bad_port (its authority).
Result<Endpoint, Error> parse_endpoint_uri(std::string_view uri);

}  // namespace lwgate::config
