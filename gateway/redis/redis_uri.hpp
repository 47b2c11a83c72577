// Where the Redis store lives: `redis://HOST[:PORT][/DB]` or `redis+unix:///PATH[?db=N]`.
// Pure: parsing only, no connection.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "lwgate/util/result.hpp"
#include "redis/redis_error.hpp"

namespace lwgate::redis {

struct RedisAddress {
    std::string host;        // TCP: name or address (IPv6 without brackets); empty for unix
    std::uint16_t port = 0;  // TCP only
    std::string unix_path;   // unix: absolute path of the socket; empty for TCP
    int db = 0;              // SELECT after connecting
    bool is_unix() const { return !unix_path.empty(); }
    // "127.0.0.1:6379" or "unix:/run/redis.sock", with "/db" when not 0: for logs.
    std::string describe() const;
    friend bool operator==(const RedisAddress&, const RedisAddress&) = default;
};

inline constexpr std::uint16_t redis_default_port = 6379;

// True when the URI is meant for Redis (its scheme), well-formed or not: the caller then reports
// parse_redis_uri's error instead of "unknown scheme".
bool is_redis_uri(std::string_view uri);

// RedisErrc::bad_uri with the problem in words (what is wrong, not the key) for anything else.
Result<RedisAddress, Error> parse_redis_uri(std::string_view uri);

}  // namespace lwgate::redis
