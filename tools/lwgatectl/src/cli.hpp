// lwgatectl's command line: parses arguments and runs one command against the admin API.
#pragma once

#include <iosfwd>

namespace lwgate::ctl {

// `terminal`: stdout is a terminal (watch clears the screen between refreshes). Returns the exit
// code (see format.hpp). Reads LWGATE_ADMIN and LWGATE_TOKEN from the environment.
int run(int argc, const char* const* argv, std::ostream& out, std::ostream& err, bool terminal);

}  // namespace lwgate::ctl
