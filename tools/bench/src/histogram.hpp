// Latency histogram: log-linear buckets (32 per power of two) over nanoseconds, so percentiles
// carry at most ~3% error and recording is one increment. Merging adds bucket counts.
#pragma once

#include <array>
#include <bit>
#include <cstdint>

namespace lwgate::bench {

class Histogram {
  public:
    static constexpr unsigned sub_bits = 5;
    static constexpr unsigned sub = 1u << sub_bits;
    static constexpr unsigned buckets = 64 * sub;

    void record(std::uint64_t ns) {
        ++counts_[index(ns)];
        ++total_;
        if (ns > max_) max_ = ns;
        sum_ += ns;
    }
    void merge(const Histogram& o) {
        for (unsigned i = 0; i < buckets; ++i)
            counts_[i] += o.counts_[i];
        total_ += o.total_;
        sum_ += o.sum_;
        if (o.max_ > max_) max_ = o.max_;
    }
    std::uint64_t count() const { return total_; }
    std::uint64_t max() const { return max_; }
    double mean() const { return total_ ? static_cast<double>(sum_) / total_ : 0.0; }
    // q in [0,1]; the upper edge of the bucket holding that rank (0 if empty).
    std::uint64_t quantile(double q) const {
        if (total_ == 0) return 0;
        auto rank = static_cast<std::uint64_t>(q * static_cast<double>(total_ - 1)) + 1;
        std::uint64_t seen = 0;
        for (unsigned i = 0; i < buckets; ++i) {
            seen += counts_[i];
            if (seen >= rank) return upper(i);
        }
        return max_;
    }

  private:
    static unsigned index(std::uint64_t v) {
        if (v < sub) return static_cast<unsigned>(v);
        const unsigned msb = 63 - static_cast<unsigned>(std::countl_zero(v));
        const unsigned shift = msb - sub_bits;
        return (shift + 1) * sub + static_cast<unsigned>((v >> shift) & (sub - 1));
    }
    static std::uint64_t upper(unsigned i) {
        if (i < sub) return i;
        const unsigned shift = i / sub - 1;
        return ((static_cast<std::uint64_t>(sub + i % sub) + 1) << shift) - 1;
    }
    std::array<std::uint64_t, buckets> counts_{};
    std::uint64_t total_ = 0;
    std::uint64_t sum_ = 0;
    std::uint64_t max_ = 0;
};

}  // namespace lwgate::bench
