#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "admin/health.hpp"
#include "admin/metrics_text.hpp"
#include "snapshot_builder.hpp"

namespace lwgate::admin {
namespace {

using namespace test;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(AdminHealth, OkWithNothingWrong) {
    auto s = snapshot();
    s.shards[0].connections = {connection(1, "a")};
    s.shards[0].counters.registered_devices = 1;
    const auto h = evaluate_health(s);
    EXPECT_EQ(h.status, "ok");
    EXPECT_TRUE(h.reasons.empty());
    const auto j = health_json(s, h);
    EXPECT_EQ(j["connections"], 1);
    EXPECT_EQ(j["registered"], 1);
    EXPECT_EQ(j["uptime_seconds"], 12);
    EXPECT_TRUE(j["core"]["last_response_seconds_ago"].is_null());
    // Nothing was ever heard from the core: healthy (nothing failed), but not "reachable".
    EXPECT_EQ(j["core"]["reachable"], false);
    s.shards[0].counters.last_core_response = t0 - 2s;
    EXPECT_EQ(health_json(s, evaluate_health(s))["core"]["reachable"], true);
}

TEST(AdminHealth, CoreUnreachableUntilItAnswersAgain) {
    auto s = snapshot(2);
    s.shards[1].counters.last_core_failure = t0 - 3s;
    s.shards[1].counters.upstream_failures = 2;
    auto h = evaluate_health(s);
    EXPECT_EQ(h.status, "failing");
    ASSERT_EQ(h.reasons.size(), 1u);
    EXPECT_THAT(h.reasons[0], HasSubstr("core unreachable"));
    EXPECT_EQ(health_json(s, h)["core"]["failures_total"], 2);
    s.shards[0].counters.last_core_response = t0 - 5s;  // older than the failure
    EXPECT_EQ(evaluate_health(s).status, "failing");
    s.shards[0].counters.last_core_response = t0 - 1s;  // answered since
    h = evaluate_health(s);
    EXPECT_EQ(h.status, "ok");
    EXPECT_TRUE(h.core_reachable);
    EXPECT_DOUBLE_EQ(*h.last_response_seconds_ago, 1.0);
}

TEST(AdminHealth, ListenersDrainingHalfOpen) {
    auto s = snapshot();
    s.gateway.listeners = {{"a", true}, {"b", false}};
    EXPECT_EQ(evaluate_health(s).status, "degraded");
    s.gateway.listeners = {{"a", false}};
    EXPECT_EQ(evaluate_health(s).status, "failing");
    s.gateway.draining = true;  // listeners stop when draining: that is not a failure
    auto h = evaluate_health(s);
    EXPECT_EQ(h.status, "degraded");
    EXPECT_EQ(h.reasons, std::vector<std::string>{"draining"});

    s = snapshot();
    for (std::uint64_t i = 0; i < 19; ++i)
        s.shards[0].connections.push_back(connection(i, "d" + std::to_string(i)));
    s.shards[0].counters.half_open_last_minute = 2;  // 2 of 21: under 10 %
    EXPECT_EQ(evaluate_health(s).status, "ok");
    s.shards[0].counters.half_open_last_minute = 3;  // 3 of 22
    h = evaluate_health(s);
    EXPECT_EQ(h.status, "degraded");
    EXPECT_THAT(h.reasons.at(0), HasSubstr("half-open"));
    s.complete = false;
    EXPECT_EQ(evaluate_health(s).reasons.size(), 2u);
}

TEST(AdminHealth, CountsConnectionsWithoutCopiesOfThem) {
    auto s = snapshot(2);
    s.shards[0].connection_count = 3;
    s.shards[1].connection_count = 4;
    EXPECT_EQ(evaluate_health(s).connections, 7u);
    EXPECT_EQ(health_json(s, evaluate_health(s))["connections"], 7);
}

// Every refusal counted anywhere is a sample of lwgate_refused_total, summed over the shards,
// each reason once: the limits at accept, the identity and registration rules, the handshakes.
TEST(AdminMetrics, EveryRefusalReasonIsExportedOnce) {
    auto s = snapshot(2);
    auto& c0 = s.shards[0].counters;
    auto& c1 = s.shards[1].counters;
    c0.refused[static_cast<std::size_t>(lwm2m::Refusal::other_endpoint)] = 2;
    c1.refused[static_cast<std::size_t>(lwm2m::Refusal::other_endpoint)] = 3;
    c1.refused[static_cast<std::size_t>(lwm2m::Refusal::identity_mismatch)] = 1;
    c0.tls_refused[static_cast<std::size_t>(session::TlsRefusal::unknown_psk_identity)] = 4;
    c1.tls_refused[static_cast<std::size_t>(session::TlsRefusal::certificate_rejected)] = 5;
    c1.tls_refused[static_cast<std::size_t>(session::TlsRefusal::tls_failure)] = 6;
    const auto text = metrics_text(s);
    EXPECT_THAT(text, HasSubstr("lwgate_refused_total{reason=\"other_endpoint\"} 5\n"));
    EXPECT_THAT(text, HasSubstr("lwgate_refused_total{reason=\"identity_mismatch\"} 1\n"));
    EXPECT_THAT(text, HasSubstr("lwgate_refused_total{reason=\"unknown_psk_identity\"} 4\n"));
    EXPECT_THAT(text, HasSubstr("lwgate_refused_total{reason=\"certificate_rejected\"} 5\n"));
    EXPECT_THAT(text, HasSubstr("lwgate_refused_total{reason=\"tls_failure\"} 6\n"));
    std::set<std::string> reasons;
    std::size_t samples = 0;
    const std::string prefix = "\nlwgate_refused_total{reason=\"";
    for (auto at = text.find(prefix); at != std::string::npos; at = text.find(prefix, at + 1)) {
        const auto from = at + prefix.size();
        reasons.insert(text.substr(from, text.find('"', from) - from));
        ++samples;
    }
    EXPECT_EQ(samples, 4 + lwm2m::refusal_count + session::tls_refusal_count);
    EXPECT_EQ(reasons.size(), samples) << "a reason label twice";
}

TEST(AdminMetrics, TextExposition) {
    auto s = snapshot(2);
    s.gateway.accepted = 7;
    s.gateway.refused_rate = 2;
    s.gateway.refused_handshakes_per_address = 6;
    auto pinging = connection(1, "a");
    pinging.session.keepalive.awaiting_pong = true;
    s.shards[0].connections = {pinging, connection(2, "b")};
    s.shards[0].devices = {device("a", 1), device("b", 2)};
    s.shards[0].devices[0].queued = 3;
    auto& c0 = s.shards[0].counters;
    auto& c1 = s.shards[1].counters;
    c0.closes[static_cast<std::size_t>(session::CloseReason::half_open)] = 2;
    c1.closes[static_cast<std::size_t>(session::CloseReason::half_open)] = 1;
    c1.closes[static_cast<std::size_t>(session::CloseReason::admin)] = 4;
    c0.rtt_buckets = {{0.001, 1}, {0.01, 2}};
    c1.rtt_buckets = {{0.001, 0}, {0.01, 1}};
    c0.rtt_count = 2;
    c1.rtt_count = 1;
    c0.rtt_sum_seconds = 0.004;
    c0.relayed[{true, "register", coap::code::created}] = 2;
    c1.relayed[{true, "register", coap::code::created}] = 1;
    c1.relayed[{false, "read", coap::code::content}] = 5;
    c0.registered_devices = 2;
    c1.queue_overflow = 1;
    c0.too_large_for_device = 2;
    c1.too_large_for_device = 1;
    s.store.puts = 11;
    s.store.batches = 4;
    c0.keepalive_bytes_in = 4;
    c1.keepalive_bytes_in = 2;
    c0.keepalive_bytes_out = 9;
    c0.keepalive_wire_bytes = 500;
    c1.keepalive_wire_bytes = 161;
    const auto text = metrics_text(s);
    EXPECT_THAT(text, HasSubstr("# TYPE lwgate_connections gauge\n"));
    EXPECT_THAT(text, HasSubstr("lwgate_connections{state=\"pinging\",transport=\"tcp\"} 1\n"));
    EXPECT_THAT(text, HasSubstr("lwgate_connections{state=\"active\",transport=\"tcp\"} 1\n"));
    EXPECT_THAT(text, HasSubstr("lwgate_connections{state=\"active\",transport=\"tls\"} 0\n"));
    EXPECT_THAT(text, HasSubstr("lwgate_accepted_total 7\n"));
    EXPECT_THAT(text, HasSubstr("lwgate_refused_total{reason=\"limit_rate\"} 2\n"));
    EXPECT_THAT(text,
                HasSubstr("lwgate_refused_total{reason=\"limit_handshakes_per_address\"} 6\n"));
    EXPECT_THAT(text, HasSubstr("lwgate_messages_dropped_total{reason=\"device_max_message_size\"} "
                                "3\n"));
    EXPECT_THAT(text, HasSubstr("lwgate_closes_total{reason=\"half_open\"} 3\n"));
    EXPECT_THAT(text, HasSubstr("lwgate_closes_total{reason=\"admin\"} 4\n"));
    EXPECT_THAT(text, HasSubstr("lwgate_half_open_detected_total 3\n"));
    EXPECT_THAT(text, HasSubstr("lwgate_keepalive_frame_bytes_total{direction=\"in\"} 6\n"));
    EXPECT_THAT(text, HasSubstr("lwgate_keepalive_frame_bytes_total{direction=\"out\"} 9\n"));
    EXPECT_THAT(text, HasSubstr("lwgate_keepalive_wire_bytes_estimated_total 661\n"));
    EXPECT_THAT(text, HasSubstr("# TYPE lwgate_rtt_seconds histogram\n"));
    EXPECT_THAT(text, HasSubstr("lwgate_rtt_seconds_bucket{le=\"0.001\"} 1\n"));
    EXPECT_THAT(text, HasSubstr("lwgate_rtt_seconds_bucket{le=\"0.01\"} 3\n"));
    EXPECT_THAT(text, HasSubstr("lwgate_rtt_seconds_bucket{le=\"+Inf\"} 3\n"));
    EXPECT_THAT(text, HasSubstr("lwgate_rtt_seconds_count 3\n"));
    EXPECT_THAT(text, HasSubstr("lwgate_rtt_seconds_sum 0.004\n"));
    EXPECT_THAT(text, HasSubstr("lwgate_relayed_requests_total{direction=\"uplink\",operation="
                                "\"register\",code=\"2.01\"} 3\n"));
    EXPECT_THAT(text, HasSubstr("lwgate_relayed_requests_total{direction=\"downlink\",operation="
                                "\"read\",code=\"2.05\"} 5\n"));
    EXPECT_THAT(text, HasSubstr("lwgate_queue_depth 3\n"));
    EXPECT_THAT(text, HasSubstr("lwgate_queue_dropped_total{reason=\"overflow\"} 1\n"));
    EXPECT_THAT(text, HasSubstr("lwgate_registered_devices 2\n"));
    EXPECT_THAT(text, HasSubstr("lwgate_build_info{version=\"0.1.0\"} 1\n"));
    EXPECT_THAT(text, HasSubstr("lwgate_store_operations_total{op=\"save\"} 11\n"));
    EXPECT_THAT(text, HasSubstr("lwgate_store_operations_total{op=\"commit\"} 4\n"));
    EXPECT_THAT(text, HasSubstr("lwgate_store_operations_total{op=\"error\"} 0\n"));
    // Every sample line belongs to a family declared with # TYPE, names are lwgate_* (or the
    // standard process_* of Prometheus client libraries).
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        if (line.empty() || line[0] == '#') continue;
        EXPECT_TRUE(line.rfind("lwgate_", 0) == 0 || line.rfind("process_", 0) == 0) << line;
        EXPECT_THAT(line, Not(HasSubstr("  "))) << line;
    }
}

TEST(AdminMetrics, LabelEscaping) {
    EXPECT_EQ(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

}  // namespace
}  // namespace lwgate::admin
