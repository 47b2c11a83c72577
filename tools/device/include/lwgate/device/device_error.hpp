// Typed errors of the device side (resolving, setting up TLS), for std::error_code. OpenSSL's own
// words and the file at fault stay in Error::detail; the code says which step failed, so that a
// caller can tell a bad configuration from a per-connection failure without parsing text.
//
// The category is defined in this header (inline: still one instance per program), as the
// gateway's store errors are.
#pragma once

#include <string>
#include <system_error>

namespace lwgate::device {

enum class DeviceErrc {
    resolve = 1,      // getaddrinfo found no address for the host
    tls_context,      // OpenSSL could not make an SSL_CTX
    tls_ciphers,      // a cipher list or TLS 1.3 suite list OpenSSL rejects
    tls_credentials,  // certificate, private key or CA bundle unreadable or mismatched
    tls_alpn,         // an ALPN protocol name that cannot be sent
    tls_connection,   // OpenSSL could not make an SSL for one connection
};

class DeviceCategory final : public std::error_category {
  public:
    const char* name() const noexcept override { return "lwgate.device"; }
    std::string message(int value) const override {
        switch (static_cast<DeviceErrc>(value)) {
            case DeviceErrc::resolve:
                return "cannot resolve the address";
            case DeviceErrc::tls_context:
                return "cannot create the TLS context";
            case DeviceErrc::tls_ciphers:
                return "TLS cipher list rejected";
            case DeviceErrc::tls_credentials:
                return "TLS credentials rejected";
            case DeviceErrc::tls_alpn:
                return "bad ALPN";
            case DeviceErrc::tls_connection:
                return "cannot create the TLS connection";
        }
        return "unknown lwgate.device error " + std::to_string(value);
    }
};

inline const std::error_category& device_category() noexcept {
    // A function-local static in an inline function: one address in every TU, which
    // error_code comparison relies on.
    static const DeviceCategory category;
    return category;
}

inline std::error_code make_error_code(DeviceErrc e) noexcept {
    return {static_cast<int>(e), device_category()};
}

}  // namespace lwgate::device

template <>
struct std::is_error_code_enum<lwgate::device::DeviceErrc> : std::true_type {};
