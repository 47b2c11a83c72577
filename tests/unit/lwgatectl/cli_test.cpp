// lwgatectl's commands end to end against a fake admin API on loopback: the requests it sends,
// what it prints, and its exit codes (ok / degraded / failing / unreachable / refused / 401).
#include "src/cli.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include <nlohmann/json.hpp>

#include "fake_admin.hpp"
#include "run_ctl.hpp"

namespace lwgate::ctl {
namespace {

using testing::CtlResult;
using testing::run_ctl;

using testing::FakeAdmin;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string health(const char* status) {
    return std::string(R"({"status":")") + status +
           R"(","reasons":[],"version":"0.1.0","uptime_seconds":12,"draining":false,
              "connections":1,"registered":1,"listeners":[{"uri":"coap+tcp://127.0.0.1:1","up":true}],
              "core":{"uri":"coap://127.0.0.1:2","reachable":true,"last_response_seconds_ago":1.0,
              "failures_total":0}})";
}

// A port that refuses connections for as long as the object lives: bound, never listening.
class RefusingPort {
  public:
    RefusingPort() {
        fd_ = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        socklen_t len = sizeof a;
        getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
    }
    ~RefusingPort() { ::close(fd_); }
    std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  private:
    int fd_ = -1;
    int port_ = 0;
};

class CliTest : public ::testing::Test {
  protected:
    void SetUp() override {
        unsetenv("LWGATE_ADMIN");
        unsetenv("LWGATE_TOKEN");
    }
    CtlResult ctl(std::vector<std::string> args) {
        args.insert(args.begin(), {"--admin", admin.address()});
        return run_ctl(std::move(args));
    }
    FakeAdmin admin;
};

TEST_F(CliTest, StatusExitCodeFollowsHealth) {
    admin.set("GET /v1/health", 200, health("ok"));
    auto ok = ctl({"status"});
    EXPECT_EQ(ok.code, 0) << ok.err;
    EXPECT_THAT(ok.out, StartsWith("lwgate 0.1.0: ok, up 12s\n"));
    EXPECT_EQ(ok.err, "");

    admin.set("GET /v1/health", 200, health("degraded"));
    EXPECT_EQ(ctl({"status"}).code, 1);

    admin.set("GET /v1/health", 503, health("failing"));
    auto failing = ctl({"status"});
    EXPECT_EQ(failing.code, 2);
    EXPECT_THAT(failing.out, HasSubstr("failing"));
}

TEST_F(CliTest, StatusJsonIsTheRawBody) {
    admin.set("GET /v1/health", 200, health("ok"));
    auto r = ctl({"status", "--json"});
    EXPECT_EQ(r.code, 0);
    EXPECT_EQ(r.out, health("ok") + "\n");
    EXPECT_EQ(nlohmann::json::parse(r.out)["status"], "ok");
}

// --json is global: before the command, after it, or before the other global options.
TEST_F(CliTest, JsonBeforeOrAfterTheCommand) {
    admin.set("GET /v1/health", 200, health("degraded"));
    admin.set("POST /v1/connections/dev-1/ping", 200, R"({"rtt_seconds":0.00038})");
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"--json", "status"}, {"status", "--json"}, {"--json", "status", "--json"}}) {
        auto r = ctl(args);
        EXPECT_EQ(r.code, 1) << args.front() << ": " << r.err;
        EXPECT_EQ(r.out, health("degraded") + "\n") << args.front();
    }
    auto first = run_ctl({"--json", "--admin", admin.address(), "status"});
    EXPECT_EQ(first.out, health("degraded") + "\n") << first.err;
    auto ping = ctl({"--json", "ping", "dev-1", "--timeout", "2s"});
    EXPECT_EQ(ping.code, 0) << ping.err;
    EXPECT_EQ(ping.out, "{\"rtt_seconds\":0.00038}\n");
}

TEST_F(CliTest, StatusWithoutAStatusFieldIsFailing) {
    admin.set("GET /v1/health", 200, "<html>not lwgate</html>");
    auto r = ctl({"status"});
    EXPECT_EQ(r.code, 2);
    EXPECT_THAT(r.err, StartsWith("lwgatectl: status: "));
}

