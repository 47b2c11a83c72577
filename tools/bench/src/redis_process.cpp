#include "redis_process.hpp"

#include <string>

namespace lwgate::bench {

std::optional<std::uint64_t> used_memory(const RedisProcess& redis) {
    const std::string info = redis.cli("INFO memory");
    const std::string key = "used_memory:";
    const auto at = info.find(key);
    if (at == std::string::npos) return std::nullopt;
    return std::stoull(info.substr(at + key.size()));
}

}  // namespace lwgate::bench
