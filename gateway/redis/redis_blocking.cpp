#include "redis/redis_blocking.hpp"

#include <hiredis/hiredis.h>

#include "store/store_error.hpp"

namespace lwgate::redis {

RedisReply copy_reply(const void* hiredis_reply) {
    const auto* r = static_cast<const redisReply*>(hiredis_reply);
    RedisReply out;
    switch (r->type) {
        case REDIS_REPLY_STRING:
        case REDIS_REPLY_STATUS:
        case REDIS_REPLY_ERROR:
            out.type = r->type == REDIS_REPLY_STRING   ? RedisReply::Type::string
                       : r->type == REDIS_REPLY_STATUS ? RedisReply::Type::status
                                                       : RedisReply::Type::error;
            out.str.assign(r->str, r->len);
            break;
        case REDIS_REPLY_INTEGER:
            out.type = RedisReply::Type::integer;
            out.integer = r->integer;
            break;
        case REDIS_REPLY_ARRAY:
            out.type = RedisReply::Type::array;
            out.elements.reserve(r->elements);
            for (std::size_t i = 0; i < r->elements; ++i)
                out.elements.push_back(copy_reply(r->element[i]));
            break;
        default:
            out.type = RedisReply::Type::nil;
    }
    return out;
}

void BlockingRedis::Deleter::operator()(redisContext* c) const {
    redisFree(c);
}

Error BlockingRedis::io_error(const std::string& what) const {
    return {store::StoreErrc::io, "redis " + address_.describe() + ": " + what};
}

std::string BlockingRedis::last_error() const {
    return context_ ? std::string(context_->errstr) : std::string("out of memory");
}

Result<BlockingRedis, Error> BlockingRedis::connect(const RedisAddress& a,
                                                    std::chrono::milliseconds timeout) {
    const timeval tv{static_cast<time_t>(timeout.count() / 1000),
                     static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
    BlockingRedis c(a, a.is_unix() ? redisConnectUnixWithTimeout(a.unix_path.c_str(), tv)
                                   : redisConnectWithTimeout(a.host.c_str(), a.port, tv));
    if (!c.context_ || c.context_->err)
        return fail(c.io_error("cannot connect: " + c.last_error()));
    redisSetTimeout(c.context(), tv);  // a Redis that stops answering must not hang the start
    if (!a.password.empty()) {
        std::vector<std::string> auth{"AUTH"};
        if (!a.username.empty()) auth.push_back(a.username);
        auth.push_back(a.password);
        auto r = c.command(auth);  // its errors name the command ("AUTH: ..."), never its words
        if (!r) return fail(std::move(r).error());
        // Redis's answer ("WRONGPASS ...", "ERR AUTH ... called without any password
        // configured") never quotes the password.
        if (r->is_error()) return fail(c.io_error("AUTH: " + r->str));
    }
    if (a.db != 0) {
        auto r = c.command({"SELECT", std::to_string(a.db)});
        if (!r) return fail(std::move(r).error());
        if (r->is_error())
            return fail(c.io_error("SELECT " + std::to_string(a.db) + ": " + r->str));
    }
    return c;
}

Result<RedisReply, Error> BlockingRedis::command(const std::vector<std::string>& argv) {
    auto replies = pipeline({argv});
    if (!replies) return fail(std::move(replies).error());
    return std::move(replies->front());
}

Result<std::vector<RedisReply>, Error> BlockingRedis::pipeline(
    const std::vector<std::vector<std::string>>& commands) {
    for (const auto& argv : commands) {
        std::vector<const char*> args;
        std::vector<std::size_t> lengths;
        for (const auto& s : argv) {
            args.push_back(s.data());
            lengths.push_back(s.size());
        }
        redisAppendCommandArgv(context(), static_cast<int>(args.size()), args.data(),
                               lengths.data());
    }
    std::vector<RedisReply> out;
    out.reserve(commands.size());
    for (std::size_t i = 0; i < commands.size(); ++i) {
        void* raw = nullptr;
        if (redisGetReply(context(), &raw) != REDIS_OK || !raw)
            return fail(io_error(commands[i].front() + ": " + last_error()));
        out.push_back(copy_reply(raw));
        freeReplyObject(raw);
    }
    return out;
}

}  // namespace lwgate::redis