TEST(CliUnreachable, OneLineErrorAndExit2) {
    unsetenv("LWGATE_TOKEN");
    RefusingPort port;
    for (const char* command : {"status", "connections", "drain"}) {
        auto r = run_ctl({"--admin", port.address(), command});
        EXPECT_EQ(r.code, 2) << command;
        EXPECT_EQ(r.err, "lwgatectl: cannot reach lwgate admin at " + port.address() +
                             ": connection refused\n");
        EXPECT_EQ(r.out, "");
    }
    auto show = run_ctl({"--admin", port.address(), "show", "dev-1"});
    EXPECT_EQ(show.code, 2);
}

TEST(CliUnreachable, AdminFromEnvironment) {
    RefusingPort port;
    setenv("LWGATE_ADMIN", port.address().c_str(), 1);
    auto r = run_ctl({"status"});
    unsetenv("LWGATE_ADMIN");
    EXPECT_EQ(r.code, 2);
    EXPECT_THAT(r.err, HasSubstr("at " + port.address() + ": connection refused"));
}

TEST(CliUsage, BadAdminAddressIsAUsageError) {
    auto r = run_ctl({"--admin", "nonsense", "status"});
    EXPECT_EQ(r.code, 2);
    EXPECT_THAT(r.err, HasSubstr("bad admin address 'nonsense'"));
}

TEST(CliUsage, HelpForEveryCommand) {
    auto top = run_ctl({"--help"});
    EXPECT_EQ(top.code, 0);
    for (const char* command : {"status", "connections", "show", "ping", "release", "close",
                                "drain", "watch", "cluster", "reload"}) {
        EXPECT_THAT(top.out, HasSubstr(command));
        auto r = run_ctl({command, "--help"});
        EXPECT_EQ(r.code, 0) << command;
        EXPECT_THAT(r.out, HasSubstr("Usage")) << command;
        EXPECT_THAT(r.out, HasSubstr("--json")) << command;
    }
    EXPECT_THAT(run_ctl({"ping", "--help"}).out, HasSubstr("--timeout"));
    EXPECT_THAT(run_ctl({"release", "--help"}).out, HasSubstr("--hold-off"));
    EXPECT_THAT(run_ctl({"connections", "--help"}).out, HasSubstr("--state"));
}

TEST(CliUsage, BadArgumentsExit2) {
    EXPECT_EQ(run_ctl({}).code, 2) << "a command is required";
    EXPECT_EQ(run_ctl({"frobnicate"}).code, 2);
    EXPECT_EQ(run_ctl({"show"}).code, 2) << "endpoint is required";
    auto state = run_ctl({"connections", "--state", "asleep"});
    EXPECT_EQ(state.code, 2);
    EXPECT_THAT(state.err, HasSubstr("unknown state 'asleep'"));
    auto timeout = run_ctl({"ping", "dev-1", "--timeout", "5"});
    EXPECT_EQ(timeout.code, 2);
    EXPECT_THAT(timeout.err, HasSubstr("not a duration"));
    EXPECT_EQ(run_ctl({"connections", "--transport", "udp"}).code, 2);
}

TEST(CliUsage, AnUnknownCommandIsNamedNotMissing) {
    const std::string expected =
        "lwgatectl: unknown command 'bogus' (commands: status, connections, show, ping, release, "
        "close, drain, watch, cluster, reload, config, credentials; see lwgatectl --help)\n";
    auto r = run_ctl({"bogus"});
    EXPECT_EQ(r.code, 2);
    EXPECT_EQ(r.err, expected);
    EXPECT_EQ(r.out, "");
    auto after_options = run_ctl({"--admin", "127.0.0.1:1", "--json", "bogus", "dev-1"});
    EXPECT_EQ(after_options.code, 2);
    EXPECT_EQ(after_options.err, expected);
    auto none = run_ctl({"--json"});
    EXPECT_EQ(none.code, 2);
    EXPECT_THAT(none.err, HasSubstr("A subcommand is required"));
}

TEST(CliUsage, Version) {
    auto r = run_ctl({"--version"});
    EXPECT_EQ(r.code, 0);
    EXPECT_THAT(r.out, StartsWith("lwgatectl "));
}

