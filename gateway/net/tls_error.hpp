// Typed errors of the TLS server set-up (TlsServerContext::create for the listeners,
// make_https_context for the admin API), for std::error_code.
// Error::detail keeps the words the operator sees (which file, OpenSSL's own messages); the code
// says which part of the set-up failed, so that a caller can react without parsing text.
//
// The category is defined in this header (inline: still one instance per program), so that the
// codes are usable without linking the net library.
#pragma once

#include <string>
#include <system_error>

namespace lwgate::net {

enum class TlsErrc {
    cipher_list = 1,  // OpenSSL took none of the cipher suites (built without them)
    certificate,      // tls.certificate cannot be loaded as a PEM certificate chain
    private_key,      // tls.private_key is not a PEM key, or another key of the certificate's type
    key_mismatch,     // tls.private_key is a key of another type than tls.certificate's
    ca,               // tls.ca cannot be loaded as PEM certificates
    no_context,       // OpenSSL could not make an SSL_CTX (out of memory)
};

class TlsCategory final : public std::error_category {
  public:
    const char* name() const noexcept override { return "lwgate.tls"; }
    std::string message(int value) const override {
        switch (static_cast<TlsErrc>(value)) {
            case TlsErrc::cipher_list:
                return "no usable TLS cipher suite";
            case TlsErrc::certificate:
                return "cannot load the TLS certificate";
            case TlsErrc::private_key:
                return "cannot load the TLS private key";
            case TlsErrc::key_mismatch:
                return "TLS private key does not match the certificate";
            case TlsErrc::ca:
                return "cannot load the TLS CA certificates";
            case TlsErrc::no_context:
                return "cannot create a TLS context";
        }
        return "unknown lwgate.tls error " + std::to_string(value);
    }
};

inline const std::error_category& tls_category() noexcept {
    // Inline with a function-local static: every TU gets the same category address, which
    // error_code comparison relies on.
    static const TlsCategory category;
    return category;
}

inline std::error_code make_error_code(TlsErrc e) noexcept {
    return {static_cast<int>(e), tls_category()};
}

}  // namespace lwgate::net

template <>
struct std::is_error_code_enum<lwgate::net::TlsErrc> : std::true_type {};
