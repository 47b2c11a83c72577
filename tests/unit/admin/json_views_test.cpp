#include "admin/json_views.hpp"

#include <gtest/gtest.h>

#include "snapshot_builder.hpp"

namespace lwgate::admin {
namespace {

using namespace test;
using nlohmann::json;

Snapshot fleet() {
    auto s = snapshot(2);
    auto active = connection(1, "dev-active");
    auto pinging = connection(2, "dev-ping", true, 1);
    pinging.session.keepalive.awaiting_pong = true;
    pinging.session.info.transport = session::Transport::tls;
    auto unregistered = connection(3, std::nullopt, false);
    active.session.keepalive.recent_rtts = {session::Rtt(500), session::Rtt(410)};
    s.shards[0].connections = {active, unregistered};
    s.shards[1].connections = {pinging};
    s.shards[0].devices = {device("dev-active", 1), device("dev-sleep", std::nullopt, true)};
    s.shards[1].devices = {device("dev-ping", 2, false, 1), device("dev-away", 99, false, 1)};
    s.shards[0].devices[0].observations.push_back(
        {"/3/0/13", coap::Token::from_u64(0xa1b2), 7, true, 6});
    s.shards[1].recent_closes["dev-away"] = 2;
    s.shards[0].recent_closes["dev-away"] = 1;  // 3 in all: flapping
    return s;
}

const json& row_of(const json& list, const std::string& endpoint) {
    for (const auto& r : list["connections"])
        if (r["endpoint"] == endpoint) return r;
    static const json none;
    ADD_FAILURE() << "no row for " << endpoint;
    return none;
}

TEST(AdminViews, OneRowPerConnectionAndPerAbsentRegistration) {
    const auto s = fleet();
    const auto j = connections_json(s, {});
    EXPECT_EQ(j["count"], 5);
    const auto& active = row_of(j, "dev-active");
    EXPECT_EQ(active["state"], "active");
    EXPECT_EQ(active["id"], 1);
    EXPECT_EQ(active["transport"], "tcp");
    EXPECT_EQ(active["remote"], "127.0.0.1:40001");
    EXPECT_DOUBLE_EQ(active["connected_seconds"].get<double>(), 10.0);
    EXPECT_DOUBLE_EQ(active["idle_seconds"].get<double>(), 1.0);
    EXPECT_DOUBLE_EQ(active["last_rtt_seconds"].get<double>(), 0.00041);
    EXPECT_EQ(active["registered"], true);
    EXPECT_EQ(active["observations"], 1);
    EXPECT_EQ(active["flapping"], false);
    EXPECT_EQ(row_of(j, "dev-ping")["state"], "pinging");
    EXPECT_EQ(row_of(j, "dev-ping")["shard"], 1);
    EXPECT_EQ(row_of(j, "dev-sleep")["state"], "sleeping");
    EXPECT_TRUE(row_of(j, "dev-sleep")["id"].is_null());
    EXPECT_TRUE(row_of(j, "dev-sleep")["last_rtt_seconds"].is_null());
    const auto& away = row_of(j, "dev-away");
    EXPECT_EQ(away["state"], "away") << "its connection 99 is gone";
    EXPECT_EQ(away["flapping"], true);
    bool unregistered = false;
    for (const auto& r : j["connections"])
        if (r["endpoint"].is_null()) unregistered = r["state"] == "unregistered";
    EXPECT_TRUE(unregistered);
}

TEST(AdminViews, Filters) {
    const auto s = fleet();
    auto count = [&](std::multimap<std::string, std::string> q) {
        auto f = parse_filter(q);
        EXPECT_TRUE(f) << f.error().detail;
        return f ? connections_json(s, *f)["count"].get<int>() : -1;
    };
    EXPECT_EQ(count({{"state", "sleeping"}}), 1);
    EXPECT_EQ(count({{"state", "pinging"}}), 1);
    EXPECT_EQ(count({{"state", "half-open"}}), 0);
    EXPECT_EQ(count({{"endpoint", "dev-a"}}), 2);
    EXPECT_EQ(count({{"transport", "tls"}}), 1);
    EXPECT_EQ(count({{"transport", "tcp"}}), 2);
    EXPECT_EQ(count({{"remote", "127.0.0.1:40003"}}), 1);
    EXPECT_EQ(count({{"endpoint", "dev"}, {"state", "active"}}), 1);
    for (std::multimap<std::string, std::string> bad :
         {std::multimap<std::string, std::string>{{"state", "zombie"}},
          {{"transport", "udp"}},
          {{"colour", "red"}}}) {
        EXPECT_FALSE(parse_filter(bad));
    }
}

TEST(AdminViews, DetailOfAConnectedDevice) {
    auto s = fleet();
    s.shards[0].closes["dev-active"] = {
        {WallClock::time_point{} + std::chrono::seconds(1'795'000'000), t0 - 5min,
         session::CloseReason::half_open, "1 Ping(s) unanswered"}};
    auto j = connection_detail_json(s, ConnectionTarget("dev-active"));
    ASSERT_TRUE(j);
    EXPECT_EQ((*j)["state"], "active");
    EXPECT_EQ((*j)["connection"]["id"], 1);
    EXPECT_EQ((*j)["connection"]["local"], "127.0.0.1:5683");
    EXPECT_EQ((*j)["keepalive"]["idle_timeout_seconds"], 60.0);
    EXPECT_EQ((*j)["keepalive"]["pong_timeout_seconds"], 10.0);
    EXPECT_EQ((*j)["keepalive"]["last_rtts_seconds"], json({0.0005, 0.00041}));
    // Every duration in seconds: no field of the API in another unit.
    for (const auto& [key, value] : (*j)["keepalive"].items())
        EXPECT_EQ(key.find("_ms"), std::string::npos) << key;
    EXPECT_EQ((*j)["registration"]["location"], "/rd/5");
    EXPECT_DOUBLE_EQ((*j)["registration"]["expires_in_seconds"].get<double>(), 280.0);
    EXPECT_EQ((*j)["observations"][0]["path"], "/3/0/13");
    EXPECT_EQ((*j)["observations"][0]["core_token"], "a1b2");
    EXPECT_EQ((*j)["recent_closes"][0]["reason"], "half_open");
    EXPECT_EQ((*j)["recent_closes"][0]["at"], "2026-11-18T11:06:40Z");
    auto by_id = connection_detail_json(s, ConnectionTarget("id:1"));
    ASSERT_TRUE(by_id);
    EXPECT_EQ((*by_id)["endpoint"], "dev-active");
}

// What keeping one device reachable cost: its Ping/Pong frames and the estimate with TCP/IP and
// TLS overhead (session/wire_cost.hpp), and the day at its keepalive.idle (60 s: 1,440 a day).
TEST(AdminViews, DetailShowsTheKeepaliveWireCost) {
    auto s = fleet();
    auto& k = s.shards[1].connections[0].session.keepalive;
    k.traffic = {2, 2, 4, 6};  // two exchanges: Pings of 3 bytes, token-less Pongs of 2
    k.tls_record_overhead = 22;
    auto j = connection_detail_json(s, ConnectionTarget("dev-ping"));
    ASSERT_TRUE(j);
    const auto& wire = (*j)["keepalive"]["wire"];
    EXPECT_EQ(wire["frames_in"], 2);
    EXPECT_EQ(wire["frames_out"], 2);
    EXPECT_EQ(wire["frame_bytes_in"], 4);
    EXPECT_EQ(wire["frame_bytes_out"], 6);
    EXPECT_EQ(wire["wire_bytes_estimated"], 10 + 4 * (52 + 22) + 2 * 52);
    // Mean frame 2.5 bytes rounds to 3: (3 + 3 + 3 * 52 + 2 * 22) per exchange.
    EXPECT_EQ(wire["idle_wire_bytes_per_day_estimated"], (6 + 3 * 52 + 2 * 22) * 1440);
    // A device that exchanged nothing yet: the projection from lwgate's own 3-byte frames.
    j = connection_detail_json(s, ConnectionTarget("dev-active"));
    ASSERT_TRUE(j);
    EXPECT_EQ((*j)["keepalive"]["wire"]["wire_bytes_estimated"], 0);
    EXPECT_EQ((*j)["keepalive"]["wire"]["idle_wire_bytes_per_day_estimated"], (6 + 3 * 52) * 1440);
}

TEST(AdminViews, DetailOfASleepingDeviceAndUnknowns) {
    const auto s = fleet();
    auto j = connection_detail_json(s, ConnectionTarget("dev-sleep"));
    ASSERT_TRUE(j);
    EXPECT_EQ((*j)["state"], "sleeping");
    EXPECT_TRUE((*j)["connection"].is_null());
    EXPECT_TRUE((*j)["keepalive"].is_null());
    EXPECT_EQ((*j)["registration"]["queue_mode"], true);
    EXPECT_FALSE(connection_detail_json(s, ConnectionTarget("nobody")));
    EXPECT_FALSE(connection_detail_json(s, ConnectionTarget("id:404")));
    EXPECT_FALSE(connection_detail_json(s, ConnectionTarget("id:")));
    EXPECT_FALSE(connection_detail_json(s, ConnectionTarget("id:1x")));
}

TEST(AdminViews, FindConnectionForActions) {
    const auto s = fleet();
    auto ref = find_connection(s, ConnectionTarget("dev-ping"));
    ASSERT_TRUE(std::holds_alternative<ConnectionRef>(ref));
    EXPECT_EQ(std::get<ConnectionRef>(ref).shard, 1u);
    EXPECT_EQ(std::get<ConnectionRef>(ref).id, 2u);
    EXPECT_EQ(std::get<ConnectionRef>(find_connection(s, ConnectionTarget("id:3"))).id, 3u);
    EXPECT_EQ(std::get<LookupError>(find_connection(s, ConnectionTarget("dev-sleep"))),
              LookupError::no_connection);
    EXPECT_EQ(std::get<LookupError>(find_connection(s, ConnectionTarget("nobody"))),
              LookupError::unknown);
    EXPECT_EQ(std::get<LookupError>(find_connection(s, ConnectionTarget("id:77"))),
              LookupError::unknown);
}

// LwM2M allows any endpoint name, "id:1" too: read as a path segment it is connection 1, and
// ?by=endpoint (by_endpoint) takes it as the name it is.
TEST(AdminViews, AnEndpointNamedLikeAConnectionIdIsReachedByEndpoint) {
    auto s = fleet();
    s.shards[0].connections.push_back(connection(9, "id:1"));
    s.shards[0].devices.push_back(device("id:1", 9));
    const auto as_id = connection_detail_json(s, ConnectionTarget("id:1"));
    ASSERT_TRUE(as_id);
    EXPECT_EQ((*as_id)["endpoint"], "dev-active");
    const auto as_name = connection_detail_json(s, ConnectionTarget("id:1", true));
    ASSERT_TRUE(as_name);
    EXPECT_EQ((*as_name)["endpoint"], "id:1");
    EXPECT_EQ((*as_name)["connection"]["id"], 9);
    EXPECT_EQ(std::get<ConnectionRef>(find_connection(s, ConnectionTarget("id:1"))).id, 1u);
    EXPECT_EQ(std::get<ConnectionRef>(find_connection(s, ConnectionTarget("id:1", true))).id, 9u);
    EXPECT_FALSE(connection_detail_json(s, ConnectionTarget("id:9", true)))
        << "by endpoint never reads a connection id";
}

}  // namespace
}  // namespace lwgate::admin
