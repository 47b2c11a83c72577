// Starting the admin API (declared in gateway.hpp's admin block).
#include "app/gateway.hpp"
#include "redis/redis_uri.hpp"

#include <spdlog/spdlog.h>
#include <asio/post.hpp>

#include "net/tls_context.hpp"

namespace lwgate::app {

namespace {

// admin.tls as a context for the admin server, made by the listeners' TLS code with their
// defaults, so that a certificate the listeners would refuse is refused here too.
Result<std::shared_ptr<SSL_CTX>, Error> admin_tls(const config::AdminConfig& admin) {
    if (!admin.tls()) return std::shared_ptr<SSL_CTX>();
    config::TlsConfig files;
    files.certificate = admin.tls_certificate;
    files.private_key = admin.tls_private_key;
    auto made = net::make_https_context(files);
    if (!made) {
        const auto& e = made.error();
        return fail(Error{e.code, "admin.tls: " + e.detail});
    }
    return std::shared_ptr<SSL_CTX>(made->release(), SSL_CTX_free);
}

}  // namespace

Result<void, Error> Gateway::start_admin() {
    if (!config_.admin.enabled) return {};
    auto tls = admin_tls(config_.admin);
    if (!tls) return fail(std::move(tls).error());
    admin::GatewayFacts facts;
    facts.version = LWGATE_VERSION;
    facts.started = time_.now();
    facts.core_uri = config_.upstream.uri;
    facts.idle = config_.keepalive.idle;
    admin_backend_ = std::make_unique<AdminBackend>(
        shards_, close_recorders_, listeners_, accept_metrics_, std::move(facts),
        [this] { request_shutdown("drain requested through the admin API"); }, time_);
    admin_backend_->set_store(store_.get());
    admin_backend_->set_directory(&directory_);
    admin_backend_->set_credentials(credential_service_.get(), &credentials_);
    admin_backend_->set_reload(control_, [this](bool apply) {
        return reload(apply, apply ? "admin API reload" : "admin API check");
    });
    if (!instance_.name.empty()) {
        AdminBackend::ClusterSource cluster;
        cluster.facts.enabled = true;
        cluster.facts.instance = instance_.name;
        cluster.facts.incarnation = instance_.incarnation;
        cluster.facts.lease = std::chrono::duration_cast<Duration>(config_.cluster.lease);
        cluster.control = &control_;
        cluster.link = instance_link_.get();
        if (auto address = redis::parse_redis_uri(config_.store.uri)) cluster.address = *address;
        admin_backend_->set_cluster(std::move(cluster));
    }
    admin_server_ =
        std::make_unique<admin::AdminServer>(config_.admin, *admin_backend_, std::move(*tls));
    if (auto started = admin_server_->start(); !started) return started;
    spdlog::info("admin API on {}", admin_server_->url());
    return {};
}

std::string Gateway::admin_url() const {
    return admin_server_ ? admin_server_->url() : std::string();
}

}  // namespace lwgate::app
