// What the admin HTTP server needs from the gateway. Implemented by app::AdminBackend, which
// posts to the shards and waits with a deadline; a fake implements it in tests.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "admin/model.hpp"
#include "admin/reload_result.hpp"
#include "credentials/credential_service.hpp"
#include "credentials/credential_table.hpp"
#include "session/session_snapshot.hpp"

namespace lwgate::admin {

class Backend {
  public:
    virtual ~Backend() = default;
    // Blocks the calling (HTTP) thread until every shard answered or the deadline passed
    // (then Snapshot::complete is false).
    virtual Snapshot collect(const CollectScope& scope) = 0;
    // nullopt: the connection is gone.
    using PingDone = std::function<void(std::optional<session::AdminPingResult>)>;
    // Sends a CoAP Ping and returns at once, so no thread waits for the device: `done` runs
    // once, on any thread, by `timeout` at the latest, or never when the shard does not answer
    // (the caller keeps a deadline of its own).
    virtual void start_ping(unsigned shard, std::uint64_t id, Duration timeout, PingDone done) = 0;
    virtual bool release(unsigned shard, std::uint64_t id,
                         std::optional<std::string> alternative_address,
                         std::optional<std::uint32_t> hold_off_seconds) = 0;
    virtual bool close(unsigned shard, std::uint64_t id) = 0;
    virtual void drain() = 0;
    // Cluster mode: the instance leases in Redis (a short blocking look, bounded). Not in a
    // cluster (or a backend without one): an empty list.
    virtual ClusterInstances cluster_instances() { return {std::vector<ClusterInstance>{}, {}}; }
    // The credentials and their one writer (null: a backend without them).
    virtual credentials::CredentialService* credential_service() { return nullptr; }
    virtual const credentials::CredentialTable* credential_table() { return nullptr; }
    // Closes every connection authenticated with one of these PSK identities (their key is no
    // longer valid), waiting for each shard up to its deadline: how many were closed.
    virtual std::size_t close_identities(const std::vector<std::string>& identities) {
        (void)identities;
        return 0;
    }
    // The SIGHUP reload of the config file (`apply`), or only reading and planning it (a
    // check), run where the gateway runs it; blocks, bounded. A backend without one: unsupported.
    virtual ReloadResult reload(bool /*apply*/) { return {}; }
};

}  // namespace lwgate::admin
