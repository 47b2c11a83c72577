#include "src/views.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace lwgate::ctl {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

const char* kHealth = R"({"status":"degraded","reasons":["half-open rate high: 12/min"],
  "version":"0.1.0","uptime_seconds":3725,"draining":false,"connections":3,"registered":2,
  "listeners":[{"uri":"coap+tcp://127.0.0.1:40000","up":true},
               {"uri":"coaps+tcp://127.0.0.1:40001","up":false}],
  "core":{"uri":"coap://127.0.0.1:5685","reachable":true,"last_response_seconds_ago":1.2,
          "failures_total":4}})";

TEST(RenderHealth, ShowsStatusReasonsListenersAndCore) {
    const auto h = json::parse(kHealth);
    EXPECT_EQ(health_status(h), "degraded");
    EXPECT_EQ(render_health(h),
              "lwgate 0.1.0: degraded, up 1h02m\n"
              "  - half-open rate high: 12/min\n"
              "connections  3 (2 registered)\n"
              "listener     coap+tcp://127.0.0.1:40000 up\n"
              "listener     coaps+tcp://127.0.0.1:40001 DOWN\n"
              "core         coap://127.0.0.1:5685 reachable, last response 1.2s ago, failures 4\n");
}

TEST(RenderHealth, TheCoreCheck) {
    const auto h = json::parse(R"json({"status":"failing","uptime_seconds":5,
        "core":{"uri":"coap://x:1","reachable":false,"last_response_seconds_ago":null,
                "failures_total":0,
                "probe":{"state":"failing","interval_seconds":30,"missed_in_a_row":3,
                         "answered":0,"missed":3,"last_rtt_seconds":null,
                         "last_error":"port unreachable (ICMP)"}}})json");
    EXPECT_THAT(render_health(h),
                HasSubstr("core probe   failing, 3 missed in a row (port unreachable (ICMP)), last "
                          "rtt -, 0 answered, 3 missed, every 30s\n"));
    const auto ok = json::parse(R"({"status":"ok","core":{"uri":"coap://x:1","reachable":true,
        "probe":{"state":"ok","interval_seconds":30,"missed_in_a_row":0,"answered":12,
                 "missed":1,"last_rtt_seconds":0.00041,"last_error":null}}})");
    EXPECT_THAT(render_health(ok),
                HasSubstr("core probe   ok, last rtt 0.41ms, 12 answered, 1 missed, every 30s\n"));
    EXPECT_THAT(render_health(json::parse(kHealth)), Not(HasSubstr("core probe")))
        << "off, or an lwgate without it";
}

TEST(RenderHealth, CoreWithoutResponseAndDraining) {
    const auto h = json::parse(R"({"status":"failing","draining":true,"uptime_seconds":5,
        "core":{"uri":"coap://x:1","reachable":false,"last_response_seconds_ago":null}})");
    const auto text = render_health(h);
    EXPECT_THAT(text, HasSubstr("failing (draining)"));
    EXPECT_THAT(text, HasSubstr("coap://x:1 UNREACHABLE, no response yet, failures -"));
}

TEST(RenderHealth, SurvivesGarbage) {
    for (const char* body : {"null", "[]", "42", R"({"status":7,"listeners":{},"core":[]})",
                             R"({"reasons":[1,null,{}],"connections":"x"})"}) {
        const auto h = json::parse(body);
        EXPECT_NO_THROW(render_health(h)) << body;
    }
    EXPECT_EQ(health_status(json::parse(R"({"status":7})")), "");
    EXPECT_EQ(health_status(json()), "");
}

const char* kConnections = R"({"count":3,"connections":[
  {"id":17,"endpoint":"dev-1","state":"active","transport":"tcp","remote":"127.0.0.1:40212",
   "connected_seconds":3.5,"idle_seconds":1.0,"last_rtt_seconds":0.00041,"registered":true,
   "queue_mode":false,"queued":0,"observations":1,"shard":0,"flapping":true},
  {"id":null,"endpoint":"dev-2","state":"sleeping","transport":null,"remote":null,
   "connected_seconds":null,"idle_seconds":null,"last_rtt_seconds":null,"registered":true,
   "queue_mode":true,"queued":2,"observations":0,"shard":1,"flapping":false},
  {"id":18,"endpoint":null,"state":"unregistered","transport":"tls","remote":"[::1]:5",
   "connected_seconds":0.2,"idle_seconds":0.2,"last_rtt_seconds":null,"registered":false,
   "queue_mode":false,"queued":0,"observations":0,"shard":1,"flapping":false}]})";

