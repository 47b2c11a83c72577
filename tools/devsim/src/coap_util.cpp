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

void add_uri_path(coap::Message& message, std::string_view path) {
    std::size_t pos = 0;
    while (pos <= path.size()) {
        const auto slash = path.find('/', pos);
        const auto end = slash == std::string_view::npos ? path.size() : slash;
        if (end > pos) message.add_option(option::uri_path, path.substr(pos, end - pos));
        if (slash == std::string_view::npos) break;
        pos = slash + 1;
    }
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

std::optional<coap::Bytes> parse_hex(std::string_view hex) {
    if (hex.size() % 2 != 0) return std::nullopt;
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    coap::Bytes out;
    out.reserve(hex.size() / 2);
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        const int hi = nibble(hex[i]);
        const int lo = nibble(hex[i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out.push_back(static_cast<std::uint8_t>(hi * 16 + lo));
    }
    return out;
}

std::string to_hex(coap::ByteView bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (auto b : bytes) {
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out;
}

}  // namespace lwgate::devsim
