// SIGHUP reload, the bridge's part (declared in bridge.hpp). Runs on the bridge's shard.
#include "bridge/bridge.hpp"

namespace lwgate::lwm2m {

void Bridge::reload_credentials(const std::vector<config::Credential>& credentials) {
    // Identity checks of connections that bind from now on use the new table; bound
    // connections and the PSKs of existing upstream DTLS sessions stay as they are.
    set_credentials(credentials);
}

void Bridge::reload_relay_params(const RelayParams& params) {
    // Devices whose relay state is created from now on use them.
    relay_params_ = params;
}

void Bridge::reload_registration_rate(const config::RateLimit& rate) {
    router_.set_registration_rate({rate.per_second, static_cast<double>(rate.burst)});
}

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
