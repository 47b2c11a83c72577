// Writing the Prometheus text format 0.0.4: a family's HELP and TYPE lines, then its samples.
// Shared by the files that write /metrics (metrics_text.cpp, metrics_health.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace lwgate::admin {

class MetricsWriter {
  public:
    void family(std::string_view name, std::string_view type, std::string_view help) {
        out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    }
    template <class T>
    void sample(std::string_view name, std::string_view labels, T value) {
        out_ += name;
        if (!labels.empty()) out_ += fmt::format("{{{}}}", labels);
        out_ += fmt::format(" {}\n", value);
    }
    // A histogram's samples: (upper bound in s, cumulative count) pairs, then +Inf, sum, count.
    void histogram(std::string_view name,
                   const std::vector<std::pair<double, std::uint64_t>>& buckets,
                   std::uint64_t count, double sum) {
        const std::string bucket = std::string(name) + "_bucket";
        for (const auto& [le, n] : buckets)
            sample(bucket, fmt::format("le=\"{}\"", le), n);
        sample(bucket, "le=\"+Inf\"", count);
        sample(std::string(name) + "_sum", "", sum);
        sample(std::string(name) + "_count", "", count);
    }
    std::string take() { return std::move(out_); }

  private:
    std::string out_;
};

struct Snapshot;

// The families of metrics_health.cpp: the health verdict and the core's state
// (lwgate_health_status, lwgate_core_up, lwgate_core_probe_*), and the process_* families.
void write_health_metrics(MetricsWriter& w, const Snapshot& s);
void write_process_metrics(MetricsWriter& w, const Snapshot& s);

}  // namespace lwgate::admin
