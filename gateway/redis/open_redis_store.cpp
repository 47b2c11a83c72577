#include "redis/open_redis_store.hpp"

#include "redis/redis_store.hpp"
#include "redis/redis_uri.hpp"

namespace lwgate::redis {

Result<std::unique_ptr<store::Store>, Error> open_any_store(const std::string& uri) {
    if (!is_redis_uri(uri)) return store::open_store(uri);
    auto address = parse_redis_uri(uri);
    if (!address) {
        // The store's own code, so callers need not know a second category for a bad URI.
        return fail(Error{store::StoreErrc::bad_uri, address.error().detail});
    }
    auto opened = RedisStore::open(*address);
    if (!opened) return fail(std::move(opened).error());
    return std::unique_ptr<store::Store>(std::move(opened).value());
}

}  // namespace lwgate::redis
