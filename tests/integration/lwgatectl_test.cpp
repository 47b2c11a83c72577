// The real lwgatectl against the real lwgate (admin API on port 0) with simulated devices and
// core: the table shows the device and its state, ping measures a real round trip, status
// turns non-zero when the core is down, refusals and an unreachable gateway give their codes.
#include <gmock/gmock.h>

#include <nlohmann/json.hpp>

#include "gateway_fixture.hpp"
#include "lwgate/coresim/core_simulator.hpp"
#include "lwgate/devsim/device_simulator.hpp"
#include "run_lwgatectl.hpp"

namespace lwgate::integration {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

class LwgatectlTest : public GatewayTest {
  protected:
    void start_with_core(const std::string& upstream_uri, const std::string& upstream_extra = "") {
        config.extra_yaml += "upstream:\n  uri: " + upstream_uri + "\n" + upstream_extra;
        start_gateway();
        admin = gateway.admin_url();
        ASSERT_FALSE(admin.empty()) << "no admin API";
    }

    harness::ProcessResult ctl(std::vector<std::string> args) {
        return run_lwgatectl(admin, std::move(args));
    }

    std::unique_ptr<devsim::DeviceSimulator> device(const std::string& endpoint) {
        devsim::DeviceOptions o;
        o.endpoint = endpoint;
        o.port = gateway.port();
        return std::make_unique<devsim::DeviceSimulator>(o);
    }