TEST(CliToken, MissingTokenIs401AndFailingForStatus) {
    FakeAdmin admin("s3cret");
    admin.set("GET /v1/health", 200, health("ok"));
    admin.set("POST /v1/drain", 202, R"({"draining":true})");
    auto r = run_ctl({"--admin", admin.address(), "status"});
    EXPECT_EQ(r.code, 2);
    EXPECT_EQ(r.err,
              "lwgatectl: status: missing or wrong bearer token (HTTP 401); set --token or "
              "LWGATE_TOKEN\n");
    auto drain = run_ctl({"--admin", admin.address(), "drain"});
    EXPECT_EQ(drain.code, 1) << "a refused request";
    EXPECT_EQ(admin.requests().back().authorization, "");

    EXPECT_EQ(run_ctl({"--admin", admin.address(), "--token", "wrong", "status"}).code, 2);
    EXPECT_EQ(run_ctl({"--admin", admin.address(), "--token", "s3cret", "status"}).code, 0);
    EXPECT_EQ(admin.requests().back().authorization, "Bearer s3cret");
    // Options of the top level may follow the command.
    EXPECT_EQ(run_ctl({"status", "--admin", admin.address(), "--token", "s3cret"}).code, 0);

    setenv("LWGATE_TOKEN", "s3cret", 1);
    auto env = run_ctl({"--admin", admin.address(), "drain"});
    unsetenv("LWGATE_TOKEN");
    EXPECT_EQ(env.code, 0) << env.err;
    EXPECT_EQ(env.out, "draining\n");
}

const char* kConnections = R"({"count":2,"connections":[
  {"id":17,"endpoint":"dev-1","state":"half_open","transport":"tcp","remote":"127.0.0.1:40212",
   "connected_seconds":3.5,"idle_seconds":1.0,"last_rtt_seconds":0.00041,"registered":true,
   "queue_mode":false,"queued":0,"observations":1,"shard":0,"flapping":false},
  {"id":null,"endpoint":"dev-2","state":"sleeping","transport":null,"remote":null,
   "connected_seconds":null,"idle_seconds":null,"last_rtt_seconds":null,"registered":true,
   "queue_mode":true,"queued":2,"observations":0,"shard":1,"flapping":false}]})";

TEST_F(CliTest, ConnectionsSendsFiltersAndPrintsATable) {
    admin.set("GET /v1/connections", 200, kConnections);
    auto r = ctl({"connections", "--state", "half-open", "--endpoint", "urn:imei:", "--transport",
                  "tcp", "--remote", "10.0.0.1"});
    EXPECT_EQ(r.code, 0) << r.err;
    const auto req = admin.requests().back();
    EXPECT_EQ(req.method, "GET");
    EXPECT_EQ(req.path, "/v1/connections");
    EXPECT_EQ(req.params, (std::multimap<std::string, std::string>{{"endpoint", "urn:imei:"},
                                                                   {"remote", "10.0.0.1"},
                                                                   {"state", "half_open"},
                                                                   {"transport", "tcp"}}));
    EXPECT_THAT(r.out, StartsWith("ENDPOINT  STATE      TRANSPORT"));
    EXPECT_THAT(r.out, HasSubstr("\ndev-1     half_open  tcp        127.0.0.1:40212"));
    EXPECT_THAT(r.out, HasSubstr("\ndev-2     sleeping   -"));
    EXPECT_THAT(r.out, HasSubstr("2 connection(s): 1 half_open, 1 sleeping\n"));
}

TEST_F(CliTest, ConnectionsWithoutFiltersAndAsJson) {
    admin.set("GET /v1/connections", 200, kConnections);
    auto r = ctl({"conns", "--json"});
    EXPECT_EQ(r.code, 0);
    EXPECT_TRUE(admin.requests().back().params.empty());
    EXPECT_EQ(nlohmann::json::parse(r.out)["count"], 2);
}

TEST_F(CliTest, ShowEncodesTheEndpointAndReports404) {
    admin.set("GET /v1/connections/urn:imei:42", 200,
              R"({"endpoint":"urn:imei:42","state":"active","connection":null})");
    auto r = ctl({"show", "urn:imei:42"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("endpoint      urn:imei:42\n"));

    auto missing = ctl({"show", "dev 9"});
    EXPECT_EQ(missing.code, 1);
    EXPECT_EQ(admin.requests().back().path, "/v1/connections/dev 9") << "sent as dev%209";
    EXPECT_EQ(missing.err, "lwgatectl: dev 9: not found (HTTP 404)\n");
}

// An endpoint may be called "id:7": --by-endpoint asks for it by name (?by=endpoint) on every
// command of one device; without the flag nothing is added, and id:7 stays connection 7.
TEST_F(CliTest, ByEndpointNamesAnEndpointThatReadsLikeAConnectionId) {
    admin.set("GET /v1/connections/id:7", 200,
              R"({"endpoint":"id:7","state":"active","connection":null})");
    admin.set("POST /v1/connections/id:7/ping", 200, R"({"rtt_seconds":0.001})");
    admin.set("POST /v1/connections/id:7/release", 202, R"({"released":true})");
    admin.set("POST /v1/connections/id:7/close", 202, R"({"closed":true})");
    const std::multimap<std::string, std::string> by{{"by", "endpoint"}};
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"show", "id:7", "--by-endpoint"},
          {"ping", "--by-endpoint", "id:7"},
          {"release", "id:7", "--by-endpoint"},
          {"close", "id:7", "--by-endpoint"}}) {
        const auto r = ctl(args);
        EXPECT_EQ(r.code, 0) << args[0] << ": " << r.err;
        EXPECT_EQ(admin.requests().back().params, by) << args[0];
    }
    EXPECT_EQ(ctl({"show", "id:7"}).code, 0);
    EXPECT_TRUE(admin.requests().back().params.empty());
}

