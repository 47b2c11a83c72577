// An admin Backend with nothing behind it: no data unless a test sets `snapshot`, every action
// refused unless `actions_succeed`. Tests of the API and of the HTTP server derive from it and
// override only what they watch.
#pragma once

#include <optional>
#include <string>

#include "admin/backend.hpp"

namespace lwgate::admin {

class NoBackend : public Backend {
  public:
    Snapshot collect(const CollectScope&) override {
        ++collections;
        return snapshot;
    }
    void start_ping(unsigned, std::uint64_t, Duration, PingDone done) override {
        done(std::nullopt);
    }
    bool release(unsigned, std::uint64_t, std::optional<std::string>,
                 std::optional<std::uint32_t>) override {
        return actions_succeed;
    }
    bool close(unsigned, std::uint64_t) override { return actions_succeed; }
    void drain() override { ++drains; }

    Snapshot snapshot;
    bool actions_succeed = false;
    int collections = 0;
    int drains = 0;
};

}  // namespace lwgate::admin
