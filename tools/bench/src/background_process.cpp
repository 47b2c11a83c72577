#include "background_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>

extern char** environ;

namespace lwgate::bench {

BackgroundProcess::BackgroundProcess(std::vector<std::string> args, std::filesystem::path log)
    : name_(args.at(0)), log_(std::move(log)) {
    std::vector<char*> argv;
    for (auto& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    // stdin is a pipe that stays open until stop(): openssl s_server ends at its end of input.
    int in[2];
    if (::pipe2(in, O_CLOEXEC) != 0) throw std::runtime_error("pipe: " + name_);
    stdin_ = in[1];
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_addopen(&fa, 1, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    const int rc = posix_spawnp(&pid_, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(in[0]);
    if (rc != 0) {
        pid_ = -1;
        throw std::runtime_error("cannot start " + name_);
    }
}

BackgroundProcess::~BackgroundProcess() {
    stop(SIGKILL);
}

std::string BackgroundProcess::log() const {
    std::ifstream in(log_);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

void BackgroundProcess::wait_for_output(std::string_view text,
                                        std::chrono::milliseconds limit) const {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (log().find(text) == std::string::npos) {
        int status = 0;
        if (pid_ > 0 && ::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            throw std::runtime_error(name_ + " ended: " + log());
        }
        if (std::chrono::steady_clock::now() > until)
            throw std::runtime_error(name_ + " did not say '" + std::string(text) + "': " + log());
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

void BackgroundProcess::stop(int signal) {
    if (stdin_ >= 0) ::close(std::exchange(stdin_, -1));
    if (pid_ <= 0) return;
    ::kill(pid_, signal);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
}

}  // namespace lwgate::bench
