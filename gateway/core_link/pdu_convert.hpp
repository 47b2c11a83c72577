// Conversion between our coap::Message and libcoap's coap_pdu_t. Options are copied in number
// order with their raw values, so nothing is lost or re-encoded on the way through the bridge.
#pragma once

#include <coap3/coap.h>

#include "lwgate/coap/message.hpp"

namespace lwgate::upstream {

coap::Message from_pdu(const coap_pdu_t* pdu);
// A new PDU for `session` (a new message id, or `message_id` when given: a piggybacked answer
// carries its request's), or nullptr when the message does not fit the session's maximum PDU
// size.
coap_pdu_t* to_pdu(coap_session_t* session, const coap::Message& message, coap_pdu_type_t type,
                   int message_id = -1);
// Fills a response PDU libcoap prepared (token and type already set).
void fill_response(coap_pdu_t* response, const coap::Message& message);

}  // namespace lwgate::upstream
