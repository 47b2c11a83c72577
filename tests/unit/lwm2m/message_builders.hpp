// Request builders shared by the relay's unit tests.
#pragma once

#include <initializer_list>
#include <string_view>

#include "lwgate/coap/message.hpp"
#include "lwgate/coap/option.hpp"

namespace lwgate::lwm2m::test_util {

// A request with one Uri-Path option per segment and one Uri-Query option per entry.
inline coap::Message make_request(std::uint8_t method, coap::Token token,
                                  std::initializer_list<std::string_view> path,
                                  std::initializer_list<std::string_view> query = {}) {
    coap::Message m(method, token);
    for (auto p : path)
        m.add_option(coap::option::uri_path, p);
    for (auto q : query)
        m.add_option(coap::option::uri_query, q);
    return m;
}

}  // namespace lwgate::lwm2m::test_util
