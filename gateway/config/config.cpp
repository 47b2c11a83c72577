// The small public helpers of config.hpp and config_loader.hpp: enum names as written in the
// configuration, the default listener, and how an error is printed.
#include "config/config.hpp"
#include "config/config_loader.hpp"

namespace lwgate::config {

const char* to_string(Scheme s) {
    switch (s) {
        case Scheme::coap_tcp:
            return "coap+tcp";
        case Scheme::coaps_tcp:
            return "coaps+tcp";
        case Scheme::coap:
            return "coap";
        case Scheme::coaps:
            return "coaps";
    }
    return "?";
}

const char* to_string(LogLevel l) {
    switch (l) {
        case LogLevel::trace:
            return "trace";
        case LogLevel::debug:
            return "debug";
        case LogLevel::info:
            return "info";
        case LogLevel::warn:
            return "warn";
        case LogLevel::error:
            return "error";
        case LogLevel::critical:
            return "critical";
        case LogLevel::off:
            return "off";
    }
    return "?";
}

const char* to_string(LogFormat f) {
    switch (f) {
        case LogFormat::text:
            return "text";
        case LogFormat::json:
            return "json";
    }
    return "?";
}

const char* to_string(CsmMode m) {
    switch (m) {
        case CsmMode::strict:
            return "strict";
        case CsmMode::lenient:
            return "lenient";
    }
    return "?";
}

ListenerConfig default_listener() {
    ListenerConfig l;
    l.endpoint = Endpoint{Scheme::coap_tcp, "127.0.0.1", 5683, "coap+tcp://127.0.0.1:5683"};
    return l;
}

std::string ConfigError::to_string() const {
    std::string out;
    if (!file.empty()) {
        out = file;
        if (line > 0) out += " line " + std::to_string(line);
        out += ": ";
    } else if (line > 0) {
        out = "line " + std::to_string(line) + ": ";
    }
    if (!key.empty()) out += key + ": ";
    out += message;
    return out;
}

}  // namespace lwgate::config
