#include "upstream/answered_requests.hpp"

#include "lwgate/coap/tcp_codec.hpp"

namespace lwgate::upstream {

void AnsweredRequests::remember(std::uint16_t message_id, const coap::Token& token,
                                const coap::Message& answer, TimePoint now, bool any_message_id) {
    expire(now);
    if (max_entries_ == 0) return;
    while (entries_.size() >= max_entries_)
        pop_oldest();
    if (ring_.size() != max_entries_) ring_.resize(max_entries_);
    ring_[(ring_head_ + entries_.size()) % ring_.size()] = message_id;
    entries_.push_back(
        Entry{message_id, any_message_id, token, now + lifetime_, coap::encode(answer)});
    if (any_message_id) ++any_message_id_entries_;
}

std::optional<coap::Message> AnsweredRequests::find(std::uint16_t message_id,
                                                    const coap::Token& token, TimePoint now) {
    expire(now);
    const auto matches = [&](const Entry& e) {
        return (e.any_message_id || e.message_id == message_id) && e.token == token;
    };
    if (any_message_id_entries_ != 0) {  // rare: after a restart
        for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
            if (matches(*it)) return coap::decode_frame(it->answer);
        }
        return std::nullopt;
    }
    const std::size_t count = entries_.size();
    const std::size_t capacity = ring_.size();
    for (std::size_t slot = 0; slot < capacity; ++slot) {
        if (ring_[slot] != message_id) continue;
        const std::size_t i = (slot + capacity - ring_head_) % capacity;
        if (i < count && matches(entries_[i])) return coap::decode_frame(entries_[i].answer);
    }
    return std::nullopt;
}

void AnsweredRequests::expire(TimePoint now) {
    while (!entries_.empty() && entries_.front().expires_at <= now)
        pop_oldest();
}

void AnsweredRequests::pop_oldest() {
    if (entries_.front().any_message_id) --any_message_id_entries_;
    entries_.pop_front();
    ring_head_ = (ring_head_ + 1) % ring_.size();
}

}  // namespace lwgate::upstream
