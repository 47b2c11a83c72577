#include "lwgate/store/memory_store.hpp"

namespace lwgate::store {

std::variant<std::vector<DeviceRecord>, std::string> MemoryStore::load_all() {
    std::lock_guard lock(mutex_);
    std::vector<DeviceRecord> out;
    for (const auto& [endpoint, record] : records_)
        out.push_back(record);
    return out;
}

void MemoryStore::put(DeviceRecord record) {
    std::lock_guard lock(mutex_);
    ++stats_.puts;
    ++stats_.rows_written;
    auto endpoint = record.endpoint;
    records_[endpoint] = std::move(record);
}

void MemoryStore::erase(const std::string& endpoint) {
    std::lock_guard lock(mutex_);
    ++stats_.erases;
    ++stats_.rows_written;
    records_.erase(endpoint);
}

StoreStats MemoryStore::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

}  // namespace lwgate::store
