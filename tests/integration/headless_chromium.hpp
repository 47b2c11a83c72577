// Headless Chromium for the status page's tests: loads a URL, lets the page's script run and
// returns the DOM it built (--dump-dom). Chromium runs in a process group of its own, with a fresh
// profile, and every process of the group is killed when it is done or out of time, so no
// renderer or helper outlives the test. Its host resolver knows no name but 127.0.0.1: a page
// that tried to load anything from elsewhere would fail the test, not reach the network.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "lwgate/harness/process.hpp"

namespace lwgate::integration {

// Debian's `chromium` (tools/deps.sh --test); nullopt when it is not installed.
inline std::optional<std::string> chromium_program() {
    for (const char* name : {"chromium", "chromium-browser"})
        if (harness::program_exists(name)) return std::string(name);
    return std::nullopt;
}

struct DumpedDom {
    bool finished = false;  // exited within the time limit
    int exit_code = -1;
    std::string dom;  // stdout: the serialized DOM
    std::string log;  // stderr, for a failure message
};

namespace detail {

inline std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// In the child, between fork and exec: only async-signal-safe calls.
[[noreturn]] inline void exec_in_own_group(const std::vector<char*>& argv, const char* out,
                                           const char* err) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    const int in_fd = ::open("/dev/null", O_RDONLY);
    const int out_fd = ::open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err_fd = ::open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in_fd < 0 || out_fd < 0 || err_fd < 0) ::_exit(126);
    ::dup2(in_fd, 0);
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
}

// Waits for `pid` to exit, without reaping it (so its process group id cannot be reused), polling
// every 20 ms up to `deadline`. True if it exited.
inline bool wait_for_exit(pid_t pid, std::chrono::steady_clock::time_point deadline) {
    while (true) {
        siginfo_t info{};
        if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0)
            return true;  // nothing to wait for any more
        if (info.si_pid == pid) return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

}  // namespace detail

// `url` loaded in headless Chromium; the DOM after the page's script had `budget` of virtual
// time (Chromium pauses it while a fetch is under way, so the API's answers are in). Killed
// after `timeout`.
inline DumpedDom dump_dom(const std::string& program, const std::string& url,
                          std::chrono::milliseconds budget, std::chrono::seconds timeout) {
    char dir_template[] = "/tmp/lwgate-chromium-XXXXXX";
    const std::filesystem::path dir = ::mkdtemp(dir_template);
    const auto out = (dir / "dom.html").string();
    const auto err = (dir / "stderr.txt").string();
    std::vector<std::string> args = {program,
                                     "--headless=new",
                                     "--disable-gpu",
                                     "--no-sandbox",  // root in CI: no sandbox
                                     "--user-data-dir=" + (dir / "profile").string(),
                                     "--no-first-run",
                                     "--no-default-browser-check",
                                     "--disable-background-networking",
                                     "--disable-component-update",
                                     "--disable-sync",
                                     "--disable-extensions",
                                     "--disable-default-apps",
                                     "--disable-dev-shm-usage",
                                     "--mute-audio",
                                     "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                                     "--virtual-time-budget=" + std::to_string(budget.count()),
                                     "--dump-dom",
                                     url};
    std::vector<char*> argv;
    for (auto& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);

    DumpedDom result;
    const pid_t pid = ::fork();
    if (pid == 0) detail::exec_in_own_group(argv, out.c_str(), err.c_str());
    if (pid > 0) {
        ::setpgid(pid,
                  pid);  // also here: the group exists before the kill below, whoever runs first
        result.finished = detail::wait_for_exit(pid, std::chrono::steady_clock::now() + timeout);
        ::kill(-pid, SIGKILL);  // the browser's helpers, or all of it when out of time
        int status = 0;
        ::waitpid(pid, &status, 0);
        result.exit_code = harness::exit_code_from_wait_status(status);
    }
    result.dom = detail::read_file(out);
    result.log = detail::read_file(err);
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
    return result;
}

}  // namespace lwgate::integration
