// One shard's link to the cluster's shared state in Redis: it runs the lease rules' scripts
// (claim with the holder's liveness checked, release, revalidate), loads an endpoint's record
// for an adoption, leaves notices in other instances' inboxes and keeps the location hints.
// Every answer comes back as a callback on the shard's io_context; nothing here decides: the
// decisions are cluster/Ownership's, executed by the bridge.
//
// Not thread-safe: one per shard, used on that shard's thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <asio/io_context.hpp>

#include "cluster/lease_rules.hpp"
#include "cluster/notice.hpp"
#include "redis/redis_connection.hpp"
#include "store/store.hpp"

namespace lwgate::cluster_link {

// What an Update's location leads to (lease_scripts.hpp location_key).
struct LocationHint {
    std::string endpoint;
    bool authenticated = false;
};

struct ClusterClientStats {
    std::uint64_t commands = 0;
    std::uint64_t errors = 0;            // failed or unexpected replies
    std::uint64_t latency_us_total = 0;  // of the commands answered
};

class ClusterClient {
  public:
    ClusterClient(asio::io_context& io, redis::RedisAddress address, cluster::InstanceId me,
                  std::chrono::milliseconds lease);
    // The connection completes what is in flight as it closes: those answers go nowhere (their
    // callers are being destroyed too).
    ~ClusterClient() { closing_ = true; }
    ClusterClient(const ClusterClient&) = delete;
    ClusterClient& operator=(const ClusterClient&) = delete;
    void start();
    bool connected() const { return conn_.connected(); }
    const cluster::InstanceId& me() const { return me_; }
    const ClusterClientStats& stats() const { return stats_; }

    // nullopt: Redis could not be asked (the caller tries again later).
    using ClaimDone = std::function<void(std::optional<cluster::ClaimResult>)>;
    // The claim rule; when another instance holds the endpoint, its instance lease is read and
    // a dead holder's endpoint is claimed again, naming it as dead.
    void claim(const std::string& endpoint, ClaimDone done);
    void release(const std::string& endpoint, std::uint64_t epoch,
                 std::function<void(bool released)> done);
    // Whether this instance still owns the endpoint, and under which epoch: `epoch`, or a new
    // one when the store had lost the owner record (a Redis restarted without its data) and the
    // endpoint was claimed again. Outer nullopt: not known (Redis unreachable); inner: not ours.
    using RevalidateDone = std::function<void(std::optional<std::optional<std::uint64_t>>)>;
    void revalidate(const std::string& endpoint, std::uint64_t epoch, RevalidateDone done);
    // The endpoint's record: outer nullopt when Redis could not be asked, inner when there is
    // none (or it is damaged, which is logged).
    using LoadDone = std::function<void(std::optional<std::optional<store::DeviceRecord>>)>;
    void load(const std::string& endpoint, LoadDone done);
    // Into `to`'s inbox.
    void send(const std::string& to, cluster::NoticeKind kind, const std::string& endpoint);
    void set_location(const std::string& location, const LocationHint& hint);
    void erase_location(const std::string& location);
    void lookup_location(const std::string& location,
                         std::function<void(std::optional<LocationHint>)> done);

  private:
    using Reply = std::function<void(std::optional<redis::RedisReply>)>;
    void run(std::vector<std::string> argv, Reply done);
    void claim_naming_dead(const std::string& endpoint, const std::string& dead, ClaimDone done);

    redis::RedisConnection conn_;
    cluster::InstanceId me_;
    std::string incarnation_;
    std::chrono::milliseconds lease_;
    ClusterClientStats stats_;
    bool closing_ = false;
};

}  // namespace lwgate::cluster_link
