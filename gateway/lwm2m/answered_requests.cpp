#include "lwgate/lwm2m/answered_requests.hpp"

#include "lwgate/coap/tcp_codec.hpp"

namespace lwgate::lwm2m {

void AnsweredRequests::remember(std::uint16_t message_id, const coap::Token& token,
                                const coap::Message& answer, TimePoint now, bool any_message_id) {
    expire(now);
    if (max_entries_ == 0) return;
    while (entries_.size() >= max_entries_)
        entries_.pop_front();
    entries_.push_back(
        Entry{message_id, any_message_id, token, now + lifetime_, coap::encode(answer)});
}

std::optional<coap::Message> AnsweredRequests::find(std::uint16_t message_id,
                                                    const coap::Token& token, TimePoint now) {
    expire(now);
    for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
        if ((it->any_message_id || it->message_id == message_id) && it->token == token) {
            return coap::decode_frame(it->answer);
        }
    }
    return std::nullopt;
}

void AnsweredRequests::expire(TimePoint now) {
    while (!entries_.empty() && entries_.front().expires_at <= now)
        entries_.pop_front();
}

}  // namespace lwgate::lwm2m
