// The admin API end to end: the real lwgate with its admin server on port 0, devices from
// tools/devsim in known states, the core simulator, and the harness's HTTP client.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <thread>

#include "gateway_fixture.hpp"
#include "lwgate/coresim/core_simulator.hpp"
#include "lwgate/devsim/device_simulator.hpp"
#include "lwgate/harness/admin_client.hpp"
#include "raw_client.hpp"
#include "support/loopback_http.hpp"

namespace lwgate::integration {
namespace {

using coresim::CoreSimulator;
using devsim::DeviceOptions;
using devsim::DeviceSimulator;
using harness::AdminClient;
using harness::HttpReply;
using nlohmann::json;
using ::testing::HasSubstr;

// One HTTP/1.1 request written by hand, as `curl -X POST URL` sends it: no Content-Length and
// no body. The reply is read to the server's close (Connection: close) within a 10 s timeout.
struct RawHttp {
    std::string reply;           // status line, headers and body as received
    std::uint16_t local_port{};  // the client's port, as the gateway sees it
};

RawHttp raw_post_without_length(std::uint16_t port, const std::string& path) {
    RawHttp result;
    const int fd = loopback::connect(port);
    if (fd < 0) return result;
    sockaddr_in local{};
    socklen_t length = sizeof local;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length);
    result.local_port = ntohs(local.sin_port);
    const std::string request = "POST " + path +
                                " HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: curl/7.88.1\r\n"
                                "Accept: */*\r\nConnection: close\r\n\r\n";
    EXPECT_EQ(::send(fd, request.data(), request.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(request.size()));
    result.reply = loopback::read_until_closed(fd);
    return result;
}

std::string chunked_post(const std::string& path, const std::string& extra_headers = {}) {
    return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra_headers +
           "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
}

// Resident memory of a process, in KiB (VmRSS).
long resident_kib(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);)
        if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    return -1;
}

class AdminApiTest : public GatewayTest {
  protected:
    void start_all(const std::string& upstream_extra = {}) {
        config.log_level = "debug";
        core.start();
        config.extra_yaml += "upstream:\n  uri: " + core.uri() + "\n" + upstream_extra;
        start_gateway();
        ASSERT_FALSE(gateway.admin_url().empty()) << "no `admin http://...` line on stdout";
        admin = std::make_unique<AdminClient>(gateway.admin_url(), token);
    }

    std::unique_ptr<DeviceSimulator> registered(const std::string& endpoint, bool queue = false) {
        DeviceOptions o;
        o.endpoint = endpoint;
        o.port = gateway.port();
        o.lifetime = 300;
        o.queue_mode = queue;
        auto device = std::make_unique<DeviceSimulator>(o);
        auto r = device->register_device(5s);
        EXPECT_TRUE(r.ok()) << r.detail;
        EXPECT_EQ(r.code(), code::created) << coap::describe(r.response);
        EXPECT_TRUE(core.wait_registration(endpoint, 5s));
        return device;
    }

    json get_json(const std::string& path, int status = 200) {
        const auto r = admin->get(path);
        EXPECT_EQ(r.status, status) << path << ": " << r.body;
        EXPECT_EQ(r.header("Content-Type"), "application/json") << path;
        const auto j = r.json();
        EXPECT_FALSE(j.is_discarded()) << r.body;
        return j;
    }

    // The rows of GET /v1/connections?endpoint=EP (prefix), exactly EP.
    std::vector<json> rows_of(const std::string& endpoint) {
        std::vector<json> out;
        const auto list = get_json("/v1/connections?endpoint=" + endpoint);
        for (const auto& row : list["connections"])
            if (row["endpoint"] == endpoint) out.push_back(row);
        return out;
    }

    // Polls (every 20 ms, up to `timeout`) until the endpoint has a row in `state`.
    bool wait_state(const std::string& endpoint, const std::string& state, Millis timeout = 5s) {
        const auto deadline = SteadyClock::now() + timeout;
        do {
            for (const auto& row : rows_of(endpoint))
                if (row["state"] == state) return true;
            std::this_thread::sleep_for(20ms);
        } while (SteadyClock::now() < deadline);
        ADD_FAILURE() << endpoint << " never " << state << ": "
                      << admin->get("/v1/connections?endpoint=" + endpoint).body;
        return false;
    }

    // The value of one sample of /metrics ("name{labels}" exactly), or -1 when absent.
    double metric(const std::string& sample) {
        const auto r = admin->get("/metrics");
        EXPECT_EQ(r.status, 200) << r.body;
        std::istringstream lines(r.body);
        for (std::string line; std::getline(lines, line);) {
            if (line.rfind(sample + " ", 0) == 0) return std::stod(line.substr(sample.size() + 1));
        }
        return -1;
    }

    std::string token;
    CoreSimulator core;
    std::unique_ptr<AdminClient> admin;
};

