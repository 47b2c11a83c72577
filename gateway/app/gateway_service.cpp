// Gateway: systemd notifications and SIGHUP reload (declared in gateway.hpp's "service
// integration" block). Everything here runs on the control thread.
#include <variant>

#include <spdlog/spdlog.h>
#include <asio/post.hpp>

#include "app/gateway.hpp"
#include "config/reload_plan.hpp"
#include "config/config_loader.hpp"
#include "config/keys.hpp"

namespace lwgate::app {

namespace {

std::string serving_status(std::size_t listeners, std::int64_t connections) {
    return "serving: " + std::to_string(listeners) + " listener(s), " +
           std::to_string(connections) + " connection(s)";
}

}  // namespace

void Gateway::notify_ready() {
    if (!service_) service_ = std::make_unique<ServiceNotifier>(control_);
    service_->ready(serving_status(listeners_.size(), 0));
    const auto period = service_->start_watchdog(
        [this](std::function<void()> done) { probe_shards(std::move(done)); },
        [this] {
            return serving_status(listeners_.size(),
                                  open_connections_.load(std::memory_order_relaxed));
        });
    if (period.count() > 0)
        spdlog::info("systemd watchdog: WATCHDOG=1 every {} ms while every shard answers",
                     std::chrono::duration_cast<std::chrono::milliseconds>(period).count());
}

void Gateway::notify_stopping() {
    if (service_) service_->stopping("draining");
}

void Gateway::probe_shards(std::function<void()> done) {
    auto remaining = std::make_shared<std::size_t>(shards_.size());
    auto shared_done = std::make_shared<std::function<void()>>(std::move(done));
    for (auto& shard : shards_) {
        asio::post(shard->io(), [this, remaining, shared_done] {
            asio::post(control_, [remaining, shared_done] {
                if (--*remaining == 0) (*shared_done)();
            });
        });
    }
}

// Reads config_path_ for a reload; nullopt (and `result` says why) when it has errors.
std::optional<config::Config> Gateway::read_for_reload(admin::ReloadResult& result, bool log,
                                                       std::string_view origin) const {
    auto loaded = config::load_config_file(config_path_);
    auto* errors = std::get_if<std::vector<config::ConfigError>>(&loaded);
    if (!errors) return std::get<config::Config>(std::move(loaded));
    result.outcome = admin::ReloadOutcome::config_errors;
    result.errors = std::move(*errors);
    if (log) {
        for (const auto& e : result.errors)
            spdlog::error("reload: {}{}", e.file.empty() ? config_path_ + ": " : "", e.to_string());
        spdlog::error("{}: {} has {} error(s); nothing changed", origin, config_path_,
                      result.errors.size());
    }
    return std::nullopt;
}

admin::ReloadResult Gateway::reload(bool apply, std::string_view origin) {
    admin::ReloadResult result;
    result.config_path = config_path_;
    if (draining_) {
        result.outcome = admin::ReloadOutcome::draining;
        return result;
    }
    if (config_path_.empty()) {
        if (apply)
            spdlog::warn("{}: started with the built-in defaults (no --config); nothing to reload",
                         origin);
        result.outcome = admin::ReloadOutcome::no_config_file;
        return result;
    }
    if (apply && service_) service_->reloading("reloading " + config_path_);
    const auto open = open_connections_.load(std::memory_order_relaxed);
    auto done = [&](const std::string& status) {
        if (apply && service_)
            service_->ready(status + "; " + serving_status(listeners_.size(), open));
    };
    auto next = read_for_reload(result, apply, origin);
    if (!next) {
        done("reload refused (config errors)");
        return result;
    }
    auto plan = config::plan_reload(config_, *next);
    result.applied = plan.applied;
    result.needs_restart = plan.needs_restart;
    if (!apply) {
        result.outcome = admin::ReloadOutcome::checked;
        return result;
    }
    for (const auto& c : plan.applied)
        spdlog::info("reload: applied {}", describe(c));
    for (const auto& c : plan.needs_restart)
        spdlog::warn("reload: needs a restart: {} (still {})", c.key, c.from);

    // What the control thread reads itself (limits at accept, TCP options, drain) changes in
    // place; shards get copies by posting. Nothing that needs a restart is touched.
    config::copy_reloadable(*next, config_);
    apply_reload(plan, open);
    const auto summary = "reloaded " + std::to_string(plan.applied.size()) + " change(s), " +
                         std::to_string(plan.needs_restart.size()) + " need a restart";
    spdlog::info("{}: {} from {}", origin, summary, config_path_);
    done(summary);
    result.outcome = admin::ReloadOutcome::applied;
    return result;
}

void Gateway::apply_reload(const config::ReloadPlan& plan, std::uint64_t open_connections) {
    if (plan.log_level)
        spdlog::set_level(spdlog::level::from_str(config::to_string(config_.log.level)));
    ShardReload changes;
    if (plan.session_settings) {
        changes.settings = session_settings_from(config_);
        spdlog::info(
            "reload: keepalive settings apply to the {} open connection(s) at once; CSM and "
            "write limits to connections opened from now on",
            open_connections);
    }
    if (plan.accept_limits) {
        const auto& rate = config_.connections.accept_rate;
        accept_bucket_ =
            TokenBucket(rate.per_second, rate.burst ? rate.burst : rate.per_second, time_.now());
    }
    if (plan.registration_limits) {
        directory_.set_session_limit(
            descriptor_budget_.registrations(config_.connections.max_registrations));
    }
    changes.bridge = bridge_reload(plan);
    for (auto& shard : shards_)
        shard->reload(changes);
    if (plan.credentials) reseed_credentials();
}

lwm2m::BridgeReload Gateway::bridge_reload(const config::ReloadPlan& plan) const {
    lwm2m::BridgeReload changes;
    if (plan.relay_params) changes.relay = lwm2m::relay_params_from(config_);
    if (plan.registration_limits) changes.registration_rate = config_.registration.rate_per_address;
    return changes;
}

}  // namespace lwgate::app
