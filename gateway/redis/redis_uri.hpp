// Where the Redis store lives, and how to log in:
// `redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]` or `redis+unix://[[USER]:PASSWORD@]/PATH[?db=N]`.
// Pure: parsing only, no connection.
#pragma once

#include <cstddef>
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
    // AUTH before anything else, percent-decoded. An empty password: no AUTH. A user name needs
    // a password (Redis 6 ACL: AUTH USER PASSWORD); without one Redis's `default` user is meant.
    std::string username;
    std::string password;  // a secret: never logged, never in an error message
    bool is_unix() const { return !unix_path.empty(); }
    // "127.0.0.1:6379" or "unix:/run/redis.sock", "user@" before it when there is a user name,
    // "/db" after it when not 0: for logs. Never the password.
    std::string describe() const;
    friend bool operator==(const RedisAddress&, const RedisAddress&) = default;
};

inline constexpr std::uint16_t redis_default_port = 6379;
// The longest user name and password, decoded. Redis allows longer ones; a longer value in a
// configuration file is more likely a mistake (a pasted key file) than a password.
inline constexpr std::size_t redis_max_credential = 256;

// True when the URI is meant for Redis (its scheme), well-formed or not: the caller then reports
// parse_redis_uri's error instead of "unknown scheme".
bool is_redis_uri(std::string_view uri);

// RedisErrc::bad_uri with the problem in words (what is wrong, not the key) for anything else.
// The words never hold the password, nor anything that might be part of it.
Result<RedisAddress, Error> parse_redis_uri(std::string_view uri);

// `uri` fit for a log line or an error message, whatever its scheme or validity: the password
// of its user information replaced by ***, "redis://alice:***@host:6379/2". User information
// without ':' is hidden whole ("***@host"): some clients take a lone part for the password.
std::string redact_uri(std::string_view uri);

}  // namespace lwgate::redis
