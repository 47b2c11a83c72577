#include "app/heap_trimmer.hpp"

#include <malloc.h>
#include <unistd.h>

#include <cstdio>

#include <spdlog/spdlog.h>

namespace lwgate::app {

namespace {

// A burst is over half a second after its last connection event: soon enough that the memory is
// back before anyone looks, late enough not to trim in the middle of one.
constexpr Duration kTick{500};

std::uint64_t resident_kib() {
    std::FILE* f = std::fopen("/proc/self/statm", "r");
    if (!f) return 0;
    unsigned long long size = 0, resident = 0;
    const int n = std::fscanf(f, "%llu %llu", &size, &resident);
    std::fclose(f);
    return n == 2 ? resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE)) / 1024 : 0;
}

}  // namespace

HeapTrimmer::HeapTrimmer(asio::io_context& control, std::function<std::uint64_t()> churn_total)
    : timer_(control), churn_total_(std::move(churn_total)), policy_({}, Clock::now()) {}

void HeapTrimmer::start() {
    arm();
}

void HeapTrimmer::arm() {
    timer_.expires_after(kTick);
    timer_.async_wait([this](const std::error_code& ec) {
        if (ec) return;
        on_tick();
        arm();
    });
}

void HeapTrimmer::on_tick() {
    const std::uint64_t churn = churn_total_();
    if (!policy_.on_tick(Clock::now(), churn)) return;
    const auto before = resident_kib();
    const auto started = Clock::now();
    ::malloc_trim(0);
    const auto took = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started);
    const auto after = resident_kib();
    spdlog::debug("heap trim after {} connection events: RSS {} -> {} KiB in {:.1f} ms", churn,
                  before, after, static_cast<double>(took.count()) / 1000.0);
}

}  // namespace lwgate::app
