// RedisStore::load_all: a blocking hiredis connection of its own, at start-up only (before the
// shards run, so nothing waits on it but the start).
#include <map>

#include <spdlog/spdlog.h>

#include "redis/record_codec.hpp"
#include "redis/redis_blocking.hpp"
#include "redis/redis_store.hpp"

namespace lwgate::redis {

namespace {

// Every key under the prefix, through SCAN (never KEYS: it blocks Redis for the whole keyspace).
Result<std::vector<std::string>, Error> scan_keys(BlockingRedis& c) {
    std::vector<std::string> keys;
    std::string cursor = "0";
    const std::string match = std::string(device_key_prefix) + "*";
    do {
        auto r = c.command({"SCAN", cursor, "MATCH", match, "COUNT", "1000"});
        if (!r) return fail(std::move(r).error());
        if (r->type != RedisReply::Type::array || r->elements.size() != 2 ||
            r->elements[0].type != RedisReply::Type::string ||
            r->elements[1].type != RedisReply::Type::array) {
            return fail(c.io_error("SCAN: unexpected reply" +
                                   (r->is_error() ? ": " + r->str : std::string())));
        }
        cursor = r->elements[0].str;
        for (auto& key : r->elements[1].elements) {
            if (key.type == RedisReply::Type::string) keys.push_back(std::move(key.str));
        }
    } while (cursor != "0");
    return keys;
}

// nullopt (with a warning) for a hash that is not a record: one bad key must not keep every
// other device from loading.
std::optional<store::DeviceRecord> record_from(const std::string& key, const RedisReply& r) {
    if (r.type != RedisReply::Type::array || r.elements.size() % 2 != 0) {
        spdlog::warn("store: skipping {}: not a hash", key);
        return std::nullopt;
    }
    std::vector<Field> fields;
    for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2) {
        const auto& f = r.elements[i];
        const auto& v = r.elements[i + 1];
        if (f.type != RedisReply::Type::string || v.type != RedisReply::Type::string) continue;
        fields.emplace_back(f.str, v.str);
    }
    if (fields.empty()) return std::nullopt;  // erased between SCAN and HGETALL
    auto decoded = decode_record(fields);
    if (!decoded) {
        spdlog::warn("store: skipping {}: {}", key, decoded.error());
        return std::nullopt;
    }
    if (device_key(decoded->endpoint) != key) {
        spdlog::warn("store: skipping {}: holds endpoint '{}'", key, decoded->endpoint);
        return std::nullopt;
    }
    return std::move(decoded).value();
}

}  // namespace

Result<std::vector<store::DeviceRecord>, Error> RedisStore::load_all() {
    auto connected = BlockingRedis::connect(address_, options_.open_timeout);
    if (!connected) return fail(std::move(connected).error());
    auto& c = *connected;
    auto keys = scan_keys(c);
    if (!keys) return fail(std::move(keys).error());
    std::vector<std::vector<std::string>> gets;
    gets.reserve(keys->size());
    for (const auto& key : *keys)
        gets.push_back({"HGETALL", key});
    auto replies = c.pipeline(gets);  // one round trip in all
    if (!replies) return fail(std::move(replies).error());
    std::map<std::string, store::DeviceRecord> devices;  // endpoint order, as SqliteStore
    for (std::size_t i = 0; i < keys->size(); ++i) {
        if (auto record = record_from((*keys)[i], (*replies)[i])) {
            auto endpoint = record->endpoint;
            devices.emplace(std::move(endpoint), std::move(*record));
        }
    }
    std::vector<store::DeviceRecord> out;
    out.reserve(devices.size());
    for (auto& [endpoint, record] : devices)
        out.push_back(std::move(record));
    return out;
}

}  // namespace lwgate::redis
