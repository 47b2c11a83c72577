// systemd integration (Type=notify): READY=1 once the listeners accept, RELOADING=1/READY=1
// around a SIGHUP reload, STOPPING=1 when the drain begins, STATUS=... lines for
// `systemctl status`, and WATCHDOG=1 every half WatchdogSec.
//
// The watchdog only pets when the process is really alive: each period it asks a liveness probe
// (the gateway posts a no-op through every shard's io_context and back) and pets only when the
// previous probe came back, so a stuck shard lets systemd restart the service.
//
// Without NOTIFY_SOCKET (not started by systemd) every call is a no-op.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

namespace lwgate::app {

class ServiceNotifier {
  public:
    // probe(done): start a liveness check; call `done` on the control thread when it passed.
    using Probe = std::function<void(std::function<void()> done)>;

    explicit ServiceNotifier(asio::io_context& control);
    ~ServiceNotifier();

    void ready(std::string_view status);
    void reloading(std::string_view status);
    void stopping(std::string_view status);
    void status(std::string_view status);

    // Starts petting the watchdog when systemd asked for one (WATCHDOG_USEC, and WATCHDOG_PID is
    // this process if set). Returns the petting period, or zero when there is no watchdog.
    // `status` (optional) refreshes the STATUS= line with every pet.
    std::chrono::microseconds start_watchdog(Probe probe,
                                             std::function<std::string()> status = nullptr);
    void stop_watchdog();

  private:
    void send(const std::string& message);
    void arm();

    asio::steady_timer timer_;
    Probe probe_;
    std::function<std::string()> status_;
    std::chrono::microseconds period_{0};
    bool probe_in_flight_ = false;
    // Cleared on destruction, so a probe answer that arrives late touches nothing.
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace lwgate::app
