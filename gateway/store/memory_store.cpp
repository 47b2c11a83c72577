#include "store/memory_store.hpp"

namespace lwgate::store {

Result<std::vector<DeviceRecord>, Error> MemoryStore::load_all() {
    std::lock_guard lock(mutex_);
    std::vector<DeviceRecord> out;
    for (const auto& [endpoint, record] : records_)
        out.push_back(record);
    return out;
}

std::uint64_t MemoryStore::put(DeviceRecord record) {
    std::uint64_t seq = 0;
    {
        std::lock_guard lock(mutex_);
        ++stats_.puts;
        ++stats_.rows_written;
        auto endpoint = record.endpoint;
        records_[endpoint] = std::move(record);
        seq = ++seq_;
    }
    return committed(seq);
}

std::uint64_t MemoryStore::erase(const std::string& endpoint, std::uint64_t) {
    std::uint64_t seq = 0;
    {
        std::lock_guard lock(mutex_);
        ++stats_.erases;
        ++stats_.rows_written;
        records_.erase(endpoint);
        seq = ++seq_;
    }
    return committed(seq);
}

std::uint64_t MemoryStore::committed(std::uint64_t seq) {
    if (listener_) listener_(seq);
    return seq;
}

Result<std::vector<CredentialRecord>, Error> MemoryStore::load_credentials() {
    std::lock_guard lock(mutex_);
    std::vector<CredentialRecord> out;
    out.reserve(credentials_.size());
    for (const auto& [endpoint, record] : credentials_)
        out.push_back(record);
    return out;
}

Result<void, Error> MemoryStore::write_credentials(const std::vector<CredentialChange>& changes) {
    std::lock_guard lock(mutex_);
    for (const auto& change : changes) {
        if (change.record)
            credentials_[change.endpoint] = *change.record;
        else
            credentials_.erase(change.endpoint);
    }
    return {};
}

StoreStats MemoryStore::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

}  // namespace lwgate::store
