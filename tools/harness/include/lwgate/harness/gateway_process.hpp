// The real `lwgate` binary as a child process.
//
// start() writes the configuration into its own TempDir, spawns `BINARY --config FILE` with
// stdout on a pipe and stderr redirected to `gateway.log` in that directory, and reads stdout
// until the gateway prints `ready`, collecting the `listening URI` lines before it (one per
// listener, in configuration order) and the `admin http://HOST:PORT` line. If the gateway exits or
// stays silent past the timeout, start() throws HarnessError with the log.
//
// Waiting for the process uses a pidfd (pidfd_open(2)) in poll(2), so wait_exit() blocks
// exactly until the exit or the deadline. The destructor SIGKILLs the gateway if it still runs
// and reaps it.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lwgate/harness/error.hpp"
#include "lwgate/harness/temp_dir.hpp"

namespace lwgate::harness {

struct GatewayOptions {
    std::vector<std::string> extra_args;  // appended after `--config FILE`
    std::vector<std::string> extra_env;   // "NAME=value" entries added to the environment
    Millis ready_timeout{15'000};
    // Runs `wrapper... binary --config FILE` instead, e.g. {"valgrind", "--tool=callgrind"}; the
    // wrapper must exec the binary in the same process (pid() stays the gateway's).
    std::vector<std::string> wrapper;
};

class GatewayProcess {
  public:
    GatewayProcess() = default;
    ~GatewayProcess();
    GatewayProcess(const GatewayProcess&) = delete;
    GatewayProcess& operator=(const GatewayProcess&) = delete;

    // Starts the gateway and waits for `ready`. Throws HarnessError (with the log) on failure.
    // May be called once per object.
    void start(const std::string& binary, std::string_view yaml_text,
               const GatewayOptions& options = {});

    pid_t pid() const { return pid_; }
    // True until the process has been seen to exit (by wait_exit / stop / the destructor).
    bool running() const;

    // Bound listeners, from the `listening ...` lines: e.g. "coap+tcp://127.0.0.1:40123".
    std::size_t listener_count() const { return uris_.size(); }
    const std::string& uri(std::size_t i = 0) const { return uris_.at(i); }
    std::uint16_t port(std::size_t i = 0) const { return ports_.at(i); }
    // The admin API, from the `admin http://HOST:PORT` line ("" / 0 when admin.listen is off).
    const std::string& admin_url() const { return admin_url_; }
    std::uint16_t admin_port() const { return admin_port_; }

    const TempDir& dir() const { return *dir_; }
    std::filesystem::path config_path() const;
    std::filesystem::path log_path() const;

    // kill(2). Returns false if the process is gone.
    bool signal(int signo);

    // Waits for the exit. Returns the exit code (or 128 + signal, see ProcessResult), or
    // nullopt if the process still runs at the deadline. Once reaped, returns the cached status.
    std::optional<int> wait_exit(Millis timeout);

    // SIGTERM, wait up to `timeout`, then SIGKILL. Returns the status as wait_exit().
    std::optional<int> stop(Millis timeout);

    // Everything the gateway wrote to stderr (its log) so far.
    std::string log() const;
    std::size_t count_in_log(std::string_view needle) const;

    // Waits until the log contains `needle` at least `count` times, or the timeout passes, or
    // the gateway exits without having written it. Wakes on inotify IN_MODIFY events for the
    // log file, so it reacts within microseconds and never sleeps blindly. If inotify cannot be
    // used (e.g. out of watches), it falls back to re-reading the file every 20 ms; that
    // polling is bounded by the timeout and is the only polling loop in the harness.
    bool wait_for_log(std::string_view needle, Millis timeout, std::size_t count = 1) const;

    // Lines of the log that are AddressSanitizer / LeakSanitizer / UndefinedBehaviorSanitizer
    // reports ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:", ...). Empty in
    // a clean run; tests assert on it in TearDown.
    std::vector<std::string> sanitizer_reports() const;

    // The stdout lines read while waiting for `ready`.
    const std::vector<std::string>& stdout_lines() const { return stdout_lines_; }

  private:
    void wait_ready(Millis timeout);
    [[noreturn]] void fail(const std::string& what);
    bool try_reap(bool block);

    std::optional<TempDir> dir_;
    pid_t pid_ = -1;
    int pidfd_ = -1;
    int stdout_fd_ = -1;
    std::optional<int> exit_status_;
    std::vector<std::string> uris_;
    std::vector<std::uint16_t> ports_;
    std::vector<std::string> stdout_lines_;
    std::string admin_url_;
    std::uint16_t admin_port_ = 0;
};

}  // namespace lwgate::harness
