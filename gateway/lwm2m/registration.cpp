#include "lwm2m/registration.hpp"

#include <charconv>

namespace lwgate::lwm2m {

namespace {

std::string as_string(coap::ByteView bytes) {
    return {bytes.begin(), bytes.end()};
}

std::optional<std::uint32_t> parse_u32(std::string_view text) {
    std::uint32_t value = 0;
    const auto* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (text.empty() || ec != std::errc{} || ptr != end) return std::nullopt;
    return value;
}

bool has_queue_flag(std::string_view binding) {
    return binding.find('Q') != std::string_view::npos;
}

}  // namespace

const char* to_string(Uplink u) {
    switch (u) {
        case Uplink::register_:
            return "register";
        case Uplink::update:
            return "update";
        case Uplink::deregister:
            return "deregister";
        case Uplink::bootstrap_request:
            return "bootstrap_request";
        case Uplink::send:
            return "send";
        case Uplink::other:
            return "other";
    }
    return "other";
}

std::vector<std::string> uri_path(const coap::Message& message) {
    const auto segments = message.options_of(coap::option::uri_path);
    std::vector<std::string> out;
    out.reserve(segments.size());
    for (const auto& o : segments)
        out.push_back(as_string(o.value));
    return out;
}

std::string join_path(const std::vector<std::string>& segments) {
    std::string out;
    for (const auto& segment : segments)
        out += "/" + segment;
    return out;
}

std::string uri_path_string(const coap::Message& message) {
    std::string out;
    for (const auto& o : message.options_of(coap::option::uri_path)) {
        out.push_back('/');
        out.append(o.value.begin(), o.value.end());
    }
    return out.empty() ? "/" : out;
}

std::vector<std::pair<std::string, std::string>> query_params(const coap::Message& request) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto* o : request.find_options(coap::option::uri_query)) {
        const std::string q = as_string(o->value);
        const auto eq = q.find('=');
        if (eq == std::string::npos) {
            out.emplace_back(q, "");
        } else {
            out.emplace_back(q.substr(0, eq), q.substr(eq + 1));
        }
    }
    return out;
}

Uplink classify_uplink(const coap::Message& request) {
    // Runs for every device request: views of the option values, no strings built.
    const auto path = request.options_of(coap::option::uri_path);
    if (path.empty()) return Uplink::other;
    const auto method = request.code();
    const std::string_view first(reinterpret_cast<const char*>(path[0].value.data()),
                                 path[0].value.size());
    if (first == "rd") {
        if (path.size() == 1 && method == coap::code::post) return Uplink::register_;
        if (path.size() > 1 && method == coap::code::post) return Uplink::update;
        if (path.size() > 1 && method == coap::code::del) return Uplink::deregister;
    } else if (first == "bs" && path.size() == 1 && method == coap::code::post) {
        return Uplink::bootstrap_request;
    } else if (first == "dp" && path.size() == 1 &&
               (method == coap::code::post || method == coap::code::put)) {
        return Uplink::send;
    }
    return Uplink::other;
}

std::optional<RegisterParams> parse_register(const coap::Message& request) {
    RegisterParams p;
    bool queue_param = false;
    for (const auto& [key, value] : query_params(request)) {
        if (key == "ep") {
            p.endpoint = value;
        } else if (key == "lt") {
            p.lifetime = parse_u32(value);
            if (!p.lifetime) return std::nullopt;
        } else if (key == "lwm2m") {
            p.version = value;
        } else if (key == "b") {
            p.binding = value;
        } else if (key == "Q") {
            queue_param = true;
        }
    }
    if (p.endpoint.empty()) return std::nullopt;
    p.queue_mode = queue_param || has_queue_flag(p.binding);
    return p;
}

UpdateParams parse_update(const coap::Message& request) {
    UpdateParams p;
    for (const auto& [key, value] : query_params(request)) {
        if (key == "lt") {
            p.lifetime = parse_u32(value);
        } else if (key == "b") {
            p.binding = value;
            p.queue_mode = p.queue_mode || has_queue_flag(value);
        } else if (key == "Q") {
            p.queue_mode = true;
        }
    }
    return p;
}

std::vector<std::string> registration_location(const coap::Message& request) {
    auto path = uri_path(request);
    if (!path.empty() && path[0] == "rd") path.erase(path.begin());
    return path;
}

std::string udp_binding(std::string_view binding) {
    std::string out;
    const bool has_u = binding.find('U') != std::string_view::npos;
    for (char c : binding) {
        if (c == 'T') {
            if (!has_u && out.find('U') == std::string::npos) out += 'U';
        } else {
            out += c;
        }
    }
    return out;
}

std::optional<std::string> rewrite_binding_for_udp(coap::Message& request) {
    // Options must stay in their original order; rebuild the Uri-Query list in place.
    std::vector<coap::Bytes> queries;
    std::optional<std::string> rewritten;
    for (const auto* o : request.find_options(coap::option::uri_query)) {
        std::string q = as_string(o->value);
        if (q.rfind("b=", 0) == 0) {
            rewritten = udp_binding(q.substr(2));
            q = "b=" + *rewritten;
        }
        queries.emplace_back(q.begin(), q.end());
    }
    if (!rewritten) return std::nullopt;
    request.remove_options(coap::option::uri_query);
    for (auto& q : queries)
        request.add_option(coap::option::uri_query, std::move(q));
    return rewritten;
}

namespace {

// The length of the UTF-8 sequence `s` starts with (RFC 3629: no overlongs, no surrogates,
// nothing above U+10FFFF), or 0 if it is not one.
std::size_t utf8_sequence(std::string_view s) {
    const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    const auto cont = [&](std::size_t i) { return i < s.size() && (b(i) & 0xc0) == 0x80; };
    const unsigned char c = b(0);
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        if (!cont(1) || !cont(2)) return 0;
        if ((c == 0xe0 && b(1) < 0xa0) || (c == 0xed && b(1) > 0x9f)) return 0;
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        if (!cont(1) || !cont(2) || !cont(3)) return 0;
        if ((c == 0xf0 && b(1) < 0x90) || (c == 0xf4 && b(1) > 0x8f)) return 0;
        return 4;
    }
    return 0;
}

}  // namespace

bool valid_endpoint_name(std::string_view name) {
    if (name.empty() || name.size() > max_endpoint_name) return false;
    while (!name.empty()) {
        const auto n = utf8_sequence(name);
        if (n == 0) return false;
        if (n == 1 && (static_cast<unsigned char>(name[0]) < 0x20 || name[0] == 0x7f)) return false;
        name.remove_prefix(n);
    }
    return true;
}

bool cap_lifetime(coap::Message& request, std::uint32_t max_lifetime, bool add_when_absent) {
    std::vector<coap::Bytes> queries;
    bool changed = false;
    bool present = false;
    for (const auto* o : request.find_options(coap::option::uri_query)) {
        std::string q = as_string(o->value);
        if (q.rfind("lt=", 0) == 0) {
            present = true;
            const auto lt = parse_u32(q.substr(3));
            if (lt && *lt > max_lifetime) {
                q = "lt=" + std::to_string(max_lifetime);
                changed = true;
            }
        }
        queries.emplace_back(q.begin(), q.end());
    }
    if (!present && add_when_absent) {
        const std::string q = "lt=" + std::to_string(max_lifetime);
        queries.emplace_back(q.begin(), q.end());
        changed = true;
    }
    if (!changed) return false;
    request.remove_options(coap::option::uri_query);
    for (auto& q : queries)
        request.add_option(coap::option::uri_query, std::move(q));
    return true;
}

}  // namespace lwgate::lwm2m
