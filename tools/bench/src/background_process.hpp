// A helper program the bench runs next to what it measures (tshark, coap-server-openssl,
// openssl s_server): started with its output in a log file, waited for until it prints that it
// is ready, and stopped by a signal (SIGKILL by the destructor if still running).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace lwgate::bench {

class BackgroundProcess {
  public:
    // Throws std::runtime_error when the program cannot be started.
    BackgroundProcess(std::vector<std::string> argv, std::filesystem::path log);
    ~BackgroundProcess();
    BackgroundProcess(const BackgroundProcess&) = delete;
    BackgroundProcess& operator=(const BackgroundProcess&) = delete;

    // Waits until the log holds `text`; throws std::runtime_error with the log when the program
    // ends first or `limit` passes. Polled: these programs have no other way to say so.
    void wait_for_output(std::string_view text, std::chrono::milliseconds limit) const;
    // Sends `signal` and reaps the process.
    void stop(int signal);
    std::string log() const;

  private:
    std::string name_;
    std::filesystem::path log_;
    mutable pid_t pid_ = -1;
    int stdin_ = -1;  // the write end of its stdin
};

}  // namespace lwgate::bench
