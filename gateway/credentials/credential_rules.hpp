// What a credential may hold, checked before anything is allocated for it or stored, and the
// fingerprint by which a key is shown (the key itself never is).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lwgate/util/result.hpp"
#include "store/store.hpp"

namespace lwgate::credentials {

// An endpoint name as LwM2M clients send it (ep=) fits in a CoAP Uri-Query option (255).
inline constexpr std::size_t max_endpoint_bytes = 255;
// OpenSSL's PSK identity limit (PSK_MAX_IDENTITY_LEN).
inline constexpr std::size_t max_identity_bytes = 128;
inline constexpr std::size_t max_key_bytes = 64;
inline constexpr std::size_t max_certificate_name_bytes = 255;

// A credential as an operator writes it: names in clear, the key in hex.
struct CredentialInput {
    std::string endpoint;
    std::string psk_identity;
    std::string psk_key_hex;
    std::string certificate_name;  // optional
};

// The key's bytes, or CredentialErrc::invalid naming the field.
Result<std::vector<std::uint8_t>, Error> parse_key_hex(std::string_view hex);
// Endpoint, identity, key and certificate name checked; the record (one key, added at `now`).
Result<store::CredentialRecord, Error> make_record(const CredentialInput& input,
                                                   store::UnixMillis now);
Result<void, Error> check_endpoint(std::string_view endpoint);

// "sha256:" and the first 8 bytes of SHA-256(key) in hex: enough to tell keys apart and to
// compare with what a device was provisioned with, nothing to recover the key from.
std::string fingerprint(const std::vector<std::uint8_t>& key);

}  // namespace lwgate::credentials