TEST_F(AdminApiTest, ConnectionsListEveryDeviceWithItsStateAndFields) {
    start_all();
    auto active = registered("dev-active");
    auto sleeper = registered("dev-sleep", true);
    auto away = registered("dev-away");
    sleeper->sleep();
    away->disconnect();
    ASSERT_TRUE(sleeper->wait_for_state(devsim::ConnectionState::closed, 5s));
    DeviceClient unregistered = connect_ready();
    ASSERT_TRUE(core.observe("dev-active", "/3/0/13"));

    ASSERT_TRUE(wait_state("dev-sleep", "sleeping"));
    ASSERT_TRUE(wait_state("dev-away", "away"));
    const auto all = get_json("/v1/connections");
    EXPECT_EQ(all["count"], 4) << all.dump(2);
    const auto rows = rows_of("dev-active");
    ASSERT_EQ(rows.size(), 1u);
    const auto& row = rows[0];
    EXPECT_EQ(row["state"], "active");
    EXPECT_EQ(row["transport"], "tcp");
    EXPECT_EQ(row["remote"], "127.0.0.1:" + std::to_string(active->local_port()));
    EXPECT_EQ(row["registered"], true);
    EXPECT_EQ(row["queue_mode"], false);
    EXPECT_EQ(row["observations"], 1);
    EXPECT_EQ(row["flapping"], false);
    EXPECT_TRUE(row["id"].is_number());
    EXPECT_GE(row["connected_seconds"].get<double>(), 0.0);
    EXPECT_TRUE(row["last_rtt_seconds"].is_null()) << "no Ping yet";
    const auto sleeping = rows_of("dev-sleep");
    ASSERT_EQ(sleeping.size(), 1u);
    EXPECT_TRUE(sleeping[0]["id"].is_null());
    EXPECT_EQ(sleeping[0]["queue_mode"], true);
    bool saw_unregistered = false;
    for (const auto& r : all["connections"]) {
        if (r["endpoint"].is_null()) {
            EXPECT_EQ(r["state"], "unregistered");
            saw_unregistered = true;
        }
    }
    EXPECT_TRUE(saw_unregistered) << all.dump(2);

    // Filters.
    EXPECT_EQ(get_json("/v1/connections?state=sleeping")["count"], 1);
    EXPECT_EQ(get_json("/v1/connections?state=unregistered")["count"], 1);
    EXPECT_EQ(get_json("/v1/connections?endpoint=dev-a")["count"], 2);
    EXPECT_EQ(get_json("/v1/connections?transport=tcp")["count"], 2);
    EXPECT_EQ(get_json("/v1/connections?transport=tls")["count"], 0);
    EXPECT_EQ(get_json("/v1/connections?remote=127.0.0.1:" +
                       std::to_string(active->local_port()))["count"],
              1);
    EXPECT_THAT(get_json("/v1/connections?state=zombie", 400)["error"].get<std::string>(),
                HasSubstr("zombie"));

    // Details, with the observation the core made.
    const auto detail = get_json("/v1/connections/dev-active");
    EXPECT_EQ(detail["state"], "active");
    EXPECT_EQ(detail["connection"]["remote"], row["remote"]);
    EXPECT_EQ(detail["connection"]["id"], row["id"]);
    EXPECT_GT(detail["connection"]["bytes_in"].get<int>(), 0);
    EXPECT_GT(detail["connection"]["messages_out"].get<int>(), 0);
    EXPECT_EQ(detail["registration"]["location"], "/rd/" + core.registration("dev-active")->id);
    EXPECT_EQ(detail["registration"]["lifetime_seconds"], 300);
    EXPECT_EQ(detail["registration"]["binding"], "T") << "as the device registered";
    EXPECT_GT(detail["registration"]["upstream_local_port"].get<int>(), 0);
    ASSERT_EQ(detail["observations"].size(), 1u) << detail.dump(2);
    EXPECT_EQ(detail["observations"][0]["path"], "/3/0/13");
    EXPECT_EQ(detail["observations"][0]["active"], true);
    EXPECT_EQ(detail["keepalive"]["idle_timeout_seconds"], 60.0);
    const auto by_id = get_json("/v1/connections/id:" + std::to_string(row["id"].get<int>()));
    EXPECT_EQ(by_id["endpoint"], "dev-active");
    const auto away_detail = get_json("/v1/connections/dev-away");
    EXPECT_EQ(away_detail["state"], "away");
    EXPECT_TRUE(away_detail["connection"].is_null());
    ASSERT_GE(away_detail["recent_closes"].size(), 1u);
    EXPECT_EQ(away_detail["recent_closes"].back()["reason"], "peer_closed");
    EXPECT_THAT(get_json("/v1/connections/nobody", 404)["error"].get<std::string>(),
                HasSubstr("nobody"));
    get_json("/v1/connections/id:999999", 404);
}

