#include "core_link/pdu_convert.hpp"

namespace lwgate::upstream {

coap::Message from_pdu(const coap_pdu_t* pdu) {
    const coap_bin_const_t t = coap_pdu_get_token(pdu);
    coap::Message m(static_cast<std::uint8_t>(coap_pdu_get_code(pdu)),
                    coap::Token(coap::ByteView(t.s, t.length)));
    coap_opt_iterator_t it;
    coap_option_iterator_init(pdu, &it, COAP_OPT_ALL);
    while (coap_opt_t* opt = coap_option_next(&it)) {
        const std::uint8_t* value = coap_opt_value(opt);
        m.add_option(static_cast<std::uint16_t>(it.number),
                     coap::ByteView(value, coap_opt_length(opt)));
    }
    size_t length = 0;
    const std::uint8_t* data = nullptr;
    if (coap_get_data(pdu, &length, &data) && length > 0) {
        m.set_payload(coap::Bytes(data, data + length));
    }
    return m;
}

namespace {

bool add_body(coap_pdu_t* pdu, const coap::Message& message) {
    for (const auto& o : message.options()) {
        if (coap_add_option(pdu, o.number, o.value.size(), o.value.data()) == 0) return false;
    }
    if (!message.payload().empty() &&
        !coap_add_data(pdu, message.payload().size(), message.payload().data())) {
        return false;
    }
    return true;
}

// libcoap 4.3.1's coap_send() treats every 5.08 (Hop Limit Reached, RFC 8768) as a proxy's
// answer: it writes a NUL after the payload, checking the PDU's maximum size rather than its
// allocation, and runs strstr() over the payload, past the buffer: a device that answered a
// request with a 5.08 and a payload of 256 bytes or more corrupted lwgate's heap. lwgate is no
// proxy that counts hops, and a device has no hops to report: the core gets 5.02 Bad Gateway,
// with the device's payload, instead.
coap_pdu_code_t code_toward_core(std::uint8_t code) {
    constexpr std::uint8_t hop_limit_reached = (5 << 5) | 8;
    return static_cast<coap_pdu_code_t>(code == hop_limit_reached ? coap::code::bad_gateway : code);
}

}  // namespace

coap_pdu_t* to_pdu(coap_session_t* session, const coap::Message& message, coap_pdu_type_t type,
                   int message_id) {
    coap_pdu_t* pdu = coap_pdu_init(
        type, code_toward_core(message.code()),
        message_id >= 0 ? static_cast<coap_mid_t>(message_id) : coap_new_message_id(session),
        coap_session_max_pdu_size(session));
    if (!pdu) return nullptr;
    const auto token = message.token().bytes();
    if (!coap_add_token(pdu, token.size(), token.data()) || !add_body(pdu, message)) {
        coap_delete_pdu(pdu);
        return nullptr;
    }
    return pdu;
}

void fill_response(coap_pdu_t* response, const coap::Message& message) {
    coap_pdu_set_code(response, code_toward_core(message.code()));
    if (!add_body(response, message)) {
        coap_pdu_set_code(response, COAP_RESPONSE_CODE_INTERNAL_ERROR);
    }
}

}  // namespace lwgate::upstream
