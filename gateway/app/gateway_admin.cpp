// Starting the admin API (declared in gateway.hpp's admin block).
#include "app/gateway.hpp"

#include <spdlog/spdlog.h>
#include <asio/post.hpp>

namespace lwgate::app {

Result<void, Error> Gateway::start_admin() {
    if (!config_.admin.enabled) return {};
    admin::GatewayFacts facts;
    facts.version = LWGATE_VERSION;
    facts.started = time_.now();
    facts.core_uri = config_.upstream.uri;
    facts.idle = config_.keepalive.idle;
    admin_backend_ = std::make_unique<AdminBackend>(
        shards_, close_recorders_, listeners_, accept_metrics_, std::move(facts),
        [this] { request_shutdown(); }, time_);
    admin_backend_->set_store(store_.get());
    admin_backend_->set_directory(&directory_);
    admin_server_ = std::make_unique<admin::AdminServer>(config_.admin, *admin_backend_);
    if (auto started = admin_server_->start(); !started) return started;
    spdlog::info("admin API on {}", admin_server_->url());
    return {};
}

std::string Gateway::admin_url() const {
    return admin_server_ ? admin_server_->url() : std::string();
}

}  // namespace lwgate::app
