// `store.uri: memory:`: the Store interface kept in process memory. Nothing survives a restart;
// it keeps the bridge's code path identical for tests and for users who want no persistence.
#pragma once

#include <map>
#include <mutex>

#include "store/store.hpp"

namespace lwgate::store {

class MemoryStore final : public Store {
  public:
    Result<std::vector<DeviceRecord>, Error> load_all() override;
    std::uint64_t put(DeviceRecord record) override;
    std::uint64_t erase(const std::string& endpoint, std::uint64_t owner_epoch = 0) override;
    // Memory is "durable" at once: the listener runs inside put()/erase().
    void set_commit_listener(std::function<void(std::uint64_t)> listener) override {
        listener_ = std::move(listener);
    }
    void flush() override {}
    StoreStats stats() const override;
    Result<std::vector<CredentialRecord>, Error> load_credentials() override;
    Result<void, Error> write_credentials(const std::vector<CredentialChange>& changes) override;
    bool keeps_credentials() const override { return true; }

  private:
    std::uint64_t committed(std::uint64_t seq);

    mutable std::mutex mutex_;
    std::map<std::string, DeviceRecord> records_;
    std::map<std::string, CredentialRecord> credentials_;
    StoreStats stats_;
    std::uint64_t seq_ = 0;
    std::function<void(std::uint64_t)> listener_;
};

}  // namespace lwgate::store
