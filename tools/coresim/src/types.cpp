#include "lwgate/coresim/types.hpp"

#include <charconv>
#include <cstdio>

#include "lwgate/device/enum_name.hpp"

namespace lwgate::coresim {

Bytes to_bytes(std::string_view text) {
    return Bytes(text.begin(), text.end());
}

std::string to_string(const Bytes& bytes) {
    return std::string(bytes.begin(), bytes.end());
}

std::optional<Code> Code::parse(std::string_view text) {
    const auto dot = text.find('.');
    if (dot == std::string_view::npos || dot == 0 || dot + 1 >= text.size()) return std::nullopt;
    unsigned cls = 0;
    unsigned detail = 0;
    const char* begin = text.data();
    const char* end = text.data() + text.size();
    auto r1 = std::from_chars(begin, begin + dot, cls);
    if (r1.ec != std::errc{} || r1.ptr != begin + dot) return std::nullopt;
    auto r2 = std::from_chars(begin + dot + 1, end, detail);
    if (r2.ec != std::errc{} || r2.ptr != end) return std::nullopt;
    if (cls > 7 || detail > 31) return std::nullopt;
    return Code(cls, detail);
}

std::string Code::str() const {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%u.%02u", cls(), detail());
    return buf;
}

const char* to_string(Method method) {
    switch (method) {
        case Method::get:
            return "GET";
        case Method::post:
            return "POST";
        case Method::put:
            return "PUT";
        case Method::delete_:
            return "DELETE";
        case Method::fetch:
            return "FETCH";
        case Method::patch:
            return "PATCH";
        case Method::ipatch:
            return "iPATCH";
    }
    return "?";
}

const char* to_string(EventKind kind) {
    return device::enum_name<EventKind::psk_rejected>(
        kind, {"register", "update", "deregister", "send", "bootstrap", "notification", "other",
               "psk-rejected"});
}

std::vector<std::string> split_path(std::string_view path) {
    std::vector<std::string> out;
    if (!path.empty() && path.front() == '/') path.remove_prefix(1);
    if (path.empty()) return out;
    std::size_t start = 0;
    while (true) {
        const auto slash = path.find('/', start);
        if (slash == std::string_view::npos) {
            out.emplace_back(path.substr(start));
            break;
        }
        out.emplace_back(path.substr(start, slash - start));
        start = slash + 1;
    }
    // "/3/0/" names the same thing as "/3/0": drop one trailing empty segment.
    if (out.size() > 1 && out.back().empty()) out.pop_back();
    return out;
}

std::vector<std::string> split_query(std::string_view query) {
    std::vector<std::string> out;
    if (!query.empty() && query.front() == '?') query.remove_prefix(1);
    std::size_t start = 0;
    while (start < query.size()) {
        auto amp = query.find('&', start);
        if (amp == std::string_view::npos) amp = query.size();
        if (amp > start) out.emplace_back(query.substr(start, amp - start));
        start = amp + 1;
    }
    return out;
}

std::vector<Bytes> Response::option_values(std::uint16_t number) const {
    std::vector<Bytes> out;
    for (const auto& opt : options) {
        if (opt.number == number) out.push_back(opt.value);
    }
    return out;
}

bool Response::has_option(std::uint16_t number) const {
    for (const auto& opt : options) {
        if (opt.number == number) return true;
    }
    return false;
}

std::optional<std::string> Event::query_value(std::string_view key) const {
    for (const auto& q : query) {
        const auto eq = q.find('=');
        const std::string_view name =
            eq == std::string::npos ? std::string_view(q) : std::string_view(q).substr(0, eq);
        if (name == key) return eq == std::string::npos ? std::string() : q.substr(eq + 1);
    }
    return std::nullopt;
}

}  // namespace lwgate::coresim
