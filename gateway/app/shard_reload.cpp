// SIGHUP reload, the shard's part (declared in shard.hpp).
#include <asio/post.hpp>

#include "app/shard.hpp"

namespace lwgate::app {

void Shard::apply_settings(session::SessionSettings settings) {
    // Sessions copy the protocol settings when they start and read the write limits from
    // settings() as they go, so a swap on the shard's own thread is all it takes: connections
    // opened from now on get the new keepalive/CSM values, existing ones keep running.
    asio::post(
        io_, [this, settings = std::move(settings)]() mutable { settings_ = std::move(settings); });
}

void Shard::reload_bridge(std::shared_ptr<const std::vector<config::Credential>> credentials,
                          std::optional<lwm2m::RelayParams> relay) {
    asio::post(io_, [this, credentials = std::move(credentials), relay = std::move(relay)] {
        if (credentials) bridge_->reload_credentials(*credentials);
        if (relay) bridge_->reload_relay_params(*relay);
    });
}

}  // namespace lwgate::app
