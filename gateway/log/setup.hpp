// The process's logger: stderr, synchronous (the fields of a line are read on the logging
// thread, fields.hpp), each line formatted by LineFormatter in the configured format, with
// journald priorities when stderr is the journal.
#pragma once

#include <spdlog/common.h>

#include "log/line_format.hpp"

namespace lwgate::logging {

// Makes the stderr logger the default one; returns whether stderr is the journal.
bool install_stderr_logger(Format format, spdlog::level::level_enum level);

}  // namespace lwgate::logging
