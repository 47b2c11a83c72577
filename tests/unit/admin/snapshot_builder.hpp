// Builds admin::Snapshot values for the unit tests: a fixed `now`, connections and devices.
#pragma once

#include <string>

#include "admin/model.hpp"

namespace lwgate::admin::test {

using namespace std::chrono_literals;

inline const TimePoint t0 = TimePoint{} + 1000h;

inline ConnectionSample connection(std::uint64_t id, std::optional<std::string> endpoint,
                                   bool registered = true, unsigned shard = 0) {
    ConnectionSample c;
    c.shard = shard;
    c.endpoint = std::move(endpoint);
    c.session.info.id = id;
    c.session.info.remote = "127.0.0.1:" + std::to_string(40000 + id);
    c.session.info.local = "127.0.0.1:5683";
    c.session.info.connected_since = t0 - 10s;
    c.session.last_rx = t0 - 1s;
    c.session.registered = registered;
    c.session.keepalive.idle = 60s;
    c.session.keepalive.pong_timeout = 10s;
    c.session.keepalive.max_missed = 1;
    return c;
}

inline DeviceSample device(std::string endpoint, std::optional<std::uint64_t> conn,
                           bool queue_mode = false, unsigned shard = 0) {
    DeviceSample d;
    d.endpoint = std::move(endpoint);
    d.shard = shard;
    d.registered = true;
    d.location = "/rd/5";
    d.lifetime = 300;
    d.registration_deadline = t0 + 280s;
    d.binding = queue_mode ? "UQ" : "U";
    d.version = "1.1";
    d.queue_mode = queue_mode;
    d.connection = conn;
    d.upstream_local_port = 40100;
    return d;
}

inline Snapshot snapshot(std::size_t shards = 1) {
    Snapshot s;
    s.now = t0;
    s.wall_now = WallClock::time_point{} + std::chrono::seconds(1'795'000'000);
    s.gateway.version = "0.1.0";
    s.gateway.started = t0 - 12s;
    s.gateway.core_uri = "coap://127.0.0.1:5685";
    s.gateway.listeners = {{"coap+tcp://127.0.0.1:40000", true}};
    for (std::size_t i = 0; i < shards; ++i) {
        s.shards.emplace_back();
        s.shards.back().index = static_cast<unsigned>(i);
    }
    return s;
}

}  // namespace lwgate::admin::test
