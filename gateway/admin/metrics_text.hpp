// GET /metrics: the Prometheus text exposition format 0.0.4 (names lwgate_*, base units,
// counters end in _total). Pure.
#pragma once

#include <string>

#include "admin/model.hpp"

namespace lwgate::admin {

std::string metrics_text(const Snapshot& snapshot);

// Escapes a label value (backslash, double quote, newline).
std::string escape_label(std::string_view value);

}  // namespace lwgate::admin
