#include "lwgate/harness/process.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>

#include "posix_util.hpp"

namespace lwgate::harness {

using detail::close_fd;

int exit_code_from_wait_status(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

bool program_exists(std::string_view name) {
    return !detail::resolve_program(std::string(name)).empty();
}

namespace {

// Reads what is available; returns false at EOF or error.
bool drain(int fd, std::string& into) {
    std::array<char, 4096> buffer;
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n > 0) {
        into.append(buffer.data(), static_cast<std::size_t>(n));
        return true;
    }
    return n < 0 && (errno == EINTR || errno == EAGAIN);
}

}  // namespace

ProcessResult run_process(const std::vector<std::string>& argv, Millis timeout) {
    int out_pipe[2];
    int err_pipe[2];
    detail::make_pipe(out_pipe);
    try {
        detail::make_pipe(err_pipe);
    } catch (...) {
        ::close(out_pipe[0]);
        ::close(out_pipe[1]);
        throw;
    }
    detail::SpawnSpec spec;
    spec.argv = argv;
    spec.stdout_fd = out_pipe[1];
    spec.stderr_fd = err_pipe[1];
    pid_t pid;
    try {
        pid = detail::spawn(spec);
    } catch (...) {
        for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]})
            ::close(fd);
        throw;
    }
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    int out_fd = out_pipe[0];
    int err_fd = err_pipe[0];
    int pidfd = detail::open_pidfd(pid);

    ProcessResult result;
    bool exited = false;
    int status = 0;
    auto deadline = SteadyClock::now() + timeout;
    bool killed = false;
    auto try_reap = [&] {
        if (exited) return;
        const pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) exited = true;
    };

    while (out_fd >= 0 || err_fd >= 0 || !exited) {
        std::array<pollfd, 3> fds{};
        nfds_t n = 0;
        int out_i = -1, err_i = -1, pid_i = -1;
        if (out_fd >= 0) fds[out_i = static_cast<int>(n++)] = {out_fd, POLLIN, 0};
        if (err_fd >= 0) fds[err_i = static_cast<int>(n++)] = {err_fd, POLLIN, 0};
        if (!exited && pidfd >= 0) fds[pid_i = static_cast<int>(n++)] = {pidfd, POLLIN, 0};
        // Without a pidfd the exit is noticed by re-checking waitpid every 20 ms.
        auto wake = deadline;
        if (!exited && pidfd < 0) wake = std::min(wake, SteadyClock::now() + Millis{20});
        detail::poll_until(fds.data(), n, wake);
        if (out_i >= 0 && fds[out_i].revents && !drain(out_fd, result.out)) close_fd(out_fd);
        if (err_i >= 0 && fds[err_i].revents && !drain(err_fd, result.err)) close_fd(err_fd);
        if (pid_i < 0 || fds[pid_i].revents) try_reap();
        if (SteadyClock::now() >= deadline) {
            if (killed) break;  // something else holds the pipes open; stop reading
            if (!exited) {
                result.timed_out = true;
                ::kill(pid, SIGKILL);
            }
            killed = true;
            deadline = SteadyClock::now() + Millis{1'000};  // collect what is left
        }
    }
    if (!exited) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
    }
    close_fd(out_fd);
    close_fd(err_fd);
    close_fd(pidfd);
    result.exit_code = exit_code_from_wait_status(status);
    return result;
}

}  // namespace lwgate::harness
