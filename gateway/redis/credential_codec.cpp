#include "redis/credential_codec.hpp"

#include <nlohmann/json.hpp>

namespace lwgate::redis {
namespace {

using nlohmann::json;

constexpr int credential_format_version = 1;

std::string hex_of(const store::Bytes& bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (auto b : bytes) {
        out.push_back(digits[b >> 4]);
        out.push_back(digits[b & 0xf]);
    }
    return out;
}

bool bytes_of(std::string_view hex, store::Bytes& out) {
    if (hex.size() % 2 != 0) return false;
    const auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    out.clear();
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        const int hi = nibble(hex[i]);
        const int lo = nibble(hex[i + 1]);
        if (hi < 0 || lo < 0) return false;
        out.push_back(static_cast<std::uint8_t>(hi << 4 | lo));
    }
    return true;
}

Result<store::PskKeyRecord, std::string> key_from(const json& k) {
    if (!k.is_object() || !k.contains("identity") || !k["identity"].is_string() ||
        !k.contains("key") || !k["key"].is_string() || !k.contains("added") ||
        !k["added"].is_number_integer())
        return fail(std::string("a key without identity, key or added"));
    store::PskKeyRecord key;
    key.identity = k["identity"].get<std::string>();
    if (!bytes_of(k["key"].get<std::string>(), key.key) || key.key.empty() || key.key.size() > 64)
        return fail("the key of '" + key.identity + "' is not 1 to 64 bytes of hex");
    key.added = k["added"].get<store::UnixMillis>();
    return key;
}

}  // namespace

std::string encode_credential(const store::CredentialRecord& record) {
    json keys = json::array();
    for (const auto& k : record.keys)
        keys.push_back({{"identity", k.identity}, {"key", hex_of(k.key)}, {"added", k.added}});
    return json{{"v", credential_format_version},    {"endpoint", record.endpoint},
                {"keys", std::move(keys)},           {"certificate_name", record.certificate_name},
                {"from_config", record.from_config}, {"updated", record.updated}}
        .dump();
}

Result<store::CredentialRecord, std::string> decode_credential(std::string_view text) {
    const auto j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return fail(std::string("not a JSON object"));
    if (j.value("v", 0) != credential_format_version)
        return fail("format version " + j.value("v", json()).dump() + ", not " +
                    std::to_string(credential_format_version));
    store::CredentialRecord r;
    const auto text_of = [&](const char* name, std::string& out) {
        if (!j.contains(name) || !j[name].is_string()) return false;
        out = j[name].get<std::string>();
        return true;
    };
    if (!text_of("endpoint", r.endpoint) || r.endpoint.empty())
        return fail(std::string("no endpoint"));
    if (!text_of("certificate_name", r.certificate_name))
        return fail(std::string("no certificate_name"));
    if (!j.contains("keys") || !j["keys"].is_array()) return fail(std::string("no keys"));
    for (const auto& k : j["keys"]) {
        auto key = key_from(k);
        if (!key) return fail(std::move(key).error());
        r.keys.push_back(std::move(*key));
    }
    r.from_config = j.value("from_config", false);
    r.updated = j.contains("updated") && j["updated"].is_number_integer()
                    ? j["updated"].get<store::UnixMillis>()
                    : 0;
    return r;
}

std::string credential_names(const store::CredentialRecord& record) {
    std::string names;
    for (const auto& k : record.keys)
        names += "psk:" + k.identity + "\n";
    if (!record.certificate_name.empty()) names += "cert:" + record.certificate_name + "\n";
    return names;
}

}  // namespace lwgate::redis
