// Typed errors of the admin API (a query's filter, starting the HTTP server), for
// std::error_code. Error::detail keeps the words the client or the log gets; the code says what
// kind of problem it is, so that a caller can react without parsing text.
//
// The category is defined in this header (inline: still one instance per program), so that the
// codes are usable from the HTTP server and the app without another library.
#pragma once

#include <string>
#include <system_error>

namespace lwgate::admin {

enum class AdminErrc {
    unknown_parameter = 1,  // a query parameter the resource does not take
    bad_parameter_value,    // a state or transport the filter does not know
    cannot_resolve,         // admin.listen's host resolves to no address
    cannot_bind,            // no address of admin.listen could be bound and listened on
};

class AdminCategory final : public std::error_category {
  public:
    const char* name() const noexcept override { return "lwgate.admin"; }
    std::string message(int value) const override {
        switch (static_cast<AdminErrc>(value)) {
            case AdminErrc::unknown_parameter:
                return "unknown query parameter";
            case AdminErrc::bad_parameter_value:
                return "bad query parameter value";
            case AdminErrc::cannot_resolve:
                return "cannot resolve the admin address";
            case AdminErrc::cannot_bind:
                return "cannot bind the admin address";
        }
        return "unknown lwgate.admin error " + std::to_string(value);
    }
};

inline const std::error_category& admin_category() noexcept {
    // Inline with a function-local static: every TU gets the same category address, which
    // error_code comparison relies on.
    static const AdminCategory category;
    return category;
}

inline std::error_code make_error_code(AdminErrc e) noexcept {
    return {static_cast<int>(e), admin_category()};
}

}  // namespace lwgate::admin

template <>
struct std::is_error_code_enum<lwgate::admin::AdminErrc> : std::true_type {};
