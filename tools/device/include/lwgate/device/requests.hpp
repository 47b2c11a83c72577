// The LwM2M requests every simulated device sends (OMA LwM2M 1.1 §6.2), built with the
// project's codec. Their tokens are the caller's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "lwgate/coap/message.hpp"

namespace lwgate::device {

struct RegisterParams {
    std::string endpoint;
    std::uint32_t lifetime = 300;
    std::string lwm2m_version = "1.1";
    std::string binding = "T";
    bool queue_mode = false;
};

// POST /rd?ep=..&lt=..&lwm2m=..&b=..[&Q] with `links` as payload (Content-Format 40). LwM2M 1.0
// has no Q parameter: queue mode is the binding's Q suffix there ("TQ").
coap::Message make_register(const RegisterParams& params, std::string_view links);

// POST <location> ("/rd/5") with lt and b when given and `links` (Content-Format 40) when given.
coap::Message make_update(std::string_view location,
                          std::optional<std::uint32_t> lifetime = std::nullopt,
                          const std::optional<std::string>& binding = std::nullopt,
                          const std::optional<std::string>& links = std::nullopt);

// Adds one Uri-Path option per non-empty '/'-separated segment of `path` ("/rd/abc").
void add_uri_path(coap::Message& message, std::string_view path);

}  // namespace lwgate::device
