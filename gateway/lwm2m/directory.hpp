// Process-wide facts about endpoints that every shard needs when a connection binds: which
// registration location belongs to which endpoint (a device that reconnects and sends an Update
// names only its location), whether that registration was made over an authenticated (TLS)
// connection, and how many upstream sessions exist (connections.max_registrations). Which shard
// owns an endpoint is not recorded: it follows from the endpoint's name (endpoint/router.hpp).
//
// Thread-safe; the mutex is taken only when a connection binds or a registration starts, moves
// or ends: never per relayed message.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace lwgate::lwm2m {

// A live registration as the admission rules see it.
struct RegistrationFacts {
    std::string endpoint;
    std::string location;  // "/rd/5a3f"
    // Made over a connection authenticated as the endpoint (TLS identity): only such a
    // connection may continue it.
    bool authenticated = false;
};

class Directory {
  public:
    // Records (or replaces) the live registration of `facts.endpoint`.
    void set_registration(RegistrationFacts facts);
    // Forgets the registration at `location` (a no-op if another one replaced it).
    void erase_registration(const std::string& location);
    std::optional<RegistrationFacts> registration_at(const std::string& location) const;
    std::optional<RegistrationFacts> registration_of(const std::string& endpoint) const;
    std::size_t registrations() const;

    // Upstream sessions across the process (each holds a UDP socket toward the core), against
    // connections.max_registrations: the budget that keeps registrations from exhausting the
    // process's descriptors. Lock-free; taken once per new endpoint, not per message.
    void set_session_limit(std::uint64_t max) { session_limit_.store(max); }
    std::uint64_t session_limit() const { return session_limit_.load(); }
    // What else bounds the sessions: the process's descriptors, which the device connections
    // share (a connection is accepted while one descriptor is left; its session needs
    // another). Given the sessions there would be; set by the gateway, none in unit tests.
    void set_descriptor_room(std::function<bool(std::uint64_t sessions_after)> room) {
        descriptor_room_ = std::move(room);
    }
    enum class SessionOpen { opened, over_registrations, over_descriptors };
    // Nothing taken unless opened. `force`: restoring stored sessions at start.
    SessionOpen try_open_session(bool force = false);
    void close_session() { sessions_.fetch_sub(1); }
    std::uint64_t sessions() const { return sessions_.load(); }

  private:
    mutable std::mutex mutex_;
    std::unordered_map<std::string, RegistrationFacts> by_location_;
    std::unordered_map<std::string, std::string> location_of_;  // endpoint -> location
    std::atomic<std::uint64_t> session_limit_{UINT64_MAX};
    std::atomic<std::uint64_t> sessions_{0};
    std::function<bool(std::uint64_t)> descriptor_room_;
};

}  // namespace lwgate::lwm2m