// GET /v1/connections a page at a time: limit=2 over six devices lists each exactly once, in the
// API's order (endpoint name), the filters apply before the page, and GET /v1/openapi.json
// describes the API.
TEST_F(AdminApiTest, ConnectionsComeInPagesAndTheApiIsDescribed) {
    start_all();
    std::vector<std::unique_ptr<DeviceSimulator>> devices;
    std::vector<std::string> expected;
    for (const char* name :
         {"dev-page-3", "dev-page-1", "dev-page-5", "dev-page-2", "dev-page-4"}) {
        devices.push_back(registered(name));
        expected.emplace_back(name);
    }
    auto sleeper = registered("dev-page-0", true);
    sleeper->sleep();
    ASSERT_TRUE(wait_state("dev-page-0", "sleeping"));
    expected.emplace_back("dev-page-0");
    std::sort(expected.begin(), expected.end());

    std::vector<std::string> seen;
    std::string after;
    int pages = 0;
    do {
        const auto page =
            get_json("/v1/connections?limit=2" + (after.empty() ? "" : "&after=" + after));
        ASSERT_LE(page["connections"].size(), 2u) << page.dump(2);
        EXPECT_EQ(page["count"], page["connections"].size());
        EXPECT_EQ(page["total"], 6);
        for (const auto& row : page["connections"])
            seen.push_back(row["endpoint"].get<std::string>());
        after = page["next"].is_string() ? page["next"].get<std::string>() : std::string();
        ASSERT_LE(++pages, 10) << "pagination does not end";
    } while (!after.empty());
    EXPECT_EQ(pages, 3) << "no empty page after the last row";
    EXPECT_EQ(seen, expected);

    const auto sleeping = get_json("/v1/connections?state=sleeping&limit=1");
    ASSERT_EQ(sleeping["connections"].size(), 1u);
    EXPECT_EQ(sleeping["connections"][0]["endpoint"], "dev-page-0");
    EXPECT_TRUE(sleeping["next"].is_null());
    const auto all = get_json("/v1/connections");
    EXPECT_EQ(all["count"], 6) << "without limit: one page of up to 1000";
    EXPECT_TRUE(all["next"].is_null());
    for (const char* bad : {"limit=0", "limit=10001", "limit=two"})
        EXPECT_THAT(
            get_json(std::string("/v1/connections?") + bad, 400)["error"].get<std::string>(),
            HasSubstr("limit"))
            << bad;
    EXPECT_THAT(get_json("/v1/connections?after=nonsense", 400)["error"].get<std::string>(),
                HasSubstr("after"));

    const auto doc = get_json("/v1/openapi.json");
    EXPECT_EQ(doc.value("openapi", "").rfind("3.0.", 0), 0u) << doc.dump().substr(0, 200);
    EXPECT_TRUE(doc["paths"].contains("/v1/connections"));
    EXPECT_TRUE(doc["paths"]["/v1/connections/{target}/ping"].contains("post"));
    EXPECT_EQ(admin->post("/v1/openapi.json").status, 405);
}

