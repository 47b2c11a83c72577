#include "lwgate/devsim/coap_util.hpp"

#include <charconv>

#include "lwgate/coap/option.hpp"

namespace lwgate::devsim {

namespace option = coap::option;

namespace {

std::vector<std::string> string_options(const coap::Message& message, std::uint16_t number) {
    std::vector<std::string> out;
    for (const auto* opt : message.find_options(number)) {
        out.emplace_back(opt->value.begin(), opt->value.end());
    }
    return out;
}

std::string join_path(const std::vector<std::string>& segments) {
    std::string out;
    for (const auto& s : segments)
        out += "/" + s;
    return out;
}

}  // namespace

std::vector<std::string> uri_path(const coap::Message& message) {
    return string_options(message, option::uri_path);
}

std::string uri_path_string(const coap::Message& message) {
    const auto path = join_path(uri_path(message));
    return path.empty() ? "/" : path;
}

std::vector<std::string> uri_queries(const coap::Message& message) {
    return string_options(message, option::uri_query);
}

std::vector<std::string> location_path(const coap::Message& message) {
    return string_options(message, option::location_path);
}

std::string location_path_string(const coap::Message& message) {
    return join_path(location_path(message));
}

std::optional<ServerUri> parse_server_uri(std::string_view uri) {
    ServerUri out;
    constexpr std::string_view plain = "coap+tcp://";
    constexpr std::string_view secure = "coaps+tcp://";
    if (uri.substr(0, plain.size()) == plain) {
        uri.remove_prefix(plain.size());
        out.port = 5683;
    } else if (uri.substr(0, secure.size()) == secure) {
        uri.remove_prefix(secure.size());
        out.tls = true;
        out.port = 5684;
    } else {
        return std::nullopt;
    }
    const auto slash = uri.find_first_of("/?#");
    std::string_view authority = uri.substr(0, slash);
    std::string_view port_text;
    bool has_port = false;
    if (!authority.empty() && authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        out.host = std::string(authority.substr(1, close - 1));
        const auto rest = authority.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return std::nullopt;
            port_text = rest.substr(1);
            has_port = true;
        }
    } else {
        const auto colon = authority.rfind(':');
        if (colon != std::string_view::npos) {
            if (authority.find(':') != colon) return std::nullopt;  // bare IPv6 needs brackets
            port_text = authority.substr(colon + 1);
            has_port = true;
            authority = authority.substr(0, colon);
        }
        out.host = std::string(authority);
    }
    if (out.host.empty()) return std::nullopt;
    if (has_port) {
        unsigned value = 0;
        const auto* end = port_text.data() + port_text.size();
        const auto [ptr, ec] = std::from_chars(port_text.data(), end, value);
        if (ec != std::errc{} || ptr != end || value > 65535) return std::nullopt;
        out.port = static_cast<std::uint16_t>(value);
    }
    return out;
}

}  // namespace lwgate::devsim
