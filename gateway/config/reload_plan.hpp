// SIGHUP reload, the decision half: compares the running configuration with the one just read
// and says, key by key, what changes and whether it can be applied to the running process.
// Pure (no I/O, no logging) so every rule is unit-tested; Gateway::reload() does the applying.
//
// What applies at run time, and through which applier, or needs a restart, is declared per key
// in the key table (lwgate/config/keys.hpp, Reload). In short: log, keepalive, connections, tcp,
// shutdown, queue_mode, device_limits, registration and credentials apply (existing connections
// keep their settings, but keepalive, and are never dropped); listeners, upstream, threads,
// store, cluster and admin need a restart.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"

namespace lwgate::config {

struct ReloadChange {
    std::string key;   // "keepalive.idle"
    std::string from;  // "60s" (secrets are never shown: credentials list endpoint names only)
    std::string to;
};

struct ReloadPlan {
    std::vector<ReloadChange> applied;        // what reload() will apply
    std::vector<ReloadChange> needs_restart;  // what stays as it is until a restart

    // Which appliers have work to do.
    bool log_level = false;
    bool session_settings = false;  // keepalive.*, connections.* of sessions -> every shard
    bool accept_limits = false;     // connections.max, connections.accept_rate
    bool relay_params = false;      // queue_mode.*, device_limits.*, connections.request_timeout,
                                    // registration.max_lifetime -> bridges (new relays)
    bool registration_limits = false;  // connections.max_registrations, registration.rate_*
    bool credentials = false;          // -> bridges and TLS PSK tables

    bool nothing_changed() const { return applied.empty() && needs_restart.empty(); }
};

ReloadPlan plan_reload(const config::Config& running, const config::Config& next);

// One line for the log: "keepalive.idle 60s -> 30s".
std::string describe(const ReloadChange& change);

}  // namespace lwgate::config
