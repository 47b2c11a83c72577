// A Redis reply as plain data, copied out of hiredis's redisReply (which hiredis frees when the
// callback returns).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lwgate::redis {

struct RedisReply {
    enum class Type { string, array, integer, nil, status, error };
    Type type = Type::nil;
    std::string str;  // string, status, error
    long long integer = 0;
    std::vector<RedisReply> elements;  // array

    bool is_error() const { return type == Type::error; }
    bool is_ok_status() const { return type == Type::status && str == "OK"; }
};

}  // namespace lwgate::redis
