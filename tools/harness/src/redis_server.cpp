#include "lwgate/harness/redis_server.hpp"

#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "lwgate/harness/process.hpp"

extern char** environ;

namespace lwgate::harness {

bool RedisServer::available() {
    return program_exists("redis-server");
}

bool RedisServer::start() {
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
        std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling, bounded
    }
    return false;
}

void RedisServer::stop(int signal) {
    if (pid_ <= 0) return;
    ::kill(pid_, signal);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
}

std::string RedisServer::cli(const std::string& args) const {
    const std::string command = "redis-cli -s '" + socket().string() + "' " + args + " 2>/dev/null";
    FILE* p = ::popen(command.c_str(), "r");
    if (!p) return "";
    std::string out;
    char buf[4096];
    while (const std::size_t n = std::fread(buf, 1, sizeof buf, p))
        out.append(buf, n);
    ::pclose(p);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r'))
        out.pop_back();
    return out;
}

}  // namespace lwgate::harness
