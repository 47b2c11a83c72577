// Bridge::ClusterState: what a shard's bridge keeps for the cluster (bridge_cluster.cpp).
// Included by the bridge's .cpp files only.
#pragma once

#include <deque>
#include <unordered_map>
#include <unordered_set>

#include <asio/steady_timer.hpp>

#include "bridge/bridge.hpp"

namespace lwgate::lwm2m {

struct Bridge::ClusterState {
    ClusterState(asio::io_context& io, std::unique_ptr<cluster_link::ClusterClient> c,
                 cluster::OwnershipParams params)
        : client(std::move(c)), ownership(client->me(), params), timer(io) {}

    std::unique_ptr<cluster_link::ClusterClient> client;
    cluster::Ownership ownership;
    std::unordered_map<std::string, std::vector<DeviceMessageEvent>> waiting;
    std::unordered_set<std::string> adopting;  // granted, record still loading
    struct HandoverWait {
        std::uint64_t sequence;  // the final write's
        std::string endpoint;
        std::uint64_t epoch;
    };
    std::deque<HandoverWait> handovers;
    std::unordered_set<ConnectionId> looked_up;  // connections whose location was looked up
    asio::steady_timer timer;
    TimePoint timer_at = never;
    ClusterCounters counters;
};

}  // namespace lwgate::lwm2m
