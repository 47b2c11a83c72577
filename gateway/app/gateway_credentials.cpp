// Gateway credentials: the table every handshake reads, filled from the store and seeded from
// the YAML at start and on SIGHUP (credentials/credential_service.hpp has the rules).
#include <chrono>
#include <unordered_set>

#include <spdlog/spdlog.h>

#include "app/gateway.hpp"

namespace lwgate::app {

namespace {

store::UnixMillis unix_now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

void log_seed(const credentials::SeedOutcome& out, std::size_t total) {
    if (out.added + out.changed + out.removed > 0)
        spdlog::info(
            "credentials from the configuration: {} added, {} changed, {} removed ({} in all)",
            out.added, out.changed, out.removed, total);
    for (const auto& endpoint : out.overridden)
        spdlog::warn(
            "credentials: the configuration's entry for '{}' is not applied: the admin API "
            "changed it since (remove it there to let the configuration manage it again)",
            endpoint);
    for (const auto& conflict : out.conflicts)
        spdlog::warn("credentials: the configuration's entry {} is not applied", conflict);
}

}  // namespace

Result<void, Error> Gateway::load_credentials() {
    credential_service_ = std::make_unique<credentials::CredentialService>(credentials_, *store_);
    auto loaded = credential_service_->load();
    if (!loaded) return fail(Error{loaded.error().code, "credentials: " + loaded.error().detail});
    if (*loaded > 0) spdlog::info("credentials: {} endpoint(s) from the store", *loaded);
    auto seeded = credential_service_->seed(config_.credentials, unix_now());
    if (!seeded) return fail(Error{seeded.error().code, "credentials: " + seeded.error().detail});
    log_seed(*seeded, credentials_.size());
    if (!credential_service_->writable())
        spdlog::info(
            "credentials: the store does not keep them; they come from the "
            "configuration only and the admin API cannot change them");
    return {};
}

void Gateway::reseed_credentials() {
    if (!credential_service_) return;
    auto seeded = credential_service_->seed(config_.credentials, unix_now());
    if (!seeded) {
        spdlog::error("reload: credentials not applied: {}", seeded.error().message());
        return;
    }
    log_seed(*seeded, credentials_.size());
    close_identities(std::move(seeded->retired));
}

// How long a credential another instance changed (a key retired, an identity removed) may still
// work here. Not a key: a read of an unchanged stream costs Redis microseconds, so there is no
// load to trade against a longer window in which a revoked key still opens connections.
constexpr std::chrono::milliseconds credential_feed_interval{1000};

void Gateway::start_credential_watcher() {
    if (!credential_service_ || !store_->shares_credentials()) return;
    credential_watcher_ = std::make_unique<CredentialWatcher>(
        *store_, *credential_service_,
        [this](std::vector<std::string> identities) { close_identities(std::move(identities)); },
        credential_feed_interval);
    credential_watcher_->start();
}

void Gateway::close_identities(std::vector<std::string> identities) {
    if (identities.empty()) return;
    auto set = std::make_shared<const std::unordered_set<std::string>>(identities.begin(),
                                                                       identities.end());
    for (auto& shard : shards_) {
        shard->close_identities(set, [index = shard->index()](std::size_t closed) {
            if (closed > 0)
                spdlog::info("shard={} closed {} connection(s) whose PSK identity was retired",
                             index, closed);
        });
    }
}

}  // namespace lwgate::app
