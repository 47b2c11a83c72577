// Health and /metrics with the active check of the core (upstream.probe_interval), and the
// process_* families.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "admin/health.hpp"
#include "admin/metrics_text.hpp"
#include "snapshot_builder.hpp"

namespace lwgate::admin {
namespace {

using namespace test;
using ::testing::HasSubstr;
using ::testing::Not;

CoreProbeSample probe(ProbeState state) {
    CoreProbeSample p;
    p.interval = 30s;
    p.timeout = 5s;
    p.max_missed = 3;
    p.state = state;
    return p;
}

TEST(AdminCoreProbe, FailingWhenTheCoreStopsAnsweringPings) {
    auto s = snapshot(2);
    auto p = probe(ProbeState::failing);
    p.missed_in_a_row = 3;
    p.missed = 3;
    p.sent = 3;
    p.last_error = "port unreachable (ICMP)";
    s.shards[0].counters.core_probe = p;
    const auto h = evaluate_health(s);
    EXPECT_EQ(h.status, "failing");
    ASSERT_EQ(h.reasons.size(), 1u);
    EXPECT_EQ(h.reasons[0],
              "core not answering: 3 CoAP Ping(s) in a row missed (port unreachable (ICMP)), last "
              "answer never (coap://127.0.0.1:5685)");
    EXPECT_FALSE(h.core_reachable);
    const auto j = health_json(s, h);
    EXPECT_EQ(j["core"]["reachable"], false);
    EXPECT_EQ(j["core"]["probe"]["state"], "failing");
    EXPECT_EQ(j["core"]["probe"]["missed_in_a_row"], 3);
    EXPECT_EQ(j["core"]["probe"]["interval_seconds"], 30.0);
    EXPECT_EQ(j["core"]["probe"]["timeout_seconds"], 5.0);
    EXPECT_TRUE(j["core"]["probe"]["last_answer_seconds_ago"].is_null());
    EXPECT_EQ(j["core"]["probe"]["last_error"], "port unreachable (ICMP)");
}

TEST(AdminCoreProbe, AnsweredPingsMakeTheCoreReachable) {
    auto s = snapshot();
    auto p = probe(ProbeState::ok);
    p.last_answer = t0 - 4s;
    p.last_rtt_seconds = 0.000412;
    s.shards[0].counters.core_probe = p;
    const auto h = evaluate_health(s);
    EXPECT_EQ(h.status, "ok");
    EXPECT_TRUE(h.core_reachable) << "without any uplink relayed";
    EXPECT_DOUBLE_EQ(*h.last_response_seconds_ago, 4.0);
    const auto j = health_json(s, h);
    EXPECT_EQ(j["core"]["probe"]["state"], "ok");
    EXPECT_DOUBLE_EQ(j["core"]["probe"]["last_rtt_seconds"].get<double>(), 0.000412);
    EXPECT_TRUE(j["core"]["probe"]["last_error"].is_null());
}

TEST(AdminCoreProbe, BeforeTheFirstVerdictNotReachableButNotFailing) {
    auto s = snapshot();
    s.shards[0].counters.core_probe = probe(ProbeState::unknown);
    auto h = evaluate_health(s);
    EXPECT_EQ(h.status, "ok");
    EXPECT_FALSE(h.core_reachable);
    // An uplink the core answered before the first Ping's verdict: reachable already.
    s.shards[0].counters.last_core_response = t0 - 1s;
    h = evaluate_health(s);
    EXPECT_EQ(h.status, "ok");
    EXPECT_TRUE(h.core_reachable);
}

TEST(AdminCoreProbe, AFailedUplinkWithPingsAnsweredSinceIsDegraded) {
    auto s = snapshot();
    s.shards[0].counters.last_core_response = t0 - 60s;
    s.shards[0].counters.last_core_failure = t0 - 20s;
    auto p = probe(ProbeState::ok);
    p.last_answer = t0 - 30s;  // before the failure
    s.shards[0].counters.core_probe = p;
    auto h = evaluate_health(s);
    EXPECT_EQ(h.status, "failing") << "nothing of the core heard since the failure";
    EXPECT_THAT(h.reasons[0], HasSubstr("core unreachable: uplink failed 20.0 s ago"));
    EXPECT_FALSE(h.core_reachable);
    s.shards[0].counters.core_probe->last_answer = t0 - 5s;  // a Ping answered since
    h = evaluate_health(s);
    EXPECT_EQ(h.status, "degraded");
    ASSERT_EQ(h.reasons.size(), 1u);
    EXPECT_THAT(h.reasons[0], HasSubstr("core answers CoAP Pings, but an uplink failed"));
    EXPECT_TRUE(h.core_reachable);
    s.shards[0].counters.last_core_response = t0 - 1s;  // and an uplink answered
    EXPECT_EQ(evaluate_health(s).status, "ok");
}

TEST(AdminCoreProbe, ProbeOffKeepsThePassiveRule) {
    auto s = snapshot();
    EXPECT_TRUE(health_json(s, evaluate_health(s))["core"]["probe"].is_null());
    s.shards[0].counters.last_core_failure = t0 - 3s;
    EXPECT_EQ(evaluate_health(s).status, "failing");
    EXPECT_THAT(evaluate_health(s).reasons[0], HasSubstr("no response since start"));
}

TEST(AdminCoreProbe, MetricsOfTheProbeAndTheVerdicts) {
    auto s = snapshot(2);
    auto p = probe(ProbeState::ok);
    p.last_answer = t0 - 1s;
    p.answered = 5;
    p.missed = 2;
    p.rtt_buckets = {{0.00025, 1}, {0.0005, 4}, {300.0, 5}};
    p.rtt_count = 5;
    p.rtt_sum_seconds = 0.0021;
    s.shards[1].counters.core_probe = p;
    auto text = metrics_text(s);
    EXPECT_THAT(text, HasSubstr("# TYPE lwgate_core_up gauge\nlwgate_core_up 1\n"));
    EXPECT_THAT(text, HasSubstr("lwgate_health_status{status=\"ok\"} 1\n"));
    EXPECT_THAT(text, HasSubstr("lwgate_health_status{status=\"failing\"} 0\n"));
    EXPECT_THAT(text, HasSubstr("lwgate_core_probe_state{state=\"ok\"} 1\n"));
    EXPECT_THAT(text, HasSubstr("lwgate_core_probe_state{state=\"failing\"} 0\n"));
    EXPECT_THAT(text, HasSubstr("lwgate_core_probes_total{result=\"answered\"} 5\n"));
    EXPECT_THAT(text, HasSubstr("lwgate_core_probes_total{result=\"missed\"} 2\n"));
    EXPECT_THAT(text, HasSubstr("# TYPE lwgate_core_probe_rtt_seconds histogram\n"));
    EXPECT_THAT(text, HasSubstr("lwgate_core_probe_rtt_seconds_bucket{le=\"0.00025\"} 1\n"));
    EXPECT_THAT(text, HasSubstr("lwgate_core_probe_rtt_seconds_bucket{le=\"300\"} 5\n"));
    EXPECT_THAT(text, HasSubstr("lwgate_core_probe_rtt_seconds_bucket{le=\"+Inf\"} 5\n"));
    EXPECT_THAT(text, HasSubstr("lwgate_core_probe_rtt_seconds_sum 0.0021\n"));
    EXPECT_THAT(text, HasSubstr("lwgate_core_probe_rtt_seconds_count 5\n"));

    s.shards[1].counters.core_probe->state = ProbeState::failing;
    text = metrics_text(s);
    EXPECT_THAT(text, HasSubstr("lwgate_core_up 0\n"));
    EXPECT_THAT(text, HasSubstr("lwgate_health_status{status=\"failing\"} 1\n"));
    EXPECT_THAT(text, HasSubstr("lwgate_core_probe_state{state=\"failing\"} 1\n"));

    s.shards[1].counters.core_probe.reset();
    text = metrics_text(s);
    EXPECT_THAT(text, HasSubstr("lwgate_core_up 0\n")) << "never heard from";
    EXPECT_THAT(text, Not(HasSubstr("lwgate_core_probe")));
}

TEST(AdminProcessMetrics, TheStandardProcessFamilies) {
    auto s = snapshot();
    s.gateway.open_descriptors = 42;
    s.gateway.descriptor_limit = 1024;
    s.gateway.process = ProcessSample{12.5, 1701650000.25, 8 * 1024 * 1024, 300 * 1024 * 1024};
    auto text = metrics_text(s);
    EXPECT_THAT(text, HasSubstr("# TYPE process_open_fds gauge\nprocess_open_fds 42\n"));
    EXPECT_THAT(text, HasSubstr("process_max_fds 1024\n"));
    EXPECT_THAT(text, HasSubstr("# TYPE process_cpu_seconds_total counter\n"
                                "process_cpu_seconds_total 12.5\n"));
    EXPECT_THAT(text, HasSubstr("process_resident_memory_bytes 8388608\n"));
    EXPECT_THAT(text, HasSubstr("process_virtual_memory_bytes 314572800\n"));
    EXPECT_THAT(text, HasSubstr("process_start_time_seconds 1701650000.25\n"));
    s.gateway.process.reset();  // /proc unreadable: left out, not reported as 0
    text = metrics_text(s);
    EXPECT_THAT(text, HasSubstr("process_open_fds 42\n"));
    EXPECT_THAT(text, Not(HasSubstr("process_cpu_seconds_total")));
    EXPECT_THAT(text, Not(HasSubstr("process_start_time_seconds")));
}

}  // namespace
}  // namespace lwgate::admin
