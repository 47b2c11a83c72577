// Device credentials in Redis, shared by every instance of a cluster. Pure: the keys, a record
// as one JSON value and back, and the names a record claims.
//
// Layout (one hash tag, so that the one script that writes them may touch them all on a Redis
// Cluster too):
//   lwgate:{credentials}             hash  endpoint -> the record (JSON, keys in hex)
//   lwgate:{credentials}:names       hash  "psk:IDENTITY" / "cert:NAME" -> endpoint
//   lwgate:{credentials}:names-of    hash  endpoint -> its names, one per line
//   lwgate:{credentials}:changes     stream, one entry per changed endpoint (field "ep"), capped
// The names hash makes an identity speak for one endpoint across instances: the write script
// refuses a name another endpoint holds, whatever the writer's own table says.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lwgate/util/result.hpp"
#include "store/store.hpp"

namespace lwgate::redis {

inline constexpr std::string_view credentials_key = "lwgate:{credentials}";
inline constexpr std::string_view credential_names_key = "lwgate:{credentials}:names";
inline constexpr std::string_view credential_names_of_key = "lwgate:{credentials}:names-of";
inline constexpr std::string_view credential_changes_key = "lwgate:{credentials}:changes";

std::string encode_credential(const store::CredentialRecord& record);
// On failure the problem in words: a damaged value is reported, never trusted.
Result<store::CredentialRecord, std::string> decode_credential(std::string_view text);

// "psk:ID" for each key's identity and "cert:NAME" for a certificate name, one per line: what
// the record claims in the names hash.
std::string credential_names(const store::CredentialRecord& record);

}  // namespace lwgate::redis
