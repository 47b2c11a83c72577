// A redis-server of the test's own: unix socket in a temp dir, no TCP (--port 0), stopped by the
// destructor. Persistence is the caller's choice: off (--save ''), or an fsync'ed append-only
// file so that a restart keeps everything Redis acknowledged.
#pragma once

#include <hiredis/hiredis.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "lwgate/harness/process.hpp"
#include "lwgate/harness/temp_dir.hpp"

extern char** environ;

namespace lwgate::integration {

class RedisServer {
  public:
    static bool available() { return harness::program_exists("redis-server"); }

    explicit RedisServer(bool durable = false) : durable_(durable) {}
    ~RedisServer() { stop(); }
    RedisServer(const RedisServer&) = delete;
    RedisServer& operator=(const RedisServer&) = delete;

    std::filesystem::path socket() const { return dir_ / "redis.sock"; }
    std::string uri() const { return "redis+unix://" + socket().string(); }

    // Starts it and waits until it answers PING. False when it does not within 5 s.
    bool start() {
        std::vector<std::string> args = {"redis-server",
                                         "--port",
                                         "0",
                                         "--unixsocket",
                                         socket().string(),
                                         "--dir",
                                         dir_.path().string(),
                                         "--logfile",
                                         (dir_ / "redis.log").string(),
                                         "--save",
                                         ""};
        if (durable_) {
            for (const char* a : {"--appendonly", "yes", "--appendfsync", "always"})
                args.emplace_back(a);
        }
        std::vector<char*> argv;
        for (auto& a : args)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        if (posix_spawnp(&pid_, "redis-server", nullptr, nullptr, argv.data(), environ) != 0) {
            pid_ = -1;
            return false;
        }
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (std::chrono::steady_clock::now() < deadline) {
            if (ping()) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return false;
    }

    // SIGTERM (Redis writes and fsyncs what it has) or SIGKILL, and waits for the exit.
    void stop(int signal = SIGTERM) {
        if (pid_ <= 0) return;
        ::kill(pid_, signal);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
    }

    pid_t pid() const { return pid_; }
    bool ping() const { return command({"PING"}) == "PONG"; }

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

  private:
    bool durable_;
    harness::TempDir dir_{"lwgate-redis-"};
    pid_t pid_ = -1;
};

}  // namespace lwgate::integration
