// `store.uri: memory:`: the Store interface kept in process memory. Nothing survives a restart;
// it keeps the bridge's code path identical for tests and for users who want no persistence.
#pragma once

#include <map>
#include <mutex>

#include "lwgate/store/store.hpp"

namespace lwgate::store {

class MemoryStore final : public Store {
  public:
    std::variant<std::vector<DeviceRecord>, std::string> load_all() override;
    void put(DeviceRecord record) override;
    void erase(const std::string& endpoint) override;
    void flush() override {}
    StoreStats stats() const override;

  private:
    mutable std::mutex mutex_;
    std::map<std::string, DeviceRecord> records_;
    StoreStats stats_;
};

}  // namespace lwgate::store
