// A blocking Redis connection, for start-up only (before the shards run, so nothing waits on it
// but the start): loading the records, taking the instance lease, claiming the endpoints an
// earlier run of this instance held. Everything later goes through RedisConnection (async).
// It resolves a host name synchronously (hiredis's getaddrinfo): acceptable because it runs only
// at start-up and on the admin thread, where a slow DNS server delays that caller alone and no
// device's traffic.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "lwgate/util/result.hpp"
#include "redis/redis_reply.hpp"
#include "redis/redis_uri.hpp"

struct redisContext;

namespace lwgate::redis {

class BlockingRedis {
  public:
    // Connects (and SELECTs the URI's database). On failure StoreErrc::io naming the address.
    static Result<BlockingRedis, Error> connect(const RedisAddress& address,
                                                std::chrono::milliseconds timeout);
    // One command; a Redis error reply is a success here (reply.is_error()).
    Result<RedisReply, Error> command(const std::vector<std::string>& argv);
    // Several commands in one round trip; their replies in order.
    Result<std::vector<RedisReply>, Error> pipeline(
        const std::vector<std::vector<std::string>>& commands);
    redisContext* context() { return context_.get(); }
    // StoreErrc::io with "redis ADDRESS: what".
    Error io_error(const std::string& what) const;
    std::string last_error() const;

  private:
    struct Deleter {
        void operator()(redisContext* c) const;
    };
    BlockingRedis(RedisAddress address, redisContext* c)
        : address_(std::move(address)), context_(c) {}
    RedisAddress address_;
    std::unique_ptr<redisContext, Deleter> context_;
};

// hiredis's reply as plain data.
RedisReply copy_reply(const void* hiredis_reply);

}  // namespace lwgate::redis
