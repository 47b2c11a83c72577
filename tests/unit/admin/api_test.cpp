// The admin API's operations against a fake Backend: no HTTP, no shards.
#include "admin/api.hpp"

#include <gmock/gmock.h>

#include "snapshot_builder.hpp"
#include "unit/admin/no_backend.hpp"

namespace lwgate::admin {
namespace {

using namespace test;
using nlohmann::json;
using ::testing::HasSubstr;

class FakeBackend final : public NoBackend {
  public:
    FakeBackend() {
        snapshot = test::snapshot();
        actions_succeed = true;
    }
    void start_ping(unsigned shard, std::uint64_t id, Duration timeout, PingDone done) override {
        pings.push_back({shard, id, timeout, std::move(done)});
    }

    struct Ping {
        unsigned shard;
        std::uint64_t id;
        Duration timeout;
        PingDone done;
    };
    std::vector<Ping> pings;
};

ApiRequest request(std::string method, std::string path, std::string body = {}) {
    return {std::move(method), std::move(path), {}, std::move(body), "127.0.0.1:50000"};
}

// The answer of a request that is not deferred.
Reply now(Api& api, const ApiRequest& r) {
    auto outcome = api.handle(r, [](Reply) { ADD_FAILURE() << "answered later"; });
    EXPECT_TRUE(std::holds_alternative<Reply>(outcome));
    return std::holds_alternative<Reply>(outcome) ? std::get<Reply>(outcome) : Reply{};
}

// An endpoint name restored from an old store may not be UTF-8; nlohmann's dump() throws on
// it, which turned every answer naming it into a 500.
TEST(AdminApi, InvalidUtf8IsReplacedInsteadOfFailingTheAnswer) {
    FakeBackend backend;
    const std::string bad = "dev-\xff\xfe";
    backend.snapshot.shards[0].connections = {connection(1, bad)};
    backend.snapshot.shards[0].devices = {device(bad, 1)};
    Api api("", backend);
    const std::string replaced = "dev-\xef\xbf\xbd\xef\xbf\xbd";  // U+FFFD twice

    auto r = now(api, request("GET", "/v1/connections"));
    ASSERT_EQ(r.status, 200) << r.body;
    auto j = json::parse(r.body);
    EXPECT_EQ(j["connections"][0]["endpoint"], replaced);

    r = now(api, request("GET", "/v1/connections/dev-%FF%FE"));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(json::parse(r.body)["endpoint"], replaced);

    r = now(api, request("GET", "/v1/connections/%C3%28"));  // not UTF-8, and unknown
    EXPECT_EQ(r.status, 404);
    EXPECT_THAT(json::parse(r.body)["error"].get<std::string>(), HasSubstr("\xef\xbf\xbd("));
    EXPECT_EQ(now(api, request("GET", "/v1/health")).status, 200);
}

TEST(AdminApi, DumpJsonReplacesInvalidUtf8) {
    EXPECT_EQ(dump_json(json{{"a", "x\x80y"}}), "{\"a\":\"x\xef\xbf\xbdy\"}");
    EXPECT_EQ(dump_json(json{{"a", "caf\xc3\xa9"}}), "{\"a\":\"caf\xc3\xa9\"}") << "valid stays";
}

// A Ping answers from the shard's completion: handle() returns at once, nothing waits.
TEST(AdminApi, PingAnswersLaterFromTheCompletion) {
    FakeBackend backend;
    backend.snapshot.shards[0].connections = {connection(7, "dev")};
    backend.snapshot.shards[0].devices = {device("dev", 7)};
    Api api("", backend);
    std::vector<Reply> later;
    auto outcome =
        api.handle(request("POST", "/v1/connections/dev/ping", R"({"timeout_seconds": 0.3})"),
                   [&](Reply r) { later.push_back(std::move(r)); });
    ASSERT_TRUE(std::holds_alternative<Deferred>(outcome));
    const auto& deferred = std::get<Deferred>(outcome);
    EXPECT_EQ(deferred.deadline, Duration(2'300)) << "the Ping's timeout and a busy shard's 2 s";
    EXPECT_EQ(deferred.fallback.status, 504);
    EXPECT_THAT(deferred.fallback.body, HasSubstr("no Pong within 0.3 s"));
    ASSERT_EQ(backend.pings.size(), 1u);
    EXPECT_EQ(backend.pings[0].id, 7u);
    EXPECT_EQ(backend.pings[0].timeout, Duration(300));
    EXPECT_TRUE(later.empty());

    using Outcome = session::AdminPingResult::Outcome;
    backend.pings[0].done(session::AdminPingResult{Outcome::pong, session::Rtt(1'234)});
    ASSERT_EQ(later.size(), 1u);
    EXPECT_EQ(later[0].status, 200);
    EXPECT_EQ(json::parse(later[0].body)["rtt_seconds"], 0.001234);
}

// ?by=endpoint on every route of one device: the segment is the endpoint's name even when it
// reads id:N; any other value of `by` is refused before anything is looked up or done.
TEST(AdminApi, ByEndpointNamesAnEndpointThatReadsLikeAConnectionId) {
    FakeBackend backend;
    backend.snapshot.shards[0].connections = {connection(7, "id:3"), connection(3, "other")};
    backend.snapshot.shards[0].devices = {device("id:3", 7), device("other", 3)};
    Api api("", backend);
    auto with_by = [](std::string method, std::string path, std::string by) {
        auto r = request(std::move(method), std::move(path));
        r.query = {{"by", std::move(by)}};
        return r;
    };
    auto shown = now(api, with_by("GET", "/v1/connections/id:3", "endpoint"));
    ASSERT_EQ(shown.status, 200) << shown.body;
    EXPECT_EQ(json::parse(shown.body)["connection"]["id"], 7);
    EXPECT_EQ(json::parse(now(api, request("GET", "/v1/connections/id:3")).body)["endpoint"],
              "other")
        << "without by, id:3 is connection 3";
    auto closed = now(api, with_by("POST", "/v1/connections/id:3/close", "endpoint"));
    EXPECT_EQ(closed.status, 202) << closed.body;
    EXPECT_EQ(json::parse(closed.body)["id"], 7);
    api.handle(with_by("POST", "/v1/connections/id%3A3/ping", "endpoint"), [](Reply) {});
    ASSERT_EQ(backend.pings.size(), 1u);
    EXPECT_EQ(backend.pings[0].id, 7u);
    EXPECT_EQ(now(api, with_by("GET", "/v1/connections/id:3", "name")).status, 400);
    EXPECT_EQ(now(api, with_by("POST", "/v1/connections/id:3/release", "")).status, 400);
}

TEST(AdminApi, PingOutcomes) {
    FakeBackend backend;
    backend.snapshot.shards[0].connections = {connection(7, "dev")};
    backend.snapshot.shards[0].devices = {device("dev", 7), device("zz", std::nullopt, true)};
    Api api("", backend);
    using Outcome = session::AdminPingResult::Outcome;
    const std::vector<std::pair<std::optional<session::AdminPingResult>, int>> cases = {
        {session::AdminPingResult{Outcome::timeout, {}}, 504},
        {session::AdminPingResult{Outcome::closed, {}}, 409},
        {std::nullopt, 409},
    };
    for (const auto& [result, status] : cases) {
        Reply answer;
        api.handle(request("POST", "/v1/connections/dev/ping"), [&](Reply r) { answer = r; });
        backend.pings.back().done(result);
        EXPECT_EQ(answer.status, status) << answer.body;
    }
    EXPECT_EQ(backend.pings.back().timeout, Duration(5'000)) << "the default";
    EXPECT_EQ(now(api, request("POST", "/v1/connections/zz/ping")).status, 409);
    EXPECT_EQ(now(api, request("POST", "/v1/connections/nobody/ping")).status, 404);
    EXPECT_EQ(now(api, request("POST", "/v1/connections/dev/ping", "[1]")).status, 400);
    EXPECT_EQ(backend.pings.size(), 3u) << "no Ping for a refused request";
}

// The Ping's timeout in seconds like every duration of the API; its earlier name in
// milliseconds still works, and the seconds win when both come.
TEST(AdminApi, PingTimeoutInSecondsAndItsEarlierName) {
    FakeBackend backend;
    backend.snapshot.shards[0].connections = {connection(7, "dev")};
    backend.snapshot.shards[0].devices = {device("dev", 7)};
    Api api("", backend);
    const auto timeout_of = [&](const std::string& body) {
        api.handle(request("POST", "/v1/connections/dev/ping", body), [](Reply) {});
        return backend.pings.back().timeout;
    };
    EXPECT_EQ(timeout_of(R"({"timeout_seconds": 2})"), Duration(2'000));
    EXPECT_EQ(timeout_of(R"({"timeout_seconds": 0.25})"), Duration(250));
    EXPECT_EQ(timeout_of(R"({"timeout_seconds": 0})"), Duration(5'000)) << "0: the default";
    EXPECT_EQ(timeout_of(R"({"timeout_ms": 1500})"), Duration(1'500));
    EXPECT_EQ(timeout_of(R"({"timeout_seconds": 3, "timeout_ms": 1500})"), Duration(3'000));
    const auto pings = backend.pings.size();
    for (const char* bad : {R"({"timeout_seconds": -1})", R"({"timeout_seconds": 61})",
                            R"({"timeout_seconds": "5"})", R"({"timeout_ms": 60001})"}) {
        const auto r = now(api, request("POST", "/v1/connections/dev/ping", bad));
        EXPECT_EQ(r.status, 400) << bad;
        EXPECT_THAT(r.body, HasSubstr("timeout_")) << bad;
    }
    EXPECT_EQ(backend.pings.size(), pings) << "no Ping for a refused request";
}

TEST(AdminApi, TokenIsCheckedOnTheHeaderAlone) {
    FakeBackend backend;
    Api open("", backend);
    EXPECT_FALSE(open.refuse(""));
    Api guarded("s3cret", backend);
    EXPECT_FALSE(guarded.refuse("Bearer s3cret"));
    auto missing = guarded.refuse("");
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->status, 401);
    EXPECT_TRUE(missing->challenge);
    EXPECT_THAT(missing->body, HasSubstr("missing bearer token"));
    auto wrong = guarded.refuse("Bearer nope");
    ASSERT_TRUE(wrong);
    EXPECT_THAT(wrong->body, HasSubstr("wrong bearer token"));
}

TEST(AdminApi, ProbesAreHealthAndMetrics) {
    EXPECT_TRUE(Api::is_probe("GET", "/v1/health"));
    EXPECT_TRUE(Api::is_probe("GET", "/metrics"));
    EXPECT_FALSE(Api::is_probe("GET", "/v1/connections"));
    EXPECT_FALSE(Api::is_probe("POST", "/v1/connections/dev/ping"));
    EXPECT_FALSE(Api::is_probe("POST", "/v1/health")) << "405 is not a probe's work";
}

TEST(AdminApi, OperationsAndErrors) {
    FakeBackend backend;
    backend.snapshot.shards[0].connections = {connection(7, "dev")};
    backend.snapshot.shards[0].devices = {device("dev", 7)};
    Api api("", backend);
    EXPECT_EQ(now(api, request("POST", "/v1/connections/dev/release")).status, 202);
    EXPECT_EQ(now(api, request("POST", "/v1/connections/dev/close")).status, 202);
    auto r = now(api, request("DELETE", "/v1/health"));
    EXPECT_EQ(r.status, 405);
    EXPECT_EQ(r.allow, "GET");
    EXPECT_EQ(now(api, request("GET", "/v2/x")).status, 404);
    r = now(api, request("GET", "/metrics"));
    EXPECT_EQ(r.status, 200);
    EXPECT_THAT(r.content_type, HasSubstr("text/plain; version=0.0.4"));
    auto query = request("GET", "/v1/connections");
    query.query = {{"state", "zombie"}};
    EXPECT_EQ(now(api, query).status, 400);
    EXPECT_EQ(now(api, request("POST", "/v1/drain")).status, 202);
    EXPECT_EQ(backend.drains, 1);
}

TEST(AdminApi, ClusterView) {
    FakeBackend backend;
    Api api("", backend);
    auto r = now(api, request("GET", "/v1/cluster"));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(nlohmann::json::parse(r.body), nlohmann::json({{"enabled", false}}));
    backend.snapshot.cluster.enabled = true;
    backend.snapshot.cluster.instance = "gw-a";
    r = now(api, request("GET", "/v1/cluster"));
    EXPECT_EQ(r.status, 200);
    const auto j = nlohmann::json::parse(r.body);
    EXPECT_EQ(j["instance"], "gw-a");
    EXPECT_EQ(j["instances"], nlohmann::json::array()) << "the fake lists no instance";
    r = now(api, request("POST", "/v1/cluster"));
    EXPECT_EQ(r.status, 405);
    EXPECT_EQ(r.allow, "GET");
}

}  // namespace
}  // namespace lwgate::admin
