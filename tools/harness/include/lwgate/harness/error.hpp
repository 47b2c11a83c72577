// Errors and time types shared by the harness.
#pragma once

#include <chrono>
#include <stdexcept>
#include <string>

namespace lwgate::harness {

using SteadyClock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

// A setup step failed (spawn, connect, readiness...). The message carries the context needed to
// diagnose it, e.g. the tail of the gateway log.
class HarnessError : public std::runtime_error {
  public:
    explicit HarnessError(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace lwgate::harness
