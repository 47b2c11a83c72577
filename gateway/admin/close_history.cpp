#include "admin/close_history.hpp"

namespace lwgate::admin {

void CloseHistory::record(const std::string& endpoint, CloseRecord record) {
    auto it = by_endpoint_.find(endpoint);
    if (it == by_endpoint_.end()) {
        if (max_endpoints_ == 0) return;
        if (by_endpoint_.size() >= max_endpoints_) {
            by_endpoint_.erase(lru_.front());
            lru_.pop_front();
        }
        lru_.push_back(endpoint);
        it = by_endpoint_.emplace(endpoint, Entry{{}, std::prev(lru_.end())}).first;
    } else {
        lru_.splice(lru_.end(), lru_, it->second.lru);
    }
    auto& records = it->second.records;
    records.push_back(std::move(record));
    while (records.size() > per_endpoint)
        records.pop_front();
}

void CloseHistory::record_half_open(TimePoint at) {
    half_open_.push_back(at);
    while (half_open_.size() > 100'000 ||
           (!half_open_.empty() && half_open_.front() + std::chrono::minutes(1) < at))
        half_open_.pop_front();
}

const std::deque<CloseRecord>* CloseHistory::find(const std::string& endpoint) const {
    auto it = by_endpoint_.find(endpoint);
    return it == by_endpoint_.end() ? nullptr : &it->second.records;
}

std::unordered_map<std::string, unsigned> CloseHistory::recent_counts(TimePoint now,
                                                                      Duration window) const {
    std::unordered_map<std::string, unsigned> out;
    for (const auto& [endpoint, entry] : by_endpoint_) {
        unsigned n = 0;
        for (const auto& r : entry.records)
            if (!r.expected && r.steady + window >= now) ++n;
        if (n) out[endpoint] = n;
    }
    return out;
}

std::uint64_t CloseHistory::half_open_since(TimePoint since) const {
    std::uint64_t n = 0;
    for (auto t : half_open_)
        if (t >= since) ++n;
    return n;
}

}  // namespace lwgate::admin
