// Typed errors of the Redis client and store, for std::error_code. The words (which address,
// Redis's own message) are in Error::detail or logged; the code says what kind of problem it is.
//
// The category is defined in this header (inline: still one instance per program), so the codes
// are usable without linking lwgate_redis.
#pragma once

#include <string>
#include <system_error>

namespace lwgate::redis {

enum class RedisErrc {
    bad_uri = 1,     // store.uri is not redis://HOST:PORT[/DB] nor redis+unix:///PATH[?db=N]
    connect_failed,  // no connection to Redis (refused, no such socket, timed out)
    disconnected,    // the connection dropped before the reply arrived
    queue_full,      // more commands waiting than the connection's bound
    reply_error,     // Redis answered with an error (-ERR ..., EXECABORT)
    bad_reply,       // a reply of an unexpected type or content
    shutting_down,   // the connection was closed while the command waited
};

class RedisCategory final : public std::error_category {
  public:
    const char* name() const noexcept override { return "lwgate.redis"; }
    std::string message(int value) const override {
        switch (static_cast<RedisErrc>(value)) {
            case RedisErrc::bad_uri:
                return "bad Redis URI";
            case RedisErrc::connect_failed:
                return "cannot connect to Redis";
            case RedisErrc::disconnected:
                return "Redis connection lost";
            case RedisErrc::queue_full:
                return "Redis command queue full";
            case RedisErrc::reply_error:
                return "Redis error reply";
            case RedisErrc::bad_reply:
                return "unexpected Redis reply";
            case RedisErrc::shutting_down:
                return "Redis connection shutting down";
        }
        return "unknown lwgate.redis error " + std::to_string(value);
    }
};

inline const std::error_category& redis_category() noexcept {
    // Function-local static in an inline function: one address in every TU, which
    // error_code comparison relies on.
    static const RedisCategory category;
    return category;
}

inline std::error_code make_error_code(RedisErrc e) noexcept {
    return {static_cast<int>(e), redis_category()};
}

}  // namespace lwgate::redis

template <>
struct std::is_error_code_enum<lwgate::redis::RedisErrc> : std::true_type {};