TEST_F(AdminApiTest, SilentDeviceGoesIdlePingingHalfOpenAndIsCounted) {
    config.keepalive_idle = "1s";
    config.pong_timeout = "1s";
    config.max_missed = 2;
    start_all();
    auto talker = registered("dev-talker");
    auto silent = registered("dev-silent");
    const double accepted = metric("lwgate_accepted_total");
    EXPECT_EQ(accepted, 2);
    silent->go_silent();
    // idle: nothing received for keepalive.idle/2; then a Ping goes out (pinging); a missed
    // Pong makes it half_open; the second missed Pong closes it.
    EXPECT_TRUE(wait_state("dev-silent", "idle", 3s));
    EXPECT_TRUE(wait_state("dev-silent", "pinging", 3s));
    EXPECT_TRUE(wait_state("dev-silent", "half_open", 3s));
    ASSERT_TRUE(wait_state("dev-silent", "away", 5s));
    EXPECT_EQ(metric("lwgate_half_open_detected_total"), 1);
    EXPECT_EQ(metric("lwgate_closes_total{reason=\"half_open\"}"), 1);
    EXPECT_GE(metric("lwgate_pongs_missed_total"), 2);
    EXPECT_GE(metric("lwgate_pings_sent_total"), 2);
    EXPECT_EQ(metric("lwgate_registered_devices"), 2);
    EXPECT_EQ(metric("lwgate_relayed_requests_total{direction=\"uplink\",operation=\"register\","
                     "code=\"2.01\"}"),
              2);
    const auto detail = get_json("/v1/connections/dev-silent");
    ASSERT_GE(detail["recent_closes"].size(), 1u) << detail.dump(2);
    EXPECT_EQ(detail["recent_closes"].back()["reason"], "half_open");
    EXPECT_THAT(detail["recent_closes"].back()["at"].get<std::string>(), HasSubstr("T"));
    // One half-open connection in a minute among two: the gateway says it is degraded.
    const auto health = get_json("/v1/health");
    EXPECT_EQ(health["status"], "degraded") << health.dump(2);
    EXPECT_THAT(health["reasons"].dump(), HasSubstr("half-open"));
    // The talker answers its Pings: RTT samples in the histogram and in its details.
    ASSERT_TRUE(wait_state("dev-talker", "active", 3s));
    const auto deadline = SteadyClock::now() + 5s;
    while (metric("lwgate_rtt_seconds_count") < 1 && SteadyClock::now() < deadline)
        std::this_thread::sleep_for(50ms);
    EXPECT_GE(metric("lwgate_rtt_seconds_count"), 1);
    const auto talker_detail = get_json("/v1/connections/dev-talker");
    EXPECT_FALSE(talker_detail["keepalive"]["last_rtts_seconds"].empty());
    // What those Pings cost: at least one exchange in both directions, counted per device and in
    // /metrics, with the estimate above the bare frames (headers, ACKs).
    const auto& wire = talker_detail["keepalive"]["wire"];
    EXPECT_GE(wire["frames_out"].get<int>(), 1) << wire.dump();
    EXPECT_GE(wire["frames_in"].get<int>(), 1) << wire.dump();
    EXPECT_GT(wire["wire_bytes_estimated"].get<double>(),
              wire["frame_bytes_in"].get<double>() + wire["frame_bytes_out"].get<double>());
    // keepalive.idle 1 s: 86,400 exchanges of at least 3 segments a day.
    EXPECT_GT(wire["idle_wire_bytes_per_day_estimated"].get<double>(), 86'400.0 * 3 * 52);
    EXPECT_GE(metric("lwgate_keepalive_frame_bytes_total{direction=\"out\"}"), 3 * 2);
    EXPECT_GE(metric("lwgate_keepalive_frame_bytes_total{direction=\"in\"}"), 2);
    EXPECT_GT(metric("lwgate_keepalive_wire_bytes_estimated_total"),
              metric("lwgate_keepalive_frame_bytes_total{direction=\"out\"}"));
}

TEST_F(AdminApiTest, PingMeasuresARealRoundTrip) {
    start_all();
    auto device = registered("dev-ping");
    auto mute = registered("dev-mute");
    auto sleeper = registered("dev-zz", true);
    sleeper->sleep();
    ASSERT_TRUE(wait_state("dev-zz", "sleeping"));
    const auto pongs_before = device->stats().pongs_sent;

    auto r = admin->post("/v1/connections/dev-ping/ping");
    ASSERT_EQ(r.status, 200) << r.body;
    const double rtt = r.json()["rtt_seconds"].get<double>();
    EXPECT_GT(rtt, 0.0);
    EXPECT_LT(rtt, 1.0);
    EXPECT_EQ(device->stats().pongs_sent, pongs_before + 1) << "the device answered a real Ping";
    const auto detail = get_json("/v1/connections/dev-ping");
    ASSERT_EQ(detail["keepalive"]["last_rtts_seconds"].size(), 1u);
    EXPECT_DOUBLE_EQ(detail["keepalive"]["last_rtts_seconds"][0].get<double>(), rtt);
    EXPECT_EQ(detail["keepalive"]["pings_sent"], 1);

    mute->go_silent();
    const auto start = SteadyClock::now();
    r = admin->post("/v1/connections/dev-mute/ping", R"({"timeout_seconds": 0.3})");
    EXPECT_EQ(r.status, 504) << r.body;
    EXPECT_THAT(r.body, HasSubstr("no Pong within 0.3 s"));
    EXPECT_GE(ms_since(start), 290ms);
    EXPECT_EQ(admin->post("/v1/connections/dev-zz/ping").status, 409);
    EXPECT_EQ(admin->post("/v1/connections/nobody/ping").status, 404);
    EXPECT_EQ(admin->post("/v1/connections/dev-ping/ping", "[1,2]").status, 400);
    EXPECT_EQ(admin->post("/v1/connections/dev-ping/ping", R"({"timeout_seconds": -1})").status,
              400);
}

TEST_F(AdminApiTest, ReleaseAndCloseReallyCloseTheDeviceConnection) {
    start_all();
    auto released = registered("dev-rel");
    auto closed = registered("dev-close");
    auto r = admin->post("/v1/connections/dev-rel/release",
                         R"({"alternative_address": "coap+tcp://10.0.0.2:5683",
                             "hold_off_seconds": 30})");
    ASSERT_EQ(r.status, 202) << r.body;
    EXPECT_EQ(r.json()["released"], true);
    auto info = released->wait_closed(5s);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->reason, devsim::CloseReason::release_received) << info->detail;
    const auto releases = released->releases();
    ASSERT_EQ(releases.size(), 1u);
    EXPECT_EQ(releases[0].alternative_address, "coap+tcp://10.0.0.2:5683");
    EXPECT_EQ(releases[0].hold_off_seconds, 30u);

    r = admin->post("/v1/connections/dev-close/close");
    ASSERT_EQ(r.status, 202) << r.body;
    EXPECT_EQ(r.json()["closed"], true);
    info = closed->wait_closed(5s);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->reason, devsim::CloseReason::abort_received) << info->detail;

    EXPECT_TRUE(wait_state("dev-rel", "away"));
    EXPECT_TRUE(wait_state("dev-close", "away"));
    EXPECT_EQ(metric("lwgate_closes_total{reason=\"admin\"}"), 2);
    EXPECT_EQ(get_json("/v1/connections/dev-close")["recent_closes"].back()["reason"], "admin");
    EXPECT_EQ(admin->post("/v1/connections/dev-close/close").status, 409) << "no connection left";
    EXPECT_EQ(admin->post("/v1/connections/dev-rel/release", R"({"hold_off_seconds": "x"})").status,
              400);

    // Each action is in the log with the admin client that asked; refused requests are not.
    EXPECT_TRUE(gateway.wait_for_log(
        "operator action: release action=release target=dev-rel detail=\"conn ", 5s))
        << gateway.log();
    EXPECT_EQ(gateway.count_in_log(", hold_off_seconds 30, alternative_address "
                                   "coap+tcp://10.0.0.2:5683\" client=127.0.0.1:"),
              1u)
        << gateway.log();
    EXPECT_EQ(gateway.count_in_log("operator action: close action=close target=dev-close "
                                   "detail=\"conn "),
              1u)
        << gateway.log();
    EXPECT_EQ(gateway.count_in_log("operator action: "), 2u) << gateway.log();
    // The close lines of both connections name their endpoint.
    EXPECT_TRUE(
        gateway.wait_for_log("closed reason=admin detail=\"released by operator\" "
                             "ep=dev-rel conn=",
                             5s))
        << gateway.log();
}

