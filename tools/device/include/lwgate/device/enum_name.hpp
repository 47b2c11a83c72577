// Enumerator names for logs and test output, from a table in declaration order instead of one
// switch per enum in every tool.
#pragma once

#include <cstddef>

namespace lwgate::device {

// names[value], or "?" outside the table. `Last` is the enum's last enumerator, so that a table
// that falls behind the enum does not compile; the values must run 0, 1, 2, ...
template <auto Last, std::size_t N>
const char* enum_name(decltype(Last) value, const char* const (&names)[N]) {
    static_assert(static_cast<std::size_t>(Last) + 1 == N, "one name per enumerator");
    const auto i = static_cast<std::size_t>(value);
    return i < N ? names[i] : "?";
}

}  // namespace lwgate::device