TEST_F(CliTest, PingSendsTheTimeoutAndPrintsTheRtt) {
    admin.set("POST /v1/connections/dev-1/ping", 200, R"({"rtt_seconds":0.00038})");
    auto r = ctl({"ping", "dev-1", "--timeout", "2s"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "pong from dev-1 in 0.38ms\n");
    EXPECT_EQ(nlohmann::json::parse(admin.requests().back().body),
              nlohmann::json({{"timeout_seconds", 2.0}}));

    admin.set("POST /v1/connections/dev-1/ping", 504, R"({"error":"no Pong within 2000 ms"})");
    auto timeout = ctl({"ping", "dev-1", "--timeout", "2s"});
    EXPECT_EQ(timeout.code, 1);
    EXPECT_EQ(timeout.err, "lwgatectl: ping dev-1: no Pong within 2000 ms (HTTP 504)\n");

    admin.set("POST /v1/connections/dev-1/ping", 409, R"({"error":"dev-1 has no connection"})");
    EXPECT_EQ(ctl({"ping", "dev-1"}).code, 1);
    EXPECT_EQ(nlohmann::json::parse(admin.requests().back().body)["timeout_seconds"], 5.0);
}

TEST_F(CliTest, ReleaseWithAlternativeAddressAndHoldOff) {
    admin.set("POST /v1/connections/dev-1/release", 202, R"({"released":true})");
    auto r = ctl({"release", "dev-1", "--alt", "coap+tcp://10.0.0.2:5683", "--hold-off", "30s"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "released dev-1\n");
    EXPECT_EQ(nlohmann::json::parse(admin.requests().back().body),
              nlohmann::json(
                  {{"alternative_address", "coap+tcp://10.0.0.2:5683"}, {"hold_off_seconds", 30}}));
    EXPECT_EQ(ctl({"release", "dev-1"}).code, 0);
    EXPECT_EQ(admin.requests().back().body, "{}");
}

TEST_F(CliTest, CloseAndDrain) {
    admin.set("POST /v1/connections/dev-1/close", 202, R"({"closed":true})");
    admin.set("POST /v1/drain", 202, R"({"draining":true})");
    auto c = ctl({"close", "dev-1"});
    EXPECT_EQ(c.code, 0);
    EXPECT_EQ(c.out, "closed dev-1\n");
    EXPECT_EQ(admin.requests().back().method, "POST");
    auto d = ctl({"drain", "--json"});
    EXPECT_EQ(d.code, 0);
    EXPECT_EQ(d.out, "{\"draining\":true}\n");
    EXPECT_EQ(ctl({"close", "dev-2"}).code, 1) << "404 from the gateway";
}

TEST_F(CliTest, WatchRefreshesUntilItsCount) {
    admin.set("GET /v1/health", 200, health("ok"));
    admin.set("GET /v1/connections", 200, kConnections);
    auto r = ctl({"watch", "--interval", "100ms", "--count", "2"});
    EXPECT_EQ(r.code, 0) << r.err;
    std::size_t screens = 0;
    for (auto pos = r.out.find("lwgatectl watch"); pos != std::string::npos;
         pos = r.out.find("lwgatectl watch", pos + 1))
        ++screens;
    EXPECT_EQ(screens, 2u);
    EXPECT_THAT(r.out, HasSubstr("dev-1"));
    EXPECT_EQ(r.out.find("\x1b[2J"), std::string::npos) << "no screen clearing off a terminal";

    auto json = ctl({"watch", "--interval", "100ms", "--count", "1", "--json"});
    EXPECT_EQ(nlohmann::json::parse(json.out)["health"]["status"], "ok");
}

}  // namespace
}  // namespace lwgate::ctl