TEST_F(AdminApiTest, ThreeClosesInTenMinutesMakeAnEndpointFlapping) {
    start_all();
    auto device = registered("dev-flap");
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(rows_of("dev-flap").at(0)["flapping"], false) << i;
        ASSERT_TRUE(device->reconnect(5s).ok());
        auto u = device->update();  // binds the new connection to the endpoint
        ASSERT_TRUE(u.ok()) << u.detail;
    }
    const auto rows = rows_of("dev-flap");
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0]["flapping"], true);
    EXPECT_EQ(rows[0]["state"], "active");
    const auto detail = get_json("/v1/connections/dev-flap");
    EXPECT_EQ(detail["flapping"], true);
    EXPECT_EQ(detail["recent_closes"].size(), 3u);
    EXPECT_TRUE(detail["connection"].value("last_tx_seconds", json()).is_number());
}

// A queue-mode device closes its connection on every wake cycle: that is not flapping.
TEST_F(AdminApiTest, AQueueModeDeviceSleepingAndWakingIsNotFlapping) {
    start_all();
    auto device = registered("dev-nap", true);
    for (int i = 0; i < 4; ++i) {
        device->sleep();
        ASSERT_TRUE(gateway.wait_for_log("closed reason=peer_closed", 5s, i + 1)) << i;
        auto u = device->wake(5s);
        ASSERT_TRUE(u.ok()) << u.detail;
        ASSERT_EQ(u.code(), code::changed);
    }
    const auto detail = get_json("/v1/connections/dev-nap");
    EXPECT_EQ(detail["flapping"], false) << detail.dump(2);
    ASSERT_EQ(detail["recent_closes"].size(), 4u) << detail.dump(2);
    EXPECT_EQ(detail["recent_closes"][0]["expected"], true);
    EXPECT_EQ(rows_of("dev-nap").at(0)["flapping"], false);
}

TEST_F(AdminApiTest, DrainReleasesEveryoneAndExits) {
    start_all();
    DeviceClient stubborn = connect_ready();  // does not close on Release: waits for the timeout
    auto r = admin->post("/v1/drain");
    ASSERT_EQ(r.status, 202) << r.body;
    EXPECT_EQ(r.json()["draining"], true);
    auto release = stubborn.receive(5s);
    ASSERT_TRUE(release);
    EXPECT_EQ(release->code(), code::release);
    const auto health = admin->get("/v1/health");
    ASSERT_EQ(health.status, 200) << health.body;
    EXPECT_EQ(health.json()["draining"], true);
    EXPECT_EQ(health.json()["status"], "degraded");
    EXPECT_EQ(health.json()["listeners"][0]["up"], false);
    EXPECT_EQ(gateway.wait_exit(10s), 0);
}

// curl -X POST sends neither a body nor Content-Length: that is an empty body, not a 400. An
// API drain says in the log why the gateway stops and who asked.
TEST_F(AdminApiTest, PostWithoutContentLengthIsAnEmptyBodyAndDrainIsLogged) {
    start_all();
    const auto ping = raw_post_without_length(gateway.admin_port(), "/v1/connections/nobody/ping");
    EXPECT_THAT(ping.reply, ::testing::StartsWith("HTTP/1.1 404")) << ping.reply;
    const auto drain = raw_post_without_length(gateway.admin_port(), "/v1/drain");
    EXPECT_THAT(drain.reply, ::testing::StartsWith("HTTP/1.1 202")) << drain.reply;
    EXPECT_THAT(drain.reply, HasSubstr(R"({"draining":true})"));
    const std::string line =
        "operator action: drain action=drain client=127.0.0.1:" + std::to_string(drain.local_port) +
        "\n";
    const std::string why = "stopping: drain requested through the admin API; draining ";
    EXPECT_TRUE(gateway.wait_for_log(line, 5s)) << gateway.log();
    EXPECT_EQ(gateway.wait_exit(10s), 0);
    const auto log = gateway.log();
    for (const auto& text : {line, why}) {
        const auto at = log.find(text);
        ASSERT_NE(at, std::string::npos) << log;
        const auto start = log.rfind('\n', at) + 1;
        EXPECT_THAT(log.substr(start, at - start), HasSubstr(" warning "))
            << "logged at warning level: " << text;
        EXPECT_EQ(gateway.count_in_log(text), 1u) << text;
    }
    EXPECT_LT(log.find(line), log.find(why)) << "who asked, then why it stops";
}

