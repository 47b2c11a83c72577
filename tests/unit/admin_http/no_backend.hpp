// An admin Backend with nothing behind it: for tests of the HTTP server alone.
#pragma once

#include <optional>
#include <string>

#include "admin/backend.hpp"

namespace lwgate::admin {

class NoBackend final : public Backend {
  public:
    Snapshot collect(const CollectScope&) override { return {}; }
    void start_ping(unsigned, std::uint64_t, Duration, PingDone done) override {
        done(std::nullopt);
    }
    bool release(unsigned, std::uint64_t, std::optional<std::string>,
                 std::optional<std::uint32_t>) override {
        return false;
    }
    bool close(unsigned, std::uint64_t) override { return false; }
    void drain() override {}
};

}  // namespace lwgate::admin
