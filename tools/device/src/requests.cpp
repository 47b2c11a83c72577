#include "lwgate/device/requests.hpp"

#include "lwgate/coap/option.hpp"
#include "lwgate/device/content_format.hpp"

namespace lwgate::device {

namespace option = coap::option;

coap::Message make_register(const RegisterParams& p, std::string_view links) {
    coap::Message m(coap::code::post);
    m.add_option(option::uri_path, "rd");
    m.add_uint_option(option::content_format, content_format::link_format);
    m.add_option(option::uri_query, "ep=" + p.endpoint);
    m.add_option(option::uri_query, "lt=" + std::to_string(p.lifetime));
    m.add_option(option::uri_query, "lwm2m=" + p.lwm2m_version);
    const bool v10 = p.lwm2m_version == "1.0";
    m.add_option(option::uri_query, "b=" + p.binding + (p.queue_mode && v10 ? "Q" : ""));
    if (p.queue_mode && !v10) m.add_option(option::uri_query, "Q");
    m.set_payload(links);
    return m;
}

coap::Message make_update(std::string_view location, std::optional<std::uint32_t> lifetime,
                          const std::optional<std::string>& binding,
                          const std::optional<std::string>& links) {
    coap::Message m(coap::code::post);
    add_uri_path(m, location);
    if (lifetime) m.add_option(option::uri_query, "lt=" + std::to_string(*lifetime));
    if (binding) m.add_option(option::uri_query, "b=" + *binding);
    if (links) {
        m.add_uint_option(option::content_format, content_format::link_format);
        m.set_payload(*links);
    }
    return m;
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

}  // namespace lwgate::device
