#include "admin/router.hpp"

namespace lwgate::admin {

namespace {

Route only(std::string_view method, std::string_view wanted, Op op, std::string target = {}) {
    if (method == wanted) return {op, std::move(target), {}};
    return {Op::method_not_allowed, {}, std::string(wanted)};
}

}  // namespace

Route route(std::string_view method, std::string_view path) {
    if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
    if (path == "/v1/health") return only(method, "GET", Op::health);
    if (path == "/metrics") return only(method, "GET", Op::metrics);
    if (path == "/v1/connections") return only(method, "GET", Op::connections);
    if (path == "/v1/drain") return only(method, "POST", Op::drain);
    constexpr std::string_view prefix = "/v1/connections/";
    if (path.substr(0, prefix.size()) != prefix) return {};
    auto rest = path.substr(prefix.size());
    const auto slash = rest.find('/');
    if (slash == std::string_view::npos) {
        if (rest.empty()) return {};
        return only(method, "GET", Op::connection, std::string(rest));
    }
    const auto target = rest.substr(0, slash);
    const auto action = rest.substr(slash + 1);
    if (target.empty()) return {};
    if (action == "ping") return only(method, "POST", Op::ping, std::string(target));
    if (action == "release") return only(method, "POST", Op::release, std::string(target));
    if (action == "close") return only(method, "POST", Op::close, std::string(target));
    return {};
}

}  // namespace lwgate::admin
