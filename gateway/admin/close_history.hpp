// Recent closes per endpoint and recent half-open detections of one shard, bounded in memory.
// Written by the shard when a connection closes, read when the admin API collects. Pure.
#pragma once

#include <cstddef>
#include <deque>
#include <list>
#include <string>
#include <unordered_map>

#include "admin/model.hpp"

namespace lwgate::admin {

class CloseHistory {
  public:
    static constexpr std::size_t per_endpoint = 8;

    explicit CloseHistory(std::size_t max_endpoints = 100'000) : max_endpoints_(max_endpoints) {}

    void record(const std::string& endpoint, CloseRecord record);
    // Half-open detections count for health whether or not an endpoint was bound.
    void record_half_open(TimePoint at);

    const std::deque<CloseRecord>* find(const std::string& endpoint) const;
    // Closes per endpoint within `window` before `now` (endpoints with none left out).
    std::unordered_map<std::string, unsigned> recent_counts(TimePoint now, Duration window) const;
    std::uint64_t half_open_since(TimePoint since) const;
    std::size_t endpoints() const { return by_endpoint_.size(); }

  private:
    struct Entry {
        std::deque<CloseRecord> records;
        std::list<std::string>::iterator lru;
    };
    std::size_t max_endpoints_;
    std::unordered_map<std::string, Entry> by_endpoint_;
    std::list<std::string> lru_;       // least recently closed first: evicted beyond max_endpoints
    std::deque<TimePoint> half_open_;  // bounded: only the last minute matters
};

}  // namespace lwgate::admin
