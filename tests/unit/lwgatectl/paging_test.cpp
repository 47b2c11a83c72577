// `lwgatectl connections` over a paginated GET /v1/connections: it follows `next` to the last
// page (a table or one JSON document of every row), or shows one page with --limit / --after.
// A fake admin API on loopback answers each cursor with its own page.
#include <httplib.h>

#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "run_ctl.hpp"
#include "src/cli.hpp"

namespace lwgate::ctl {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using Params = std::multimap<std::string, std::string>;

json row(const std::string& endpoint, const std::string& state) {
    return {{"id", 1},           {"endpoint", endpoint}, {"state", state},     {"transport", "tcp"},
            {"remote", nullptr}, {"registered", true},   {"queued", 0},        {"observations", 0},
            {"shard", 0},        {"flapping", false},    {"queue_mode", false}};
}

json page(std::vector<json> rows, json next, int total = 5) {
    json out{{"count", rows.size()}, {"total", total}, {"next", std::move(next)}};
    out["connections"] = std::move(rows);
    return out;
}

// Pages by cursor: "" is the first page.
class PagedAdmin {
  public:
    PagedAdmin() {
        pages_[""] = {200, page({row("dev-1", "active"), row("dev-2", "active")}, "c1")};
        pages_["c1"] = {200, page({row("dev-3", "sleeping"), row("dev-4", "active")}, "c2")};
        pages_["c2"] = {200, page({row("dev-5", "away")}, nullptr)};
        server_.Get("/v1/connections", [this](const httplib::Request& req, httplib::Response& res) {
            std::lock_guard lock(mutex_);
            requests_.emplace_back(req.params.begin(), req.params.end());
            const auto it = pages_.find(req.get_param_value("after"));
            const auto& [status, body] =
                it == pages_.end() ? std::pair{400, json{{"error", "bad after"}}} : it->second;
            res.status = status;
            res.set_content(body.dump(), "application/json");
        });
        port_ = server_.bind_to_any_port("127.0.0.1");
        thread_ = std::thread([this] { server_.listen_after_bind(); });
    }
    ~PagedAdmin() {
        server_.stop();
        thread_.join();
    }
    void set(const std::string& after, int status, json body) {
        std::lock_guard lock(mutex_);
        pages_[after] = {status, std::move(body)};
    }
    std::vector<Params> requests() {
        std::lock_guard lock(mutex_);
        return requests_;
    }
    std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  private:
    httplib::Server server_;
    int port_ = -1;
    std::thread thread_;
    std::mutex mutex_;
    std::map<std::string, std::pair<int, json>> pages_;
    std::vector<Params> requests_;
};

class PagingTest : public ::testing::Test {
  protected:
    void SetUp() override {
        unsetenv("LWGATE_ADMIN");
        unsetenv("LWGATE_TOKEN");
    }
    testing::CtlResult ctl(std::vector<std::string> args) {
        args.insert(args.begin(), {"--admin", admin.address()});
        return testing::run_ctl(std::move(args));
    }
    PagedAdmin admin;
};

TEST_F(PagingTest, FollowsNextToTheLastPage) {
    auto r = ctl({"connections", "--state", "active"});
    ASSERT_EQ(r.code, 0) << r.err;
    for (const char* endpoint : {"dev-1", "dev-2", "dev-3", "dev-4", "dev-5"})
        EXPECT_THAT(r.out, HasSubstr("\n" + std::string(endpoint) + " ")) << r.out;
    EXPECT_EQ(r.out.find("ENDPOINT"), 0u) << "one table, one header";
    EXPECT_EQ(r.out.find("ENDPOINT", 1), std::string::npos);
    EXPECT_THAT(r.out, HasSubstr("5 connection(s): 3 active, 1 away, 1 sleeping\n"));
    EXPECT_THAT(r.out, ::testing::Not(HasSubstr("more")));
    const auto requests = admin.requests();
    ASSERT_EQ(requests.size(), 3u);
    EXPECT_EQ(requests[0], (Params{{"state", "active"}}));
    EXPECT_EQ(requests[1], (Params{{"after", "c1"}, {"state", "active"}})) << "filters kept";
    EXPECT_EQ(requests[2], (Params{{"after", "c2"}, {"state", "active"}}));
}

TEST_F(PagingTest, EveryPageAsOneJsonDocument) {
    auto r = ctl({"connections", "--json"});
    ASSERT_EQ(r.code, 0) << r.err;
    const auto j = json::parse(r.out);
    EXPECT_EQ(j["count"], 5);
    EXPECT_EQ(j["total"], 5);
    EXPECT_TRUE(j["next"].is_null());
    ASSERT_EQ(j["connections"].size(), 5u);
    EXPECT_EQ(j["connections"][0]["endpoint"], "dev-1");
    EXPECT_EQ(j["connections"][4]["endpoint"], "dev-5");
}

TEST_F(PagingTest, LimitAndAfterShowOnePage) {
    auto r = ctl({"connections", "--limit", "2"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("2 connection(s): 2 active (more pages; 5 in all)\n"));
    EXPECT_THAT(r.out, HasSubstr("more: --after c1\n"));
    EXPECT_EQ(admin.requests().back(), (Params{{"limit", "2"}}));
    ASSERT_EQ(admin.requests().size(), 1u);

    r = ctl({"connections", "--after", "c1", "--json"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(json::parse(r.out)["next"], "c2") << "the page as the API answered it";
    EXPECT_EQ(admin.requests().back(), (Params{{"after", "c1"}}));

    EXPECT_EQ(ctl({"connections", "--limit", "0"}).code, 2);
    EXPECT_EQ(ctl({"connections", "--limit", "10001"}).code, 2);
    EXPECT_EQ(admin.requests().size(), 2u) << "usage errors send nothing";
}

TEST_F(PagingTest, AFailedOrEndlessPageIsAnError) {
    admin.set("c1", 400, json{{"error", "after must be the `next` of a previous page"}});
    auto r = ctl({"connections"});
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.err, HasSubstr("after must be the `next` of a previous page (HTTP 400)"));

    admin.set("c1", 200, page({row("dev-3", "active")}, "c1"));
    r = ctl({"connections", "--json"});
    EXPECT_EQ(r.code, 1);
    EXPECT_THAT(r.err, HasSubstr("repeated the cursor c1"));
}

}  // namespace
}  // namespace lwgate::ctl