TEST_F(AdminApiTest, BearerTokenIsRequiredWhenConfigured) {
    token = "s3cret-token";
    config.admin_token = token;
    start_all();
    for (const char* path : {"/v1/health", "/v1/connections", "/metrics"}) {
        auto r = admin->request("GET", path, {}, std::string());
        EXPECT_EQ(r.status, 401) << path;
        EXPECT_EQ(r.header("WWW-Authenticate"), "Bearer");
        EXPECT_THAT(r.json()["error"].get<std::string>(), HasSubstr("token"));
        r = admin->request("GET", path, {}, std::string("Bearer wrong"));
        EXPECT_EQ(r.status, 401) << path;
        EXPECT_EQ(admin->get(path).status, 200) << path;
    }
    EXPECT_EQ(admin->request("POST", "/v1/drain", {}, std::string()).status, 401);
    EXPECT_EQ(gateway.wait_exit(200ms), std::nullopt) << "an unauthorised drain did nothing";
    // Each refusal is a security event naming the client, never the token it sent.
    EXPECT_TRUE(gateway.wait_for_log("refused: wrong bearer token (GET /metrics)", 3s))
        << gateway.log();
    EXPECT_TRUE(gateway.wait_for_log("refused: missing bearer token (POST /v1/drain)", 3s));
    EXPECT_TRUE(gateway.wait_for_log("reason=admin_unauthorized", 3s));
    EXPECT_TRUE(gateway.wait_for_log("remote=127.0.0.1:", 3s));
    EXPECT_EQ(gateway.log().find("Bearer wrong"), std::string::npos);
    EXPECT_EQ(gateway.log().find("s3cret-token"), std::string::npos);
}

TEST_F(AdminApiTest, UnknownPathsAndMethods) {
    start_all();
    auto r = admin->get("/v2/nothing");
    EXPECT_EQ(r.status, 404);
    EXPECT_TRUE(r.json().contains("error"));
    r = admin->request("DELETE", "/v1/health");
    EXPECT_EQ(r.status, 405);
    EXPECT_EQ(r.header("Allow"), "GET");
    EXPECT_EQ(admin->get("/v1/drain").status, 405);
    // httplib's own errors are JSON too: a body over the limit.
    r = admin->post("/v1/drain", std::string(100 * 1024, ' '));
    EXPECT_EQ(r.status, 413);
    EXPECT_TRUE(r.json().contains("error")) << r.body;
    EXPECT_EQ(gateway.wait_exit(100ms), std::nullopt);
    r = admin->get("/metrics");
    EXPECT_EQ(r.status, 200);
    EXPECT_THAT(r.header("Content-Type"), HasSubstr("text/plain; version=0.0.4"));
    EXPECT_THAT(r.body, HasSubstr("lwgate_build_info{version=\"0.1.0\"} 1"));
}

TEST_F(AdminApiTest, HealthFailsWhileTheCoreDoesNotAnswer) {
    start_all("  ack_timeout: 1s\n  max_retransmit: 1\n");
    auto first = registered("dev-first");
    auto health = get_json("/v1/health");
    EXPECT_EQ(health["status"], "ok") << health.dump(2);
    EXPECT_EQ(health["core"]["reachable"], true);
    EXPECT_TRUE(health["core"]["last_response_seconds_ago"].is_number());
    EXPECT_EQ(health["registered"], 1);
    EXPECT_EQ(health["version"], "0.1.0");
    EXPECT_EQ(health["listeners"][0]["uri"], gateway.uri());

    core.set_silent(true);
    DeviceOptions o;
    o.endpoint = "dev-second";
    o.port = gateway.port();
    DeviceSimulator second(o);
    auto r = second.register_device(10s);
    ASSERT_TRUE(r.ok()) << r.detail;
    EXPECT_EQ(r.code(), code::gateway_timeout);
    health = get_json("/v1/health", 503);
    EXPECT_EQ(health["status"], "failing");
    EXPECT_EQ(health["core"]["reachable"], false);
    EXPECT_GE(health["core"]["failures_total"].get<int>(), 1);
    EXPECT_THAT(health["reasons"][0].get<std::string>(), HasSubstr("core unreachable"));
    EXPECT_GE(metric("lwgate_upstream_failures_total"), 1);

    core.set_silent(false);  // the core answers again: healthy after the next response
    auto u = first->update();
    ASSERT_TRUE(u.ok()) << u.detail;
    EXPECT_EQ(get_json("/v1/health")["status"], "ok");
}

// The token is checked on the headers: a request without it never has its body read, however
// the body comes, and its connection is closed after the 401.
TEST_F(AdminApiTest, AnUnauthorisedRequestIsRefusedBeforeItsBody) {
    token = "s3cret-token";
    config.admin_token = token;
    start_all();
    RawClient waiting(gateway.admin_port());
    ASSERT_TRUE(waiting.send(chunked_post("/v1/drain", "Authorization: Bearer wrong\r\n")));
    const auto reply = waiting.read_until_close(2s);
    EXPECT_THAT(reply, ::testing::StartsWith("HTTP/1.1 401")) << reply;
    EXPECT_THAT(reply, HasSubstr("wrong bearer token"));
    EXPECT_TRUE(waiting.closed()) << "closed, its body unread";

    // 1 MiB chunks, up to 128 MiB: the gateway must close long before, its memory unmoved.
    const long before = resident_kib(gateway.pid());
    RawClient flood(gateway.admin_port());
    const std::string chunk = "100000\r\n" + std::string(1 << 20, '{') + "\r\n";
    std::size_t sent = 0;
    if (flood.send(chunked_post("/v1/drain", "Authorization: Bearer wrong\r\n"))) {
        while (sent < (128u << 20) && flood.send(chunk))
            sent += chunk.size();
    }
    EXPECT_LT(sent, 32u << 20) << "the gateway kept reading an unauthorised body";
    EXPECT_LT(resident_kib(gateway.pid()) - before, 16 * 1024);
    EXPECT_EQ(gateway.wait_exit(100ms), std::nullopt) << "an unauthorised drain did nothing";
    EXPECT_EQ(admin->get("/v1/health").status, 200);
}

