// A redis-server of the bench's own (the cluster scenario's shared store): unix socket in a
// temporary directory, no TCP (--port 0), no persistence (--save ''), killed by the destructor.
// Queries go through redis-cli, so that the bench needs no Redis client library of its own.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "lwgate/harness/temp_dir.hpp"

namespace lwgate::bench {

class RedisProcess {
  public:
    RedisProcess() = default;
    ~RedisProcess();
    RedisProcess(const RedisProcess&) = delete;
    RedisProcess& operator=(const RedisProcess&) = delete;

    // Starts it and waits (up to 5 s) until it answers PING.
    bool start();
    std::string socket() const;
    std::string uri() const { return "redis+unix://" + socket(); }
    pid_t pid() const { return pid_; }

    // `redis-cli -s SOCKET args...`, its output (empty when it failed).
    std::string cli(const std::string& args) const;
    // INFO memory's used_memory, in bytes.
    std::optional<std::uint64_t> used_memory() const;

  private:
    harness::TempDir dir_{"lwgate-bench-redis-"};
    pid_t pid_ = -1;
};

}  // namespace lwgate::bench
