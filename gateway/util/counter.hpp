// Counters written by exactly one thread (the owning shard) and read by any thread (admin,
// logs). A relaxed load+store instead of fetch_add keeps the hot path free of locked
// instructions; readers may see a slightly stale value, which is fine for metrics.
#pragma once

#include <atomic>
#include <cstdint>

namespace lwgate {

class Counter {
  public:
    void add(std::uint64_t n = 1) {
        value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    std::uint64_t get() const { return value_.load(std::memory_order_relaxed); }

  private:
    std::atomic<std::uint64_t> value_{0};
};

class Gauge {
  public:
    void add(std::int64_t n) {
        value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    std::int64_t get() const { return value_.load(std::memory_order_relaxed); }

  private:
    std::atomic<std::int64_t> value_{0};
};

}  // namespace lwgate
