#include "lwgate/harness/gateway_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <fstream>
#include <sstream>

#include "lwgate/harness/process.hpp"
#include "posix_util.hpp"

namespace lwgate::harness {

namespace fs = std::filesystem;
using detail::close_fd;

namespace {

constexpr const char* kConfigName = "gateway.yaml";
constexpr const char* kLogName = "gateway.log";
constexpr std::size_t kLogTail = 8'000;

std::size_t count_occurrences(std::string_view haystack, std::string_view needle) {
    if (needle.empty()) return 0;
    std::size_t count = 0;
    for (auto pos = haystack.find(needle); pos != std::string_view::npos;
         pos = haystack.find(needle, pos + needle.size())) {
        ++count;
    }
    return count;
}

}  // namespace

GatewayProcess::~GatewayProcess() {
    if (pid_ > 0 && !exit_status_) {
        ::kill(pid_, SIGKILL);
        try_reap(true);
    }
    close_fd(pidfd_);
    close_fd(stdout_fd_);
}

fs::path GatewayProcess::config_path() const {
    return dir_->path() / kConfigName;
}
fs::path GatewayProcess::log_path() const {
    return dir_->path() / kLogName;
}

void GatewayProcess::start(const std::string& binary, std::string_view yaml_text,
                           const GatewayOptions& options) {
    if (pid_ > 0) throw HarnessError("GatewayProcess::start called twice");
    dir_.emplace("lwgate-gw-");
    const auto config = dir_->write_file(kConfigName, yaml_text);

    const int log_fd =
        ::open(log_path().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) throw HarnessError("cannot create " + log_path().string());
    int out_pipe[2];
    try {
        detail::make_pipe(out_pipe);
    } catch (...) {
        ::close(log_fd);
        throw;
    }

    detail::SpawnSpec spec;
    spec.argv = options.wrapper;
    spec.argv.insert(spec.argv.end(), {binary, "--config", config.string()});
    spec.argv.insert(spec.argv.end(), options.extra_args.begin(), options.extra_args.end());
    spec.extra_env = options.extra_env;
    spec.stdout_fd = out_pipe[1];
    spec.stderr_fd = log_fd;
    try {
        pid_ = detail::spawn(spec);
    } catch (...) {
        ::close(log_fd);
        ::close(out_pipe[0]);
        ::close(out_pipe[1]);
        throw;
    }
    ::close(log_fd);
    ::close(out_pipe[1]);
    stdout_fd_ = out_pipe[0];
    pidfd_ = detail::open_pidfd(pid_);
    wait_ready(options.ready_timeout);
}

void GatewayProcess::wait_ready(Millis timeout) {
    const auto deadline = SteadyClock::now() + timeout;
    std::string pending;
    while (true) {
        pollfd fds{stdout_fd_, POLLIN, 0};
        if (detail::poll_until(&fds, 1, deadline) == 0) {
            fail("gateway did not print 'ready' within " + std::to_string(timeout.count()) + " ms");
        }
        std::array<char, 4096> buffer;
        const ssize_t n = ::read(stdout_fd_, buffer.data(), buffer.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            try_reap(false);
            fail("gateway closed stdout before 'ready'" +
                 (exit_status_ ? " (exit status " + std::to_string(*exit_status_) + ")"
                               : std::string()));
        }
        pending.append(buffer.data(), static_cast<std::size_t>(n));
        std::size_t eol;
        while ((eol = pending.find('\n')) != std::string::npos) {
            std::string line = pending.substr(0, eol);
            pending.erase(0, eol + 1);
            if (!line.empty() && line.back() == '\r') line.pop_back();
            stdout_lines_.push_back(line);
            static constexpr std::string_view kListening = "listening ";
            if (line.rfind(kListening, 0) == 0) {
                const std::string uri = line.substr(kListening.size());
                const auto colon = uri.rfind(':');
                unsigned long port = 0;
                try {
                    port = std::stoul(uri.substr(colon + 1));
                } catch (...) {
                    fail("cannot parse port in '" + line + "'");
                }
                if (colon == std::string::npos || port == 0 || port > 65535) {
                    fail("cannot parse port in '" + line + "'");
                }
                uris_.push_back(uri);
                ports_.push_back(static_cast<std::uint16_t>(port));
            } else if (line.rfind("admin ", 0) == 0) {
                admin_url_ = line.substr(6);
                const auto colon = admin_url_.rfind(':');
                unsigned long port = 0;
                try {
                    port = std::stoul(admin_url_.substr(colon + 1));
                } catch (...) {
                    fail("cannot parse port in '" + line + "'");
                }
                if (colon == std::string::npos || port == 0 || port > 65535)
                    fail("cannot parse port in '" + line + "'");
                admin_port_ = static_cast<std::uint16_t>(port);
            } else if (line == "ready") {
                if (uris_.empty()) fail("gateway is ready but printed no listener");
                return;
            }
        }
    }
}

void GatewayProcess::fail(const std::string& what) {
    std::string log_text = log();
    if (log_text.size() > kLogTail) log_text = "..." + log_text.substr(log_text.size() - kLogTail);
    std::string out;
    for (const auto& l : stdout_lines_)
        out += "  " + l + "\n";
    throw HarnessError(what + "\nconfig: " + config_path().string() + "\nstdout:\n" + out +
                       "log (" + log_path().string() + "):\n" + log_text);
}

bool GatewayProcess::try_reap(bool block) {
    if (exit_status_) return true;
    if (pid_ <= 0) return false;
    int status = 0;
    pid_t r;
    do {
        r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == pid_) {
        exit_status_ = exit_code_from_wait_status(status);
        close_fd(pidfd_);
        return true;
    }
    return false;
}

bool GatewayProcess::running() const {
    return pid_ > 0 && !exit_status_;
}

bool GatewayProcess::signal(int signo) {
    if (!running()) return false;
    return ::kill(pid_, signo) == 0;
}

std::optional<int> GatewayProcess::wait_exit(Millis timeout) {
    if (pid_ <= 0) return std::nullopt;
    const auto deadline = SteadyClock::now() + timeout;
    while (!try_reap(false)) {
        if (SteadyClock::now() >= deadline) return std::nullopt;
        if (pidfd_ >= 0) {
            pollfd fds{pidfd_, POLLIN, 0};
            detail::poll_until(&fds, 1, deadline);
        } else {
            // No pidfd (kernel < 5.3): re-check every 10 ms, bounded by the deadline.
            pollfd none{-1, 0, 0};
            detail::poll_until(&none, 1, std::min(deadline, SteadyClock::now() + Millis{10}));
        }
    }
    return exit_status_;
}

std::optional<int> GatewayProcess::stop(Millis timeout) {
    if (!running()) return exit_status_;
    signal(SIGTERM);
    if (auto status = wait_exit(timeout)) return status;
    ::kill(pid_, SIGKILL);
    try_reap(true);
    return std::nullopt;
}

std::string GatewayProcess::log() const {
    if (!dir_) return {};
    std::ifstream in(log_path(), std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::size_t GatewayProcess::count_in_log(std::string_view needle) const {
    return count_occurrences(log(), needle);
}

bool GatewayProcess::wait_for_log(std::string_view needle, Millis timeout,
                                  std::size_t count) const {
    if (!dir_) return false;
    const auto deadline = SteadyClock::now() + timeout;
    int inotify_fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (inotify_fd >= 0 &&
        ::inotify_add_watch(inotify_fd, log_path().c_str(), IN_MODIFY | IN_CLOSE_WRITE) < 0) {
        close_fd(inotify_fd);
    }
    bool found = false;
    while (true) {
        // Check after arming the watch, so that no write between check and wait is missed.
        if (count_in_log(needle) >= count) {
            found = true;
            break;
        }
        if (SteadyClock::now() >= deadline) break;
        // A gateway that exited writes nothing more: one last look, then give up.
        if (exit_status_) break;
        std::array<pollfd, 2> fds{};
        nfds_t n = 0;
        if (inotify_fd >= 0) fds[n++] = {inotify_fd, POLLIN, 0};
        if (pidfd_ >= 0) fds[n++] = {pidfd_, POLLIN, 0};
        const auto wake =
            inotify_fd >= 0 ? deadline : std::min(deadline, SteadyClock::now() + Millis{20});
        if (n == 0) {
            pollfd none{-1, 0, 0};
            detail::poll_until(&none, 1, wake);
        } else {
            detail::poll_until(fds.data(), n, wake);
        }
        if (inotify_fd >= 0 && (fds[0].revents & POLLIN)) {
            std::array<char, 4096> events;
            while (::read(inotify_fd, events.data(), events.size()) > 0) {
            }
        }
        if (pidfd_ >= 0 && (fds[n - 1].revents & POLLIN)) {
            found = count_in_log(needle) >= count;  // the exit flushed the last lines
            break;
        }
    }
    close_fd(inotify_fd);
    return found;
}

std::vector<std::string> GatewayProcess::sanitizer_reports() const {
    static constexpr std::array<std::string_view, 6> kMarkers{
        "ERROR: AddressSanitizer",  "ERROR: LeakSanitizer",   "runtime error:",
        "WARNING: ThreadSanitizer", "ERROR: MemorySanitizer", "AddressSanitizer:DEADLYSIGNAL"};
    std::vector<std::string> out;
    std::istringstream lines(log());
    std::string line;
    while (std::getline(lines, line)) {
        for (auto marker : kMarkers) {
            if (line.find(marker) != std::string::npos) {
                out.push_back(line);
                break;
            }
        }
    }
    return out;
}

}  // namespace lwgate::harness
