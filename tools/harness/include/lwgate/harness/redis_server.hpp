// A redis-server of the caller's own, for tests and benchmarks: unix socket in a temporary
// directory, no TCP (--port 0), stopped (SIGTERM) by the destructor. Persistence is the caller's
// choice: off (--save ''), or an fsync'ed append-only file so that a restart keeps everything
// Redis acknowledged. Queries go through redis-cli, so users need no Redis client library.
// Further redis-server arguments (a password, ACL users) may be given; they apply to every
// start, so a restart keeps them.
#pragma once

#include <sys/types.h>

#include <csignal>
#include <filesystem>
#include <string>
#include <vector>

#include "lwgate/harness/temp_dir.hpp"

namespace lwgate::harness {

class RedisServer {
  public:
    static bool available();  // redis-server is installed

    explicit RedisServer(bool durable = false) : durable_(durable) {}
    ~RedisServer() { stop(); }
    RedisServer(const RedisServer&) = delete;
    RedisServer& operator=(const RedisServer&) = delete;

    // Appended to redis-server's command line at every start(), after the harness's own (a
    // later option wins): {"--requirepass", "pw"}, {"--user", "alice", "on", ">pw", "~*", ...}.
    void set_extra_args(std::vector<std::string> args) { extra_args_ = std::move(args); }
    // What cli() (and so ping() and start()) logs in with: a password (redis-cli --pass), with
    // a user name for an ACL user (--user). An empty password: no login.
    void set_cli_auth(std::string password, std::string user = {}) {
        cli_password_ = std::move(password);
        cli_user_ = std::move(user);
    }

    std::filesystem::path socket() const { return dir_ / "redis.sock"; }
    std::string uri() const { return "redis+unix://" + socket().string(); }
    pid_t pid() const { return pid_; }

    // Starts it (again, on the same socket and directory) and waits until it answers PING.
    // False when it does not within 5 s.
    bool start();
    // SIGTERM (Redis writes and fsyncs what it has) or SIGKILL, and waits for the exit.
    void stop(int signal = SIGTERM);
    // `redis-cli -s SOCKET args...`: its output without the trailing newline ("" on failure).
    std::string cli(const std::string& args) const;
    bool ping() const { return cli("PING") == "PONG"; }

  private:
    bool durable_;
    std::vector<std::string> extra_args_;
    std::string cli_password_;
    std::string cli_user_;
    TempDir dir_{"lwgate-redis-"};
    pid_t pid_ = -1;
};

}  // namespace lwgate::harness
