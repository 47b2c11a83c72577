// The harness's redis-server (lwgate/harness/redis_server.hpp) with a binary-safe command on a
// hiredis connection of its own, for tests that send Lua scripts and binary values.
#pragma once

#include <csignal>
#include <utility>

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <string>
#include <vector>

#include "lwgate/harness/redis_server.hpp"

namespace lwgate::integration {

class RedisServer : public harness::RedisServer {
  public:
    // The Redis clients under test run in the test's process: as in lwgate, whose main ignores
    // SIGPIPE, a write into the socket of a Redis that went is an error and not the process's end.
    template <class... Args>
    explicit RedisServer(Args&&... args) : harness::RedisServer(std::forward<Args>(args)...) {
        std::signal(SIGPIPE, SIG_IGN);
    }

    // One command on a connection of its own; the reply as text (status, string or integer), or
    // "ERR: ..." / "" when it failed.
    std::string command(const std::vector<std::string>& argv) const {
        const timeval tv{1, 0};
        redisContext* c = redisConnectUnixWithTimeout(socket().c_str(), tv);
        std::string out;
        if (c && !c->err) {
            std::vector<const char*> args;
            std::vector<std::size_t> lengths;
            for (const auto& a : argv) {
                args.push_back(a.data());
                lengths.push_back(a.size());
            }
            auto* r = static_cast<redisReply*>(
                redisCommandArgv(c, static_cast<int>(args.size()), args.data(), lengths.data()));
            if (r && (r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_STRING)) {
                out.assign(r->str, r->len);
            } else if (r && r->type == REDIS_REPLY_INTEGER) {
                out = std::to_string(r->integer);
            } else if (r && r->type == REDIS_REPLY_ERROR) {
                out = "ERR: " + std::string(r->str, r->len);
            }
            if (r) freeReplyObject(r);
        }
        if (c) redisFree(c);
        return out;
    }
};

}  // namespace lwgate::integration
