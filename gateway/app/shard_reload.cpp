// SIGHUP reload, the shard's part (declared in shard.hpp).
#include "app/shard.hpp"

#include <asio/post.hpp>

namespace lwgate::app {

void Shard::apply_settings(session::SessionSettings settings) {
    // Sessions copy the protocol settings when they start and read the write limits from
    // settings() as they go: the swap serves new connections, and open ones get the new
    // keepalive values (idle, pong timeout, missed Pongs) at once. CSM settings only matter at
    // a connection's start.
    asio::post(io_, [this, settings = std::move(settings)]() mutable {
        settings_ = std::move(settings);
        for (auto& [id, session] : sessions_)
            session->apply_keepalive(settings_.protocol.keepalive);
    });
}

void Shard::reload_bridge(std::shared_ptr<const std::vector<config::Credential>> credentials,
                          std::optional<lwm2m::RelayParams> relay,
                          std::optional<config::RateLimit> registration_rate) {
    asio::post(io_, [this, credentials = std::move(credentials), relay = std::move(relay),
                     registration_rate] {
        if (credentials) bridge_->reload_credentials(*credentials);
        if (relay) bridge_->reload_relay_params(*relay);
        if (registration_rate) bridge_->reload_registration_rate(*registration_rate);
    });
}

}  // namespace lwgate::app
