#include "admin/auth.hpp"

#include <cctype>

namespace lwgate::admin {

namespace {

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    }
    return true;
}

}  // namespace

bool authorized(std::string_view authorization, std::string_view token) {
    if (token.empty()) return true;
    constexpr std::string_view scheme = "bearer ";
    if (authorization.size() < scheme.size() ||
        !iequals(authorization.substr(0, scheme.size()), scheme))
        return false;
    auto given = authorization.substr(scheme.size());
    while (!given.empty() && given.front() == ' ')
        given.remove_prefix(1);
    while (!given.empty() && (given.back() == ' ' || given.back() == '\t'))
        given.remove_suffix(1);
    if (given.size() != token.size()) return false;
    unsigned char diff = 0;  // no early exit: timing does not tell how much of it matched
    for (std::size_t i = 0; i < token.size(); ++i)
        diff |= static_cast<unsigned char>(given[i] ^ token[i]);
    return diff == 0;
}

}  // namespace lwgate::admin
