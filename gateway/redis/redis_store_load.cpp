// RedisStore::load_all: a blocking hiredis connection of its own, at start-up only (before the
// shards run, so nothing waits on it but the start).
#include <hiredis/hiredis.h>

#include <map>

#include <spdlog/spdlog.h>

#include "redis/record_codec.hpp"
#include "redis/redis_store.hpp"

namespace lwgate::redis {

namespace {

struct ContextDeleter {
    void operator()(redisContext* c) const { redisFree(c); }
};
using Context = std::unique_ptr<redisContext, ContextDeleter>;
struct ReplyDeleter {
    void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

Error io_error(const RedisAddress& a, const std::string& what) {
    return {store::StoreErrc::io, "redis " + a.describe() + ": " + what};
}

std::string context_error(redisContext* c) {
    return c ? std::string(c->errstr) : std::string("out of memory");
}

Result<Context, Error> connect_blocking(const RedisAddress& a, std::chrono::milliseconds timeout) {
    const timeval tv{static_cast<time_t>(timeout.count() / 1000),
                     static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
    Context c(a.is_unix() ? redisConnectUnixWithTimeout(a.unix_path.c_str(), tv)
                          : redisConnectWithTimeout(a.host.c_str(), a.port, tv));
    if (!c || c->err) return fail(io_error(a, "cannot connect: " + context_error(c.get())));
    redisSetTimeout(c.get(), tv);  // a Redis that stops answering must not hang the start
    return c;
}

Reply run(redisContext* c, const std::vector<std::string>& argv) {
    std::vector<const char*> args;
    std::vector<std::size_t> lengths;
    for (const auto& s : argv) {
        args.push_back(s.data());
        lengths.push_back(s.size());
    }
    return Reply(static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(args.size()), args.data(), lengths.data())));
}

// Every key under the prefix, through SCAN (never KEYS: it blocks Redis for the whole keyspace).
Result<std::vector<std::string>, Error> scan_keys(redisContext* c, const RedisAddress& a) {
    std::vector<std::string> keys;
    std::string cursor = "0";
    const std::string match = std::string(device_key_prefix) + "*";
    do {
        auto r = run(c, {"SCAN", cursor, "MATCH", match, "COUNT", "1000"});
        if (!r) return fail(io_error(a, "SCAN: " + context_error(c)));
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_ARRAY) {
            return fail(io_error(a, "SCAN: unexpected reply" + (r->type == REDIS_REPLY_ERROR
                                                                    ? ": " + std::string(r->str)
                                                                    : std::string())));
        }
        cursor.assign(r->element[0]->str, r->element[0]->len);
        const auto* list = r->element[1];
        for (std::size_t i = 0; i < list->elements; ++i) {
            if (list->element[i]->type == REDIS_REPLY_STRING)
                keys.emplace_back(list->element[i]->str, list->element[i]->len);
        }
    } while (cursor != "0");
    return keys;
}

// nullopt (with a warning) for a hash that is not a record: one bad key must not keep every
// other device from loading.
std::optional<store::DeviceRecord> record_from(const std::string& key, const redisReply* r) {
    if (r->type != REDIS_REPLY_ARRAY || r->elements % 2 != 0) {
        spdlog::warn("store: skipping {}: not a hash", key);
        return std::nullopt;
    }
    std::vector<Field> fields;
    for (std::size_t i = 0; i + 1 < r->elements; i += 2) {
        const auto* f = r->element[i];
        const auto* v = r->element[i + 1];
        if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) continue;
        fields.emplace_back(std::string(f->str, f->len), std::string(v->str, v->len));
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
    auto connected = connect_blocking(address_, options_.open_timeout);
    if (!connected) return fail(std::move(connected).error());
    auto* c = connected->get();
    if (address_.db != 0) {
        auto r = run(c, {"SELECT", std::to_string(address_.db)});
        if (!r || r->type == REDIS_REPLY_ERROR) {
            return fail(io_error(address_, "SELECT " + std::to_string(address_.db) + ": " +
                                               (r ? std::string(r->str) : context_error(c))));
        }
    }
    auto keys = scan_keys(c, address_);
    if (!keys) return fail(std::move(keys).error());
    for (const auto& key : *keys) {
        const char* argv[] = {"HGETALL", key.data()};
        const std::size_t lengths[] = {7, key.size()};
        redisAppendCommandArgv(c, 2, argv, lengths);  // pipelined: one round trip in all
    }
    std::map<std::string, store::DeviceRecord> devices;  // endpoint order, as SqliteStore
    for (const auto& key : *keys) {
        void* raw = nullptr;
        if (redisGetReply(c, &raw) != REDIS_OK) {
            return fail(io_error(address_, "HGETALL: " + context_error(c)));
        }
        Reply r(static_cast<redisReply*>(raw));
        if (auto record = record_from(key, r.get())) {
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
