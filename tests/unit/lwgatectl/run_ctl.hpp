// lwgatectl's run() as a test calls it: the arguments after the program name, what it
// printed on each stream, and its exit code.
#pragma once

#include <sstream>
#include <string>
#include <vector>

#include "src/cli.hpp"

namespace lwgate::ctl::testing {

struct CtlResult {
    int code = -1;
    std::string out;
    std::string err;
};

inline CtlResult run_ctl(std::vector<std::string> args) {
    args.insert(args.begin(), "lwgatectl");
    std::vector<const char*> argv;
    for (const auto& a : args)
        argv.push_back(a.c_str());
    std::ostringstream out, err;
    CtlResult r;
    r.code = run(static_cast<int>(argv.size()), argv.data(), out, err, false);
    r.out = out.str();
    r.err = err.str();
    return r;
}

}  // namespace lwgate::ctl::testing