TEST(ConnectionsTable, OneRowPerEntryWithDashesForNulls) {
    const auto body = json::parse(kConnections);
    EXPECT_EQ(connections_table(body).render(),
              "ENDPOINT  STATE         TRANSPORT  REMOTE           CONNECTED  IDLE  RTT     "
              "QUEUED  OBS  CONN  FLAGS\n"
              "dev-1     active        tcp        127.0.0.1:40212  3.5s       1.0s  0.41ms  "
              "0       1    #17   flapping\n"
              "dev-2     sleeping      -          -                -          -     -       "
              "2       0    -     queue\n"
              "-         unregistered  tls        [::1]:5          0.2s       0.2s  -       "
              "0       0    #18   unregistered\n");
    EXPECT_EQ(connections_summary(body), "3 connection(s): 1 active, 1 sleeping, 1 unregistered");
}

TEST(ConnectionsTable, EmptyAndMalformedBodies) {
    EXPECT_EQ(connections_table(json::parse(R"({"count":0,"connections":[]})")).size(), 0u);
    EXPECT_EQ(connections_summary(json::parse(R"({"count":0,"connections":[]})")),
              "0 connection(s)");
    EXPECT_EQ(connections_table(json::parse(R"({"connections":{}})")).size(), 0u);
    const auto row = connection_row(json::parse(R"({"id":"x","queued":-3,"state":["a"]})"));
    ASSERT_EQ(row.size(), 11u);
    EXPECT_EQ(row[1], "-");
    EXPECT_EQ(row[7], "-");
}

TEST(RenderDevice, EverythingKnownAboutOneDevice) {
    const auto d = json::parse(R"({"endpoint":"dev-1","state":"active","flapping":false,
      "connection":{"id":17,"transport":"tls","remote":"127.0.0.1:40212","local":"127.0.0.1:5684",
                    "connected_seconds":65,"psk_identity":"dev1","certificate_cn":null,
                    "bytes_in":2048,"bytes_out":100,"messages_in":12,"messages_out":11},
      "keepalive":{"idle_timeout_seconds":60,"pong_timeout_seconds":10,"pings_sent":3,
                   "pongs_received":3,"missed":0,"last_rtts_seconds":[0.0004,0.00052],
                   "wire":{"frames_in":3,"frames_out":3,"frame_bytes_in":6,"frame_bytes_out":9,
                           "wire_bytes_estimated":771,"idle_wire_bytes_per_day_estimated":295200}},
      "registration":{"location":"/rd/5","lifetime_seconds":300,"expires_in_seconds":280.2,
                      "binding":"T","lwm2m_version":"1.1","queue_mode":false,
                      "upstream_local_port":40100},
      "queue":{"queued":0,"in_flight":1},
      "observations":[{"path":"/3/0/13","core_token":"a1b2","observe_number":7,"active":true,
                       "notifications":6}],
      "recent_closes":[{"at":"2026-11-22T05:10:00Z","reason":"peer_closed","detail":"eof"}]})");
    const auto text = render_device(d);
    EXPECT_THAT(text, HasSubstr("endpoint      dev-1\n"));
    EXPECT_THAT(text,
                HasSubstr("connection    #17 tls 127.0.0.1:40212 -> 127.0.0.1:5684, up 1m05s"));
    EXPECT_THAT(text, HasSubstr("psk identity  dev1\n"));
    EXPECT_THAT(text, Not(HasSubstr("certificate")));
    EXPECT_THAT(text, HasSubstr("received      2.0 KiB in 12 message(s)"));
    EXPECT_THAT(text, HasSubstr("idle 1m00s, pong timeout 10s; pings 3, pongs 3, missed 0"));
    EXPECT_THAT(text, HasSubstr("last rtts     0.40ms 0.52ms"));
    EXPECT_THAT(text, HasSubstr("wire cost     771 B on the wire so far (3 frame(s) out, 3 in); "
                                "idle: 288.3 KiB/day (estimated)"));
    EXPECT_THAT(text, HasSubstr("/rd/5, lifetime 5m00s, expires in 4m40s"));
    EXPECT_THAT(text, HasSubstr("T, LwM2M 1.1, queue mode no, upstream port 40100"));
    EXPECT_THAT(text, HasSubstr("0 queued, 1 in flight"));
    EXPECT_THAT(text, HasSubstr("observations (1)\n  PATH"));
    EXPECT_THAT(text, HasSubstr("  /3/0/13  a1b2        7        6              yes"));
    EXPECT_THAT(text, HasSubstr("  2026-11-22T05:10:00Z  peer_closed  eof"));
}