// A chunked body counts against the limit (64 KiB) as it arrives, not once it is complete.
TEST_F(AdminApiTest, AChunkedBodyIsBoundedWhileItStreams) {
    start_all();
    RawClient streaming(gateway.admin_port());
    ASSERT_TRUE(streaming.send(chunked_post("/v1/connections/dev/ping")));
    const std::string chunk = "1000\r\n" + std::string(4096, ' ') + "\r\n";
    for (int i = 0; i < 20 && streaming.send(chunk); ++i) {
    }  // 80 KiB, and never the last chunk
    auto reply = streaming.read_until_close(2s);
    EXPECT_THAT(reply, ::testing::StartsWith("HTTP/1.1 413")) << reply;
    EXPECT_THAT(reply, HasSubstr("65536 bytes"));
    EXPECT_TRUE(streaming.closed());

    // A chunk announced larger than the limit is refused on its size line, before its data.
    RawClient announced(gateway.admin_port());
    ASSERT_TRUE(announced.send(chunked_post("/v1/connections/dev/ping") + "40000000\r\n"));
    reply = announced.read_until_close(2s);
    EXPECT_THAT(reply, ::testing::StartsWith("HTTP/1.1 413")) << reply;
    EXPECT_TRUE(announced.closed());
    EXPECT_EQ(admin->get("/v1/health").status, 200);
}

// Request line and headers together are bounded (8 KiB): 431, however many lines they take.
TEST_F(AdminApiTest, HeadersAreBoundedInAll) {
    start_all();
    RawClient many(gateway.admin_port());
    std::string request = "GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    for (int i = 0; i < 100; ++i)
        request += "X-Pad-" + std::to_string(i) + ": " + std::string(1000, 'a') + "\r\n";
    many.send(request + "\r\n");
    auto reply = many.read_until_close(2s);
    EXPECT_THAT(reply, ::testing::StartsWith("HTTP/1.1 431")) << reply.substr(0, 200);
    EXPECT_TRUE(many.closed());

    RawClient endless(gateway.admin_port());
    const long before = resident_kib(gateway.pid());
    std::size_t sent = 0;
    if (endless.send("GET /v1/health HTTP/1.1\r\nX-Endless: ")) {
        const std::string piece(1 << 20, 'a');  // one header line that never ends
        while (sent < (64u << 20) && endless.send(piece))
            sent += piece.size();
    }
    EXPECT_LT(sent, 32u << 20) << "the gateway kept reading one header line";
    reply = endless.read_until_close(2s);
    EXPECT_TRUE(endless.closed());
    EXPECT_LT(resident_kib(gateway.pid()) - before, 16 * 1024);
    EXPECT_EQ(admin->get("/v1/health").status, 200);
}

// Each read of a slow client is quick, but the whole request must arrive within 5 s.
TEST_F(AdminApiTest, ARequestThatTricklesIsCutOff) {
    start_all();
    const auto start = SteadyClock::now();
    RawClient slow(gateway.admin_port());
    ASSERT_TRUE(slow.send("GET /v1/health HTTP/1.1\r\nX-Slow: "));
    // The attack's own pace, a byte every 200 ms, until the gateway closes or 10 s pass.
    while (ms_since(start) < 10s && slow.send("a") && !slow.closed_within(200ms)) {
    }
    const auto lasted = ms_since(start);
    EXPECT_TRUE(slow.closed()) << "still open after " << lasted.count() << " ms";
    EXPECT_GE(lasted, 4500ms);
    EXPECT_LT(lasted, 7s);
}

