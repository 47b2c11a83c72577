#include "app/service_notify.hpp"

#include <systemd/sd-daemon.h>

#include <cstring>
#include <string>

#include <spdlog/spdlog.h>

namespace lwgate::app {

ServiceNotifier::ServiceNotifier(asio::io_context& control) : timer_(control) {}

ServiceNotifier::~ServiceNotifier() {
    *alive_ = false;
}

void ServiceNotifier::send(const std::string& message) {
    // < 0: the socket is gone (systemd restarting?); 0: not under systemd. Neither is fatal.
    if (int rc = sd_notify(0, message.c_str()); rc < 0)
        spdlog::debug("sd_notify failed: {}", std::strerror(-rc));
}

void ServiceNotifier::ready(std::string_view status) {
    send("READY=1\nSTATUS=" + std::string(status));
}

void ServiceNotifier::reloading(std::string_view status) {
    send("RELOADING=1\nSTATUS=" + std::string(status));
}

void ServiceNotifier::stopping(std::string_view status) {
    send("STOPPING=1\nSTATUS=" + std::string(status));
}

void ServiceNotifier::status(std::string_view status) {
    send("STATUS=" + std::string(status));
}

std::chrono::microseconds ServiceNotifier::start_watchdog(Probe probe,
                                                          std::function<std::string()> status) {
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::chrono::microseconds{0};
    probe_ = std::move(probe);
    status_ = std::move(status);
    period_ = std::chrono::microseconds(usec / 2);
    send("WATCHDOG=1");
    arm();
    return period_;
}

void ServiceNotifier::stop_watchdog() {
    period_ = std::chrono::microseconds{0};
    timer_.cancel();
}

void ServiceNotifier::arm() {
    // A new probe only once the previous one came back: a late answer then proves the shards
    // are alive again, never an older round.
    if (probe_ && !probe_in_flight_) {
        probe_in_flight_ = true;
        probe_([this, alive = alive_] {
            if (*alive) probe_in_flight_ = false;
        });
    }
    timer_.expires_after(period_);
    timer_.async_wait([this](const std::error_code& ec) {
        if (ec || period_.count() == 0) return;
        if (!probe_in_flight_)
            send(status_ ? "WATCHDOG=1\nSTATUS=" + status_() : std::string("WATCHDOG=1"));
        else
            spdlog::warn("watchdog: a shard did not answer within {} ms; not petting systemd",
                         std::chrono::duration_cast<std::chrono::milliseconds>(period_).count());
        arm();
    });
}

}  // namespace lwgate::app