    std::string admin;  // "http://127.0.0.1:PORT", as the gateway printed it
    coresim::CoreSimulator core;
};

TEST_F(LwgatectlTest, ConnectionsShowsTheDeviceAndPingMeasuresARoundTrip) {
    core.start();
    start_with_core(core.uri());
    auto dev = device("urn:imei:700");
    auto r = dev->register_device(5s);
    ASSERT_TRUE(r.ok()) << r.detail;
    ASSERT_EQ(r.code(), code::created);

    auto table = ctl({"connections"});
    EXPECT_EQ(table.exit_code, 0) << table.err;
    EXPECT_THAT(table.out, HasSubstr("ENDPOINT"));
    EXPECT_THAT(table.out,
                MatchesRegex("(.|\n)*\nurn:imei:700 +(active|idle) +tcp +127\\.0\\.0\\.1:" +
                             std::to_string(dev->local_port()) + " (.|\n)*"));

    auto json = ctl({"connections", "--json", "--endpoint", "urn:imei:7"});
    ASSERT_EQ(json.exit_code, 0) << json.err;
    const auto body = nlohmann::json::parse(json.out);
    ASSERT_EQ(body["connections"].size(), 1u) << json.out;
    EXPECT_EQ(body["connections"][0]["endpoint"], "urn:imei:700");
    EXPECT_EQ(body["connections"][0]["registered"], true);
    auto none = ctl({"connections", "--json", "--endpoint", "urn:other"});
    EXPECT_EQ(nlohmann::json::parse(none.out)["connections"].size(), 0u) << none.out;

    auto ping = ctl({"ping", "urn:imei:700", "--timeout", "3s"});
    ASSERT_EQ(ping.exit_code, 0) << ping.err;
    EXPECT_THAT(ping.out, MatchesRegex("pong from urn:imei:700 in [0-9.]+ms\n"));
    auto ping_json = ctl({"ping", "urn:imei:700", "--json"});
    ASSERT_EQ(ping_json.exit_code, 0) << ping_json.err;
    const double rtt = nlohmann::json::parse(ping_json.out)["rtt_seconds"].get<double>();
    EXPECT_GT(rtt, 0.0);
    EXPECT_LT(rtt, 1.0) << "loopback";

    auto show = ctl({"show", "urn:imei:700"});
    EXPECT_EQ(show.exit_code, 0) << show.err;
    EXPECT_THAT(show.out, HasSubstr("registration  /rd/"));
    EXPECT_THAT(show.out, MatchesRegex("(.|\n)*last rtts +[0-9.]+ms(.|\n)*"))
        << "the pings above are in the history";

    auto status = ctl({"status"});
    EXPECT_EQ(status.exit_code, 0) << status.out << status.err;
    EXPECT_THAT(status.out, HasSubstr(": ok"));
}

// An endpoint name may contain '/': lwgatectl sends it as %2F and the admin API decodes it only
// after splitting the path.
TEST_F(LwgatectlTest, EndpointNamesWithASlash) {
    core.start();
    start_with_core(core.uri());
    auto dev = device("site-7/meter/3");
    auto r = dev->register_device(5s);
    ASSERT_TRUE(r.ok()) << r.detail;
    ASSERT_EQ(r.code(), code::created);
    auto show = ctl({"show", "site-7/meter/3"});
    EXPECT_EQ(show.exit_code, 0) << show.err;
    EXPECT_THAT(show.out, HasSubstr("site-7/meter/3"));
    auto ping = ctl({"ping", "site-7/meter/3", "--timeout", "3s"});
    EXPECT_EQ(ping.exit_code, 0) << ping.err;
    EXPECT_THAT(ping.out, HasSubstr("pong from site-7/meter/3"));
    EXPECT_EQ(ctl({"show", "site-7/meter"}).exit_code, 1) << "no prefix match";
}

TEST_F(LwgatectlTest, RefusedRequestsExit1) {
    core.start();
    start_with_core(core.uri());
    auto unknown = ctl({"show", "nobody"});
    EXPECT_EQ(unknown.exit_code, 1);
    EXPECT_THAT(unknown.err, MatchesRegex("lwgatectl: nobody: .*\\(HTTP 404\\)\n"));
    EXPECT_EQ(unknown.out, "");
    EXPECT_EQ(ctl({"ping", "nobody"}).exit_code, 1);
    EXPECT_EQ(ctl({"close", "nobody"}).exit_code, 1);
}

TEST_F(LwgatectlTest, CloseDropsTheConnectionAndTheDeviceBecomesAway) {
    core.start();
    start_with_core(core.uri());
    auto dev = device("urn:imei:701");
    ASSERT_TRUE(dev->register_device(5s).ok());
    auto close = ctl({"close", "urn:imei:701"});
    ASSERT_EQ(close.exit_code, 0) << close.err;
    EXPECT_EQ(close.out, "closed urn:imei:701\n");
    EXPECT_TRUE(dev->wait_closed(5s));
    // Still registered, no connection: "away" (not queue mode).
    const auto deadline = SteadyClock::now() + 5s;
    std::string out;
    while (SteadyClock::now() < deadline) {
        out = ctl({"connections", "--state", "away"}).out;
        if (out.find("urn:imei:701") != std::string::npos) break;
    }
    EXPECT_THAT(out, HasSubstr("urn:imei:701"));
}

TEST_F(LwgatectlTest, StatusExitsNonZeroWhenTheCoreIsDown) {
    // Nothing listens on the core's port: the device's Register gets no answer upstream.
    core.start();
    const auto core_uri = core.uri();
    core.stop();
    start_with_core(core_uri, "  ack_timeout: 1s\n  max_retransmit: 1\n");
    auto before = ctl({"status"});
    EXPECT_EQ(before.exit_code, 0) << before.out << before.err << "no failure yet";

    auto dev = device("urn:imei:702");
    auto r = dev->register_device(10s);
    ASSERT_TRUE(r.ok()) << r.detail;
    EXPECT_NE(r.code(), code::created);

    const auto deadline = SteadyClock::now() + 10s;
    harness::ProcessResult status;
    do {
        status = ctl({"status"});
    } while (status.exit_code != 2 && SteadyClock::now() < deadline);
    EXPECT_EQ(status.exit_code, 2) << status.out << status.err;
    EXPECT_THAT(status.out, HasSubstr("failing"));
    EXPECT_THAT(status.out, HasSubstr("UNREACHABLE"));
}

// The installed binary as users type it: --json anywhere, a mistyped command named.
TEST_F(LwgatectlTest, JsonBeforeTheCommandAndAnUnknownCommand) {
    core.start();
    start_with_core(core.uri());
    auto status = ctl({"--json", "status"});
    EXPECT_EQ(status.exit_code, 0) << status.err;
    EXPECT_EQ(nlohmann::json::parse(status.out, nullptr, false).value("status", ""), "ok")
        << status.out;
    auto first = harness::run_process({LWGATECTL_BINARY, "--json", "--admin", admin, "conns"}, 20s);
    EXPECT_EQ(first.exit_code, 0) << first.err;
    EXPECT_EQ(nlohmann::json::parse(first.out, nullptr, false).value("count", -1), 0) << first.out;
    auto bogus = ctl({"bogus"});
    EXPECT_EQ(bogus.exit_code, 2);
    EXPECT_THAT(bogus.err, HasSubstr("lwgatectl: unknown command 'bogus'"));
}

TEST_F(LwgatectlTest, UnreachableAfterTheGatewayStopped) {
    core.start();
    start_with_core(core.uri());
    ASSERT_EQ(gateway.stop(10s), 0);
    auto status = ctl({"status"});
    EXPECT_EQ(status.exit_code, 2);
    EXPECT_THAT(status.err,
                MatchesRegex("lwgatectl: cannot reach lwgate admin at http://127\\.0\\.0"
                             "\\.1:[0-9]+: connection refused\n"));
}

}  // namespace
}  // namespace lwgate::integration
