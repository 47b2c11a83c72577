// Typed errors of credential changes (CredentialService), for std::error_code. The admin API
// maps each to an HTTP status; the words (which field, which endpoint holds an identity) are in
// Error::detail.
#pragma once

#include <string>
#include <system_error>

namespace lwgate::credentials {

enum class CredentialErrc {
    invalid = 1,        // a field is missing, empty, too long, or a key is not 1..64 bytes of hex
    not_found,          // no credentials for the endpoint
    identity_taken,     // the PSK identity belongs to another endpoint
    certificate_taken,  // the certificate name speaks for another endpoint
    same_identity,      // a rotation to the identity already in use (see rotate())
    nothing_to_retire,  // retire without an older key, or of the only key
    store_failed,       // the store refused the write: nothing changed
    unsupported,        // the store cannot keep credentials (a Store without them)
};

class CredentialCategory final : public std::error_category {
  public:
    const char* name() const noexcept override { return "lwgate.credentials"; }
    std::string message(int value) const override {
        switch (static_cast<CredentialErrc>(value)) {
            case CredentialErrc::invalid:
                return "invalid credential";
            case CredentialErrc::not_found:
                return "no such credential";
            case CredentialErrc::identity_taken:
                return "PSK identity in use by another endpoint";
            case CredentialErrc::certificate_taken:
                return "certificate name in use by another endpoint";
            case CredentialErrc::same_identity:
                return "rotation to the identity in use";
            case CredentialErrc::nothing_to_retire:
                return "no older key to retire";
            case CredentialErrc::store_failed:
                return "credential store write failed";
            case CredentialErrc::unsupported:
                return "credentials cannot be changed with this store";
        }
        return "unknown lwgate.credentials error " + std::to_string(value);
    }
};

inline const std::error_category& credential_category() noexcept {
    static const CredentialCategory category;
    return category;
}

inline std::error_code make_error_code(CredentialErrc e) noexcept {
    return {static_cast<int>(e), credential_category()};
}

}  // namespace lwgate::credentials

template <>
struct std::is_error_code_enum<lwgate::credentials::CredentialErrc> : std::true_type {};
