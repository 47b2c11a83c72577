// What a device waits for: the answers to its requests and the Pongs to its Pings, matched by
// token, each with a deadline. Sans-I/O: the caller sends and reads, hands what it decoded to
// take_response()/take_pong(), and asks take_expired() when its own timer or poll says so.
// `T` is whatever the caller completes (a callback, a shared request state, nothing at all).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "lwgate/coap/message.hpp"

namespace lwgate::device {

template <class T>
class PendingRequests {
  public:
    using Clock = std::chrono::steady_clock;
    enum class Kind { request, ping };
    // A Pong's token is matched exactly, or (any_pong_is_life) the oldest Ping takes a Pong
    // whose token it does not know: libcoap 4.3.1 drops the Ping's token, and a Pong is life.
    enum class PongMatch { exact, any_pong_is_life };

    // Tokens are 4 bytes from a counter starting at `token_seed`: never two alike in flight.
    explicit PendingRequests(std::uint32_t token_seed = 1) : next_token_(token_seed) {}

    coap::Token next_token() {
        const std::uint32_t v = next_token_++;
        const std::uint8_t bytes[4] = {
            static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
            static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
        return coap::Token(coap::ByteView(bytes, 4));
    }

    // Waits for an answer with `token` until `deadline`; replaces what waited with that token.
    void add(const coap::Token& token, Kind kind, Clock::time_point deadline, T value) {
        std::erase_if(entries_, [&](const Entry& e) { return e.token == token; });
        entries_.push_back(Entry{token, kind, deadline, std::move(value)});
    }

    // What a response answers (no longer pending), or nullopt for an unknown token or a Ping's.
    std::optional<T> take_response(const coap::Message& response) {
        return take_first(
            [&](const Entry& e) { return e.kind == Kind::request && e.token == response.token(); });
    }

    // The Ping a Pong answers (no longer pending), or nullopt.
    std::optional<T> take_pong(const coap::Message& pong, PongMatch match) {
        auto ping = take_first(
            [&](const Entry& e) { return e.kind == Kind::ping && e.token == pong.token(); });
        if (ping || match == PongMatch::exact) return ping;
        return take_first([](const Entry& e) { return e.kind == Kind::ping; });
    }

    // Stops waiting for `token` if `value` is still what waits for it. True if it did.
    bool erase(const coap::Token& token, const T& value) {
        return take_first([&](const Entry& e) { return e.token == token && e.value == value; })
            .has_value();
    }

    // Everything whose deadline is at or before `now`, oldest first; no longer pending.
    std::vector<T> take_expired(Clock::time_point now) {
        return take_all_where([now](const Entry& e) { return e.deadline <= now; });
    }
    // Everything, oldest first (the connection is gone).
    std::vector<T> take_all() {
        return take_all_where([](const Entry&) { return true; });
    }

    // The earliest deadline, for the caller's timer or poll.
    std::optional<Clock::time_point> next_deadline() const {
        std::optional<Clock::time_point> next;
        for (const auto& e : entries_) {
            if (!next || e.deadline < *next) next = e.deadline;
        }
        return next;
    }

    bool empty() const { return entries_.empty(); }
    std::size_t size() const { return entries_.size(); }

  private:
    // Oldest first: a device has a handful in flight, so a scan beats a map and keeps the order.
    struct Entry {
        coap::Token token;
        Kind kind;
        Clock::time_point deadline;
        T value;
    };

    template <class Pred>
    std::optional<T> take_first(Pred&& pred) {
        const auto it = std::find_if(entries_.begin(), entries_.end(), pred);
        if (it == entries_.end()) return std::nullopt;
        T value = std::move(it->value);
        entries_.erase(it);
        return value;
    }

    template <class Pred>
    std::vector<T> take_all_where(Pred&& pred) {
        std::vector<T> out;
        std::vector<Entry> kept;
        for (auto& e : entries_) {
            if (pred(e)) {
                out.push_back(std::move(e.value));
            } else {
                kept.push_back(std::move(e));
            }
        }
        entries_ = std::move(kept);
        return out;
    }

    std::vector<Entry> entries_;
    std::uint32_t next_token_;
};

}  // namespace lwgate::device
