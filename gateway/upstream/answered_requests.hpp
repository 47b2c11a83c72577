// Recently answered requests of the core, for answering a late retransmission the same way.
//
// CoAP over UDP (RFC 7252 §4.5): a confirmable request may arrive again when the core missed our
// acknowledgement. While lwgate still holds the request, HeldRequests recognises the copy; once
// it is answered nothing would (libcoap 4.3.1 keeps no record of answered requests), and the
// copy would be relayed to the device a second time (an Execute run twice). This cache
// remembers, per upstream session, the Message ID and token of each answered request with its
// answer for EXCHANGE_LIFETIME, and UpstreamExchange answers a copy from here instead of
// relaying it. Bounded in entries. Sans-I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "lwgate/coap/message.hpp"
#include "util/clock.hpp"

namespace lwgate::upstream {

class AnsweredRequests {
  public:
    // RFC 7252 §4.8.2: EXCHANGE_LIFETIME with the default transmission parameters.
    static constexpr Duration exchange_lifetime{247'000};

    explicit AnsweredRequests(std::size_t max_entries = 64, Duration lifetime = exchange_lifetime)
        : max_entries_(max_entries), lifetime_(lifetime) {}

    // any_message_id: the request's Message ID is unknown (restored after a restart): any copy
    // with the token gets this answer.
    void remember(std::uint16_t message_id, const coap::Token& token, const coap::Message& answer,
                  TimePoint now, bool any_message_id = false);
    // The answer already given to this request (same Message ID and token), if remembered.
    std::optional<coap::Message> find(std::uint16_t message_id, const coap::Token& token,
                                      TimePoint now);
    std::size_t size() const { return entries_.size(); }

  private:
    struct Entry {
        std::uint16_t message_id;
        bool any_message_id;
        coap::Token token;
        TimePoint expires_at;
        // One allocation (an RFC 8323 frame), not a Message's option vectors: remember() runs
        // for every answer to the core, find() hits only for the rare retransmission.
        coap::Bytes answer;
    };
    void expire(TimePoint now);
    void pop_oldest();

    std::size_t max_entries_;
    Duration lifetime_;
    std::deque<Entry> entries_;  // oldest first
    // find() runs for every request of the core and almost never hits: it scans a ring of the
    // entries' 2-byte Message IDs (2 cache lines for 64 entries) instead of the entries
    // (~3 KiB, cold). entries_[i] has its Message ID at ring_[(ring_head_ + i) % ring_.size()].
    std::vector<std::uint16_t> ring_;
    std::size_t ring_head_ = 0;
    std::size_t any_message_id_entries_ = 0;  // restored entries that match by token alone
};

}  // namespace lwgate::upstream
