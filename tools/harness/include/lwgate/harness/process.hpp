// Running helper programs (coap-client-openssl, lwgate --check-config, ...) with a hard time
// limit, and small process utilities shared with GatewayProcess.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lwgate/harness/error.hpp"

namespace lwgate::harness {

struct ProcessResult {
    // Exit code, or 128 + signal number when the process died from a signal (shell convention).
    int exit_code = -1;
    bool timed_out = false;  // the time limit passed: the process was SIGKILLed
    std::string out;         // everything it wrote to stdout
    std::string err;         // everything it wrote to stderr
};

// Runs argv[0] (looked up in PATH when it has no '/') with stdin from /dev/null, collecting
// stdout and stderr through pipes. After `timeout` the process is SIGKILLed and reaped, and
// timed_out is set. Never leaves a zombie. Throws HarnessError if the program cannot be started
// (e.g. not installed).
ProcessResult run_process(const std::vector<std::string>& argv, Millis timeout);

// True if `name` is an executable path, or an executable found in PATH.
bool program_exists(std::string_view name);

// Converts a waitpid(2) status to the convention above (exit code or 128 + signal).
int exit_code_from_wait_status(int status);

}  // namespace lwgate::harness
