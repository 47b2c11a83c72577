#include "upstream/held_requests.hpp"

#include <algorithm>
#include <utility>

namespace lwgate::upstream {

HeldRequests::Held* HeldRequests::find(std::uint16_t message_id, const coap::Token& token) {
    for (auto& h : held_) {
        if ((h.any_message_id || h.message_id == message_id) && h.token == token) return &h;
    }
    return nullptr;
}

void HeldRequests::hold_restored(Id id, const coap::Token& token) {
    held_.push_back(Held{id, 0, token, true, true, true});
}

HeldRequests::Held* HeldRequests::get(Id id) {
    return const_cast<Held*>(std::as_const(*this).get(id));
}

const HeldRequests::Held* HeldRequests::get(Id id) const {
    for (const auto& h : held_) {
        if (h.id == id) return &h;
    }
    return nullptr;
}

void HeldRequests::hold(Id id, std::uint16_t message_id, const coap::Token& token, bool confirmable,
                        bool acknowledged) {
    held_.push_back(Held{id, message_id, token, confirmable, acknowledged});
}

std::optional<HeldRequests::Held> HeldRequests::release(Id id) {
    const auto it =
        std::find_if(held_.begin(), held_.end(), [id](const Held& h) { return h.id == id; });
    if (it == held_.end()) return std::nullopt;
    Held held = *it;
    held_.erase(it);  // keeps arrival order; the list is short
    return held;
}

}  // namespace lwgate::upstream
