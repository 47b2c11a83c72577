// Small POSIX helpers private to the harness.
#pragma once

#include <poll.h>

#include <sys/types.h>

#include <cerrno>
#include <string>
#include <vector>

#include "lwgate/device/socket.hpp"
#include "lwgate/harness/error.hpp"

namespace lwgate::harness::detail {

// Milliseconds left until `deadline`, rounded up, clamped to [0, INT_MAX] for poll(2).
int remaining_ms(SteadyClock::time_point deadline);

// poll(2) on one or more descriptors until `deadline`, retrying on EINTR. Returns the number of
// ready descriptors (0 on timeout); throws HarnessError on other errors.
int poll_until(pollfd* fds, nfds_t count, SteadyClock::time_point deadline);

// pidfd_open(2); -1 if the kernel does not support it.
int open_pidfd(int pid);

using device::errno_text;

// What to start and how to wire it.
struct SpawnSpec {
    std::vector<std::string> argv;       // argv[0] is a path, or a name looked up in PATH
    std::vector<std::string> extra_env;  // "NAME=value", added to (overriding) the environment
    int stdout_fd = -1;                  // becomes the child's stdout if >= 0
    int stderr_fd = -1;                  // becomes the child's stderr if >= 0
};

// fork + execve. The child gets stdin from /dev/null, default signal dispositions and an empty
// signal mask, and PR_SET_PDEATHSIG(SIGKILL), so it cannot outlive a test process that is killed
// (note: the death signal follows the *thread* that spawned it; spawn from a long-lived thread).
// Throws HarnessError if the program is not found or exec fails.
pid_t spawn(const SpawnSpec& spec);

// Full path of an executable: `name` itself if it contains '/', else searched in PATH. Empty if
// not found.
std::string resolve_program(const std::string& name);

// A pipe with both ends close-on-exec. Throws HarnessError.
void make_pipe(int fds[2]);

// Closes a descriptor if it is open and sets it to -1.
void close_fd(int& fd) noexcept;

}  // namespace lwgate::harness::detail
