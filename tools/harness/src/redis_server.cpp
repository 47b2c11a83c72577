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
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
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

namespace {

// One word for sh, whatever it holds (a password may hold quotes, spaces, '$').
std::string shell_quoted(const std::string& word) {
    std::string out = "'";
    for (const char c : word)
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

}  // namespace

std::string RedisServer::cli(const std::string& args) const {
    std::string auth;
    if (!cli_user_.empty()) auth += " --user " + shell_quoted(cli_user_);
    if (!cli_password_.empty())
        auth += " --pass " + shell_quoted(cli_password_) + " --no-auth-warning";
    const std::string command =
        "redis-cli -s " + shell_quoted(socket().string()) + auth + " " + args + " 2>/dev/null";
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
