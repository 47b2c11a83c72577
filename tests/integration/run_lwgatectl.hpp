// The real lwgatectl binary against a running lwgate's admin API, with a hard time limit: a
// command that hangs is a test failure, not a hung test.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "lwgate/harness/process.hpp"

#ifndef LWGATECTL_BINARY
#error "LWGATECTL_BINARY must be defined to the path of the lwgatectl executable"
#endif

namespace lwgate::integration {

inline harness::ProcessResult run_lwgatectl(const std::string& admin_url,
                                            std::vector<std::string> args) {
    args.insert(args.begin(), {LWGATECTL_BINARY, "--admin", admin_url});
    auto r = harness::run_process(args, Millis{30000});
    EXPECT_FALSE(r.timed_out) << "lwgatectl hung";
    return r;
}

}  // namespace lwgate::integration
