// This instance's presence in the cluster: it keeps the instance lease in Redis
// (`SET lwgate:instance:<name> <incarnation> PX <lease> GET`, timed by cluster/InstanceLease)
// and reads its inbox (BLPOP lwgate:inbox:<name>, on a connection of its own because BLPOP
// holds it). Notices and a lapse of the lease are handed to the sink, on the io_context's
// thread; the sink routes them to the shards that own the endpoints.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include "cluster/instance_lease.hpp"
#include "cluster/lease_rules.hpp"
#include "cluster/notice.hpp"
#include "redis/redis_connection.hpp"
#include "util/time_source.hpp"

namespace lwgate::cluster_link {

struct InstanceLinkSink {
    std::function<void(cluster::Notice&&)> notice;
    // The lease had run out before a renewal came through: every endpoint held is checked again.
    std::function<void()> lapsed;
};

struct InstanceLinkStats {
    std::uint64_t renewals = 0;
    std::uint64_t renewal_failures = 0;
    std::uint64_t lapses = 0;  // the lease was found gone (Redis restarted, or we were cut off)
    std::uint64_t notices = 0;
};

class InstanceLink {
  public:
    InstanceLink(asio::io_context& io, const redis::RedisAddress& address, cluster::InstanceId me,
                 Duration lease, const TimeSource& time, InstanceLinkSink sink);
    ~InstanceLink() { stopped_ = true; }  // the connections' last callbacks go nowhere
    InstanceLink(const InstanceLink&) = delete;
    InstanceLink& operator=(const InstanceLink&) = delete;
    void start();
    void stop();
    bool lease_valid() const { return lease_.valid(time_.now()); }
    TimePoint lease_held_until() const { return lease_.held_until(); }
    bool connected() const { return commands_.connected(); }
    const InstanceLinkStats& stats() const { return stats_; }

  private:
    void schedule();
    void renew();
    void pop();

    const TimeSource& time_;
    cluster::InstanceId me_;
    cluster::InstanceLease lease_;
    InstanceLinkSink sink_;
    redis::RedisConnection commands_;
    redis::RedisConnection inbox_;
    asio::steady_timer timer_;
    asio::steady_timer pop_timer_;  // the next BLPOP after a failed one
    InstanceLinkStats stats_;
    bool stopped_ = false;
};

}  // namespace lwgate::cluster_link
