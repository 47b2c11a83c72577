// A DeviceRecord as the fields of one Redis hash, and back. Pure.
//
// Scalars are decimal text (readable with redis-cli HGETALL); the location is "/rd/5" as in the
// SQLite store; observations and held requests are length-prefixed binary blobs (tokens and
// requests are binary anyway), in the order the record holds them. Decoding checks every length
// and range: a damaged hash is reported, never trusted.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lwgate/util/result.hpp"
#include "store/store.hpp"

namespace lwgate::redis {

inline constexpr std::string_view device_key_prefix = "lwgate:dev:";
inline constexpr int record_format_version = 1;

using Field = std::pair<std::string, std::string>;

// "lwgate:dev:{urn:imei:1}": the braces are Redis Cluster's hash tag, so everything of one
// endpoint stays in one slot whatever the endpoint contains.
std::string device_key(std::string_view endpoint);

std::vector<Field> encode_record(const store::DeviceRecord& record);

// From HGETALL's field/value pairs. On failure the problem in words (which field, what is wrong).
Result<store::DeviceRecord, std::string> decode_record(const std::vector<Field>& fields);

}  // namespace lwgate::redis