// Stalled clients and Pings to a device that does not answer hold no thread: health and
// metrics answer at once meanwhile, and the Pings still get their 504.
TEST_F(AdminApiTest, HealthAnswersWhileClientsStallAndPingsWait) {
    start_all();
    auto mute = registered("dev-mute");
    mute->go_silent();
    std::vector<std::unique_ptr<RawClient>> stalled;
    for (int i = 0; i < 8; ++i) {
        stalled.push_back(std::make_unique<RawClient>(gateway.admin_port()));
        stalled.back()->send("GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    }
    const std::string body = R"({"timeout_seconds": 3})";
    std::vector<std::unique_ptr<RawClient>> pings;
    for (int i = 0; i < 6; ++i) {
        pings.push_back(std::make_unique<RawClient>(gateway.admin_port()));
        pings.back()->send(
            "POST /v1/connections/dev-mute/ping HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/json\r\nConnection: close\r\n"
            "Content-Length: " +
            std::to_string(body.size()) + "\r\n\r\n" + body);
    }
    auto prompt = [&](const char* path) {
        const auto start = SteadyClock::now();
        EXPECT_EQ(admin->get(path).status, 200) << path;
        EXPECT_LT(ms_since(start), 1s) << path;
    };
    prompt("/v1/health");
    // Every Ping is out (the device's connection counts them), and none answered yet.
    const auto deadline = SteadyClock::now() + 2s;
    while (get_json("/v1/connections/dev-mute")["keepalive"]["pings_sent"] < 6 &&
           SteadyClock::now() < deadline)
        std::this_thread::sleep_for(20ms);
    ASSERT_EQ(get_json("/v1/connections/dev-mute")["keepalive"]["pings_sent"], 6);
    prompt("/v1/health");
    prompt("/metrics");
    for (auto& ping : pings)
        EXPECT_EQ(ping->read_until_close(0ms), "") << "a Ping answered before its timeout";
    for (auto& ping : pings) {
        const auto reply = ping->read_until_close(6s);
        EXPECT_THAT(reply, ::testing::StartsWith("HTTP/1.1 504")) << reply;
        EXPECT_THAT(reply, HasSubstr("no Pong within 3.0 s"));
    }
}

// Connections beyond 64 are closed as soon as they are accepted, before they cost a read.
TEST_F(AdminApiTest, ConnectionsBeyondTheCapAreClosedAtOnce) {
    start_all();
    std::vector<std::unique_ptr<RawClient>> idle;
    for (int i = 0; i < 64; ++i)
        idle.push_back(std::make_unique<RawClient>(gateway.admin_port()));
    RawClient extra(gateway.admin_port());
    EXPECT_TRUE(extra.closed_within(1s)) << "the 65th connection stays open";
    EXPECT_TRUE(gateway.wait_for_log("admin API: 1 connection(s) refused: 64 open, the limit", 2s));
    idle.clear();
    // The slots come back as the gateway sees those connections go.
    const auto deadline = SteadyClock::now() + 3s;
    while (admin->get("/v1/health").status != 200 && SteadyClock::now() < deadline)
        std::this_thread::sleep_for(20ms);
    EXPECT_EQ(admin->get("/v1/health").status, 200);
}

// Kept alive between requests (pipelined ones too), then closed after 1 s without one.
TEST_F(AdminApiTest, AnIdleKeptAliveConnectionIsClosed) {
    start_all();
    RawClient client(gateway.admin_port());
    const std::string get = "GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    ASSERT_TRUE(client.send(get + get));
    const auto start = SteadyClock::now();
    const auto reply = client.read_until_close(4s);
    const auto lasted = ms_since(start);
    EXPECT_TRUE(client.closed());
    EXPECT_GE(lasted, 900ms) << "closed with the answer, not kept alive";
    EXPECT_LT(lasted, 3s);
    const auto second = reply.find("HTTP/1.1 200", 1);
    EXPECT_THAT(reply, ::testing::StartsWith("HTTP/1.1 200")) << reply;
    EXPECT_NE(second, std::string::npos) << "the pipelined request was answered: " << reply;
}

// curl sends Expect: 100-continue before a large body; the body follows the interim answer.
TEST_F(AdminApiTest, ExpectContinueIsAnsweredBeforeTheBody) {
    start_all();
    RawClient client(gateway.admin_port());
    ASSERT_TRUE(
        client.send("POST /v1/connections/nobody/ping HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    "Expect: 100-continue\r\nContent-Length: 2\r\n"
                    "Connection: close\r\n\r\n"));
    EXPECT_FALSE(client.closed_within(300ms));
    ASSERT_THAT(client.read_until_close(0ms), ::testing::StartsWith("HTTP/1.1 100 Continue"));
    ASSERT_TRUE(client.send("{}"));
    EXPECT_THAT(client.read_until_close(2s), HasSubstr("HTTP/1.1 404"));
}

// An answer that names something not UTF-8 (here a percent-decoded path) is still JSON.
TEST_F(AdminApiTest, AnswersNamingInvalidUtf8AreStillJson) {
    start_all();
    auto r = admin->get("/v1/connections/dev-%FF");
    EXPECT_EQ(r.status, 404) << r.body;
    const auto j = r.json();
    ASSERT_FALSE(j.is_discarded()) << r.body;
    EXPECT_THAT(j["error"].get<std::string>(), HasSubstr("dev-\xef\xbf\xbd"));
    r = admin->post("/v1/connections/%C3%28/ping");
    EXPECT_EQ(r.status, 404) << r.body;
}

TEST(AdminConfigTest, NonLoopbackWithoutTokenIsRefusedAtLoad) {
    harness::TempDir dir;
    const auto path = dir.write_file("open.yaml",
                                     "listeners:\n"
                                     "  - uri: coap+tcp://127.0.0.1:0\n"
                                     "admin:\n"
                                     "  listen: 0.0.0.0:0\n");  // line 4
    auto r = harness::run_process({LWGATE_BINARY, "--check-config", path.string()}, 10s);
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_THAT(r.out + r.err, HasSubstr("line 4: admin.listen"));
    r = harness::run_process({LWGATE_BINARY, "--config", path.string()}, 10s);
    EXPECT_EQ(r.exit_code, 1) << "the gateway does not start";
    EXPECT_THAT(r.out, ::testing::Not(HasSubstr("ready")));
}

TEST(AdminConfigTest, AdminOffPrintsNoAdminLine) {
    harness::GatewayConfig config;
    config.admin_listen = "off";
    harness::GatewayProcess gateway;
    gateway.start(LWGATE_BINARY, config.yaml());
    EXPECT_EQ(gateway.admin_url(), "");
    EXPECT_EQ(gateway.admin_port(), 0);
    EXPECT_EQ(gateway.stop(10s), 0);
}

}  // namespace
}  // namespace lwgate::integration
