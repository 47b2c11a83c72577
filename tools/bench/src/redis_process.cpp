#include "redis_process.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

extern char** environ;

namespace lwgate::bench {

RedisProcess::~RedisProcess() {
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
}

std::string RedisProcess::socket() const {
    return (dir_ / "redis.sock").string();
}

bool RedisProcess::start() {
    std::vector<std::string> args = {"redis-server",
                                     "--port",
                                     "0",
                                     "--unixsocket",
                                     socket(),
                                     "--dir",
                                     dir_.path().string(),
                                     "--logfile",
                                     (dir_ / "redis.log").string(),
                                     "--save",
                                     ""};
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
        if (cli("PING").rfind("PONG", 0) == 0) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
}

std::string RedisProcess::cli(const std::string& args) const {
    const std::string command = "redis-cli -s '" + socket() + "' " + args + " 2>/dev/null";
    FILE* p = ::popen(command.c_str(), "r");
    if (!p) return "";
    std::string out;
    char buf[4096];
    while (const std::size_t n = std::fread(buf, 1, sizeof buf, p))
        out.append(buf, n);
    ::pclose(p);
    return out;
}

std::optional<std::uint64_t> RedisProcess::used_memory() const {
    const std::string info = cli("INFO memory");
    const std::string key = "used_memory:";
    const auto at = info.find(key);
    if (at == std::string::npos) return std::nullopt;
    return std::stoull(info.substr(at + key.size()));
}

}  // namespace lwgate::bench
