// The configuration as the relay takes it: at start and on a SIGHUP reload.
#include "bridge/bridge.hpp"

namespace lwgate::lwm2m {

RelayParams relay_params_from(const config::Config& config) {
    RelayParams p;
    p.max_queued = config.queue_mode.max_queued;
    p.max_age = config.queue_mode.max_age;
    p.device_timeout = config.connections.request_timeout;
    p.overflow_max_age_seconds = static_cast<std::uint32_t>(
        std::chrono::duration_cast<std::chrono::seconds>(config.queue_mode.max_age).count());
    const auto& d = config.device_limits;
    p.uplinks_in_flight = d.uplinks_in_flight;
    p.uplinks_queued = d.uplinks_queued;
    p.notifications_per_second = d.notifications_per_second;
    p.notification_burst = d.notification_burst;
    p.max_lifetime_seconds = static_cast<std::uint32_t>(
        std::chrono::duration_cast<std::chrono::seconds>(config.registration.max_lifetime).count());
    return p;
}

}  // namespace lwgate::lwm2m
