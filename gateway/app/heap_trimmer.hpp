// Gives the heap's free pages back to the kernel once a burst of connections is over
// (HeapTrimPolicy says when; malloc_trim(0) does it). Runs on the control thread.
#pragma once

#include <cstdint>
#include <functional>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include "app/heap_trim_policy.hpp"

namespace lwgate::app {

class HeapTrimmer {
  public:
    // churn_total: running total of connection events (accepts, handshakes, closes).
    HeapTrimmer(asio::io_context& control, std::function<std::uint64_t()> churn_total);

    void start();

  private:
    void arm();
    void on_tick();

    asio::steady_timer timer_;
    std::function<std::uint64_t()> churn_total_;
    HeapTrimPolicy policy_;
};

}  // namespace lwgate::app
