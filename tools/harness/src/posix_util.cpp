#include "posix_util.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <string_view>

extern char** environ;

namespace lwgate::harness::detail {

int remaining_ms(SteadyClock::time_point deadline) {
    const auto now = SteadyClock::now();
    if (now >= deadline) return 0;
    const auto left = std::chrono::ceil<Millis>(deadline - now).count();
    return left > INT_MAX ? INT_MAX : static_cast<int>(left);
}

int poll_until(pollfd* fds, nfds_t count, SteadyClock::time_point deadline) {
    while (true) {
        for (nfds_t i = 0; i < count; ++i)
            fds[i].revents = 0;
        const int n = ::poll(fds, count, remaining_ms(deadline));
        if (n >= 0) return n;
        if (errno != EINTR) throw HarnessError("poll: " + errno_text(errno));
        if (SteadyClock::now() >= deadline) return 0;
    }
}

int open_pidfd(int pid) {
#ifdef SYS_pidfd_open
    const long fd = ::syscall(SYS_pidfd_open, pid, 0);
    return fd < 0 ? -1 : static_cast<int>(fd);
#else
    (void)pid;
    return -1;
#endif
}

std::string resolve_program(const std::string& name) {
    auto executable = [](const std::string& path) {
        struct stat st {};
        return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
               ::access(path.c_str(), X_OK) == 0;
    };
    if (name.empty()) return {};
    if (name.find('/') != std::string::npos) return executable(name) ? name : std::string();
    const char* path_env = std::getenv("PATH");
    std::string_view dirs = path_env ? path_env : "/usr/local/bin:/usr/bin:/bin";
    while (true) {
        const auto colon = dirs.find(':');
        std::string dir(dirs.substr(0, colon));
        if (dir.empty()) dir = ".";
        const std::string candidate = dir + "/" + name;
        if (executable(candidate)) return candidate;
        if (colon == std::string_view::npos) break;
        dirs.remove_prefix(colon + 1);
    }
    return {};
}

void make_pipe(int fds[2]) {
    if (::pipe2(fds, O_CLOEXEC) != 0) throw HarnessError("pipe2: " + errno_text(errno));
}

pid_t spawn(const SpawnSpec& spec) {
    if (spec.argv.empty()) throw HarnessError("spawn: empty argv");
    const std::string path = resolve_program(spec.argv[0]);
    if (path.empty()) throw HarnessError("spawn: program not found: " + spec.argv[0]);

    // Everything the child needs is prepared before fork(): after it, only async-signal-safe
    // calls are made.
    std::vector<char*> argv;
    for (const auto& a : spec.argv)
        argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<std::string> env_storage;
    for (char** e = environ; e && *e; ++e) {
        const std::string_view entry(*e);
        const auto name = entry.substr(0, entry.find('='));
        bool overridden = false;
        for (const auto& extra : spec.extra_env) {
            if (std::string_view(extra).substr(0, extra.find('=')) == name) overridden = true;
        }
        if (!overridden) env_storage.emplace_back(entry);
    }
    for (const auto& extra : spec.extra_env)
        env_storage.push_back(extra);
    std::vector<char*> envp;
    for (auto& e : env_storage)
        envp.push_back(e.data());
    envp.push_back(nullptr);

    int status_pipe[2];
    make_pipe(status_pipe);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
        const int err = errno;
        ::close(status_pipe[0]);
        ::close(status_pipe[1]);
        throw HarnessError("fork: " + errno_text(err));
    }
    if (pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(127);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        struct sigaction dfl {};
        dfl.sa_handler = SIG_DFL;
        for (int sig = 1; sig < NSIG; ++sig) {
            if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &dfl, nullptr);
        }
        const int null_fd = ::open("/dev/null", O_RDONLY);
        if (null_fd >= 0 && null_fd != 0) ::dup2(null_fd, 0);
        if (spec.stdout_fd >= 0) ::dup2(spec.stdout_fd, 1);
        if (spec.stderr_fd >= 0) ::dup2(spec.stderr_fd, 2);
        ::execve(path.c_str(), argv.data(), envp.data());
        const int err = errno;
        [[maybe_unused]] auto n = ::write(status_pipe[1], &err, sizeof err);
        ::_exit(127);
    }
    ::close(status_pipe[1]);
    int child_errno = 0;
    ssize_t n;
    do {
        n = ::read(status_pipe[0], &child_errno, sizeof child_errno);
    } while (n < 0 && errno == EINTR);
    ::close(status_pipe[0]);
    if (n > 0) {
        int ignored;
        ::waitpid(pid, &ignored, 0);
        throw HarnessError("exec " + path + ": " + errno_text(child_errno));
    }
    return pid;
}

void close_fd(int& fd) noexcept {
    if (fd >= 0) ::close(fd);
    fd = -1;
}

}  // namespace lwgate::harness::detail