TEST(RenderDevice, SleepingDeviceWithoutConnection) {
    const auto d = json::parse(R"({"endpoint":"dev-2","state":"sleeping","flapping":true,
      "connection":null,"registration":null,"observations":[],"recent_closes":[]})");
    const auto text = render_device(d);
    EXPECT_THAT(text, HasSubstr("state         sleeping (flapping)"));
    EXPECT_THAT(text, HasSubstr("connection    none"));
    EXPECT_THAT(text, HasSubstr("registration  none"));
    EXPECT_THAT(text, HasSubstr("observations (0)\nrecent closes (0)\n"));
}

TEST(RenderPingAndErrors, Text) {
    EXPECT_EQ(render_ping("dev-1", json::parse(R"({"rtt_seconds":0.00038})")),
              "pong from dev-1 in 0.38ms");
    EXPECT_EQ(render_ping("dev-1", json::parse("{}")), "pong from dev-1 in -");
    EXPECT_EQ(error_text(json::parse(R"({"error":"no Pong within 5000 ms"})")),
              "no Pong within 5000 ms");
    EXPECT_EQ(error_text(json::parse("[1]")), "");
}

TEST(RenderCluster, InstanceLeaseRedisMovesAndInstances) {
    const auto c = json::parse(R"({"enabled":true,"instance":"gw-a","incarnation":42,
      "lease":{"valid":true,"seconds":10,"renewals":7,"renewal_failures":1,"lapses":0},
      "redis":{"connected":true,"commands":20,"errors":0,"mean_latency_seconds":0.0005},
      "endpoints":{"owned":3,"moving":1},
      "moves":{"in":2,"out":1,"lost":0,"waited":4,"refused":0},
      "instances":[{"name":"gw-a","incarnation":"42","ttl_seconds":9.5,"self":true},
                   {"name":"gw-b","incarnation":"7","ttl_seconds":1.2,"self":false}]})");
    const auto text = render_cluster(c);
    EXPECT_THAT(text, HasSubstr("instance   gw-a (incarnation 42)\n"));
    EXPECT_THAT(text, HasSubstr("lease      valid, 10s; renewals 7, failures 1, lapses 0\n"));
    EXPECT_THAT(text, HasSubstr("endpoints  3 owned, 1 moving\n"));
    EXPECT_THAT(text, HasSubstr("mean latency 0.50ms"));
    EXPECT_THAT(text, HasSubstr("9.5s"));
    EXPECT_THAT(text, HasSubstr("instances (2)\n"));
    EXPECT_THAT(text, HasSubstr("gw-a"));
    EXPECT_THAT(text, HasSubstr("(this)"));
    EXPECT_THAT(text, HasSubstr("gw-b"));
}

TEST(RenderCluster, NotClusteredAndInstancesUnlisted) {
    EXPECT_EQ(render_cluster(json::parse(R"({"enabled":false})")),
              "not clustered (store.uri is not Redis)\n");
    const auto c = json::parse(
        R"({"enabled":true,"instance":"gw-a","lease":{"valid":false},"instances":null,
            "instances_error":"connection refused"})");
    const auto text = render_cluster(c);
    EXPECT_THAT(text, HasSubstr("NOT VALID"));
    EXPECT_THAT(text, HasSubstr("instances: connection refused\n"));
    EXPECT_NO_THROW(render_cluster(json::array()));
}

}  // namespace
}  // namespace lwgate::ctl
