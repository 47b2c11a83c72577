// Typed errors of the configuration's own parsers (endpoint URIs, host:port authorities, host
// names, reading a file), for std::error_code. Error::detail keeps the words the loader puts next
// to the key; the code says what kind of problem it is, so that a caller (the loader, a tool
// parsing a URI the way the configuration does) can react without parsing text.
//
// The category is defined in this header (inline: still one instance per program), so that the
// codes are usable without linking the config library.
#pragma once

#include <string>
#include <system_error>

namespace lwgate::config {

enum class ConfigErrc {
    bad_uri = 1,        // not scheme://authority, an unknown scheme, a path, query or user info
    bad_host,           // missing, not a valid IPv4 / bracketed IPv6 address or host name
    bad_port,           // missing after ':', not a number, or above 65535
    file_not_found,     // the file does not exist
    not_a_file,         // the path names a directory
    permission_denied,  // lwgate's user may not read the file
    cannot_read,        // opening or reading failed otherwise
    // systemd credentials (system_credentials.hpp)
    no_credentials_directory,  // ${CREDENTIALS_DIRECTORY} or !credential without the variable
    bad_credential_name,       // !credential NAME: empty, a path, or ${...} not at the start
    too_large,                 // a credential above kMaxCredentialBytes
};

class ConfigCategory final : public std::error_category {
  public:
    const char* name() const noexcept override { return "lwgate.config"; }
    std::string message(int value) const override {
        switch (static_cast<ConfigErrc>(value)) {
            case ConfigErrc::bad_uri:
                return "bad URI";
            case ConfigErrc::bad_host:
                return "bad host";
            case ConfigErrc::bad_port:
                return "bad port";
            case ConfigErrc::file_not_found:
                return "file not found";
            case ConfigErrc::not_a_file:
                return "not a file";
            case ConfigErrc::permission_denied:
                return "file not readable";
            case ConfigErrc::cannot_read:
                return "cannot read file";
            case ConfigErrc::no_credentials_directory:
                return "CREDENTIALS_DIRECTORY is not set";
            case ConfigErrc::bad_credential_name:
                return "bad credential name";
            case ConfigErrc::too_large:
                return "file too large";
        }
        return "unknown lwgate.config error " + std::to_string(value);
    }
};

inline const std::error_category& config_category() noexcept {
    // Inline with a function-local static: every TU gets the same category address, which
    // error_code comparison relies on.
    static const ConfigCategory category;
    return category;
}

inline std::error_code make_error_code(ConfigErrc e) noexcept {
    return {static_cast<int>(e), config_category()};
}

}  // namespace lwgate::config

template <>
struct std::is_error_code_enum<lwgate::config::ConfigErrc> : std::true_type {};
