#include "credentials/credential_rules.hpp"

#include <openssl/evp.h>

#include <array>

#include "credentials/credential_error.hpp"

namespace lwgate::credentials {

namespace {

Unexpected<Error> invalid(std::string detail) {
    return fail(Error{CredentialErrc::invalid, std::move(detail)});
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool printable(std::string_view text) {
    for (const unsigned char c : text)
        if (c < 0x20 || c == 0x7f) return false;
    return true;
}

Result<void, Error> check_name(std::string_view value, std::string_view field, std::size_t max,
                               bool required) {
    if (value.empty()) {
        if (required) return invalid(std::string(field) + ": missing or empty");
        return {};
    }
    if (value.size() > max)
        return invalid(std::string(field) + ": longer than " + std::to_string(max) + " bytes");
    if (!printable(value)) return invalid(std::string(field) + ": contains control characters");
    return {};
}

}  // namespace

Result<std::vector<std::uint8_t>, Error> parse_key_hex(std::string_view hex) {
    if (hex.empty()) return invalid("psk_key_hex: missing or empty");
    if (hex.size() % 2 != 0) return invalid("psk_key_hex: odd number of hex digits");
    if (hex.size() / 2 > max_key_bytes)
        return invalid("psk_key_hex: longer than " + std::to_string(max_key_bytes) + " bytes");
    std::vector<std::uint8_t> key;
    key.reserve(hex.size() / 2);
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        const int hi = hex_value(hex[i]);
        const int lo = hex_value(hex[i + 1]);
        if (hi < 0 || lo < 0) return invalid("psk_key_hex: not hexadecimal");
        key.push_back(static_cast<std::uint8_t>(hi * 16 + lo));
    }
    return key;
}

Result<void, Error> check_endpoint(std::string_view endpoint) {
    return check_name(endpoint, "endpoint", max_endpoint_bytes, true);
}

Result<store::CredentialRecord, Error> make_record(const CredentialInput& input,
                                                   store::UnixMillis now) {
    if (auto ok = check_endpoint(input.endpoint); !ok) return fail(std::move(ok).error());
    if (auto ok = check_name(input.psk_identity, "psk_identity", max_identity_bytes, true); !ok)
        return fail(std::move(ok).error());
    if (auto ok = check_name(input.certificate_name, "certificate_name", max_certificate_name_bytes,
                             false);
        !ok)
        return fail(std::move(ok).error());
    auto key = parse_key_hex(input.psk_key_hex);
    if (!key) return fail(std::move(key).error());
    store::CredentialRecord record;
    record.endpoint = input.endpoint;
    record.keys.push_back({input.psk_identity, std::move(key).value(), now});
    record.certificate_name = input.certificate_name;
    record.updated = now;
    return record;
}

std::string fingerprint(const std::vector<std::uint8_t>& key) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int size = 0;
    if (EVP_Digest(key.data(), key.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1)
        return "sha256:?";
    static constexpr char digits[] = "0123456789abcdef";
    std::string out = "sha256:";
    for (unsigned int i = 0; i < 8 && i < size; ++i) {
        out += digits[digest[i] >> 4];
        out += digits[digest[i] & 0xf];
    }
    return out;
}

}  // namespace lwgate::credentials
