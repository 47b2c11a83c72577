#include "callgrind_window.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>

extern char** environ;

namespace lwgate::bench {

namespace {

// Runs `callgrind_control ARG PID` (it blocks until callgrind has processed the command).
bool control(const char* arg, pid_t pid) {
    const std::string pid_text = std::to_string(pid);
    std::vector<char*> argv = {const_cast<char*>("callgrind_control"), const_cast<char*>(arg),
                               const_cast<char*>(pid_text.c_str()), nullptr};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    pid_t child = -1;
    const int rc = posix_spawnp(&child, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) return false;
    int status = 0;
    return ::waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace

std::vector<std::string> CallgrindWindow::wrapper() const {
    return {"valgrind", "--tool=callgrind", "--instr-atstart=no",
            "--callgrind-out-file=" + dir_ + "/lwgate.%p"};
}

void CallgrindWindow::begin(pid_t pid) const {
    if (enabled()) control("--instr=on", pid);
}

std::optional<std::uint64_t> CallgrindWindow::end(pid_t pid) const {
    if (!enabled()) return std::nullopt;
    const bool dumped = control("--dump", pid);
    control("--instr=off", pid);
    if (!dumped) return std::nullopt;
    // The newest dump of this process: lwgate.<pid>.<n> with the highest n.
    const std::string prefix = "lwgate." + std::to_string(pid) + ".";
    std::filesystem::path newest;
    long newest_n = -1;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind(prefix, 0) != 0) continue;
        try {
            const long n = std::stol(name.substr(prefix.size()));
            if (n > newest_n) newest_n = n, newest = entry.path();
        } catch (...) {
        }
    }
    if (newest_n < 0) return std::nullopt;
    std::ifstream in(newest);
    for (std::string line; std::getline(in, line);) {
        // "totals:", not "summary:": callgrind 3.19 writes a wrapped-around summary into the
        // second and later dumps when instrumentation was toggled in between.
        if (line.rfind("totals: ", 0) == 0) return std::stoull(line.substr(8));
    }
    return std::nullopt;
}

}  // namespace lwgate::bench
