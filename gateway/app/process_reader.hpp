// Reads the process_* metrics' /proc files at a scrape (admin/process_stats.hpp parses them).
#pragma once

#include <optional>

#include "admin/process_stats.hpp"

namespace lwgate::app {

// nullopt when /proc cannot be read or parsed: the first such failure is logged, and /metrics
// leaves the process_* families it would have filled out.
std::optional<admin::ProcessSample> read_process_sample();

}  // namespace lwgate::app
