// POST /v1/reload against a fake Backend: the body's dry_run, and every outcome of the
// gateway's reload as status and JSON.
#include "admin/reload_result.hpp"

#include <gmock/gmock.h>

#include "admin/api.hpp"
#include "snapshot_builder.hpp"
#include "unit/admin/no_backend.hpp"

namespace lwgate::admin {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class ReloadBackend final : public NoBackend {
  public:
    ReloadResult reload(bool apply) override {
        calls.push_back(apply);
        return result;
    }

    ReloadResult result;
    std::vector<bool> calls;  // `apply` of each reload
};

Reply post(Api& api, std::string body) {
    ApiRequest r{"POST", "/v1/reload", {}, std::move(body), "127.0.0.1:50000"};
    auto outcome = api.handle(r, [](Reply) { ADD_FAILURE() << "answered later"; });
    EXPECT_TRUE(std::holds_alternative<Reply>(outcome));
    return std::holds_alternative<Reply>(outcome) ? std::get<Reply>(outcome) : Reply{};
}

ReloadResult applied() {
    ReloadResult r;
    r.outcome = ReloadOutcome::applied;
    r.config_path = "/etc/lwgate/gateway.yaml";
    r.applied = {{"keepalive.idle", "1m", "30s"}};
    r.needs_restart = {{"threads", "2", "3"}};
    return r;
}

TEST(AdminReload, AppliesAndSaysWhatChangedAndWhatNeedsARestart) {
    ReloadBackend backend;
    backend.result = applied();
    Api api("", backend);
    const auto r = post(api, "");
    EXPECT_EQ(r.status, 200);
    EXPECT_THAT(backend.calls, ElementsAre(true));
    const auto body = json::parse(r.body);
    EXPECT_EQ(body["outcome"], "applied");
    EXPECT_EQ(body["dry_run"], false);
    EXPECT_EQ(body["config"], "/etc/lwgate/gateway.yaml");
    EXPECT_EQ(body["applied"],
              json::parse(R"([{"key": "keepalive.idle", "from": "1m", "to": "30s"}])"));
    EXPECT_EQ(body["needs_restart"],
              json::parse(R"([{"key": "threads", "from": "2", "to": "3"}])"));
}

TEST(AdminReload, DryRunOnlyChecks) {
    ReloadBackend backend;
    backend.result = applied();
    backend.result.outcome = ReloadOutcome::checked;
    Api api("", backend);
    const auto r = post(api, R"({"dry_run": true})");
    EXPECT_EQ(r.status, 200);
    EXPECT_THAT(backend.calls, ElementsAre(false));
    EXPECT_EQ(json::parse(r.body)["dry_run"], true);
    EXPECT_EQ(post(api, R"({"dry_run": false})").status, 200);
    EXPECT_EQ(post(api, R"({"dry_run": null})").status, 200);
    EXPECT_THAT(backend.calls, ElementsAre(false, true, true));
}

TEST(AdminReload, ABadBodyIs400AndReloadsNothing) {
    ReloadBackend backend;
    Api api("", backend);
    for (const char* body : {"[]", "not json", R"({"dry_run": "yes"})", R"({"dry_run": 1})"}) {
        const auto r = post(api, body);
        EXPECT_EQ(r.status, 400) << body;
        EXPECT_TRUE(json::parse(r.body).contains("error")) << body;
    }
    EXPECT_TRUE(backend.calls.empty());
}

TEST(AdminReload, ConfigErrorsAre422WithKeyAndLine) {
    ReloadBackend backend;
    backend.result.outcome = ReloadOutcome::config_errors;
    backend.result.config_path = "/etc/lwgate/gateway.yaml";
    backend.result.errors = {{"keepalive.idle", 12, "expected a duration, got 'soon'", ""},
                             {"credentials[0].psk_key_hex", 3, "expected hex digits", "c.yaml"}};
    Api api("", backend);
    const auto r = post(api, "{}");
    EXPECT_EQ(r.status, 422);
    const auto body = json::parse(r.body);
    EXPECT_EQ(body["outcome"], "config_errors");
    EXPECT_THAT(body["error"].get<std::string>(),
                HasSubstr("/etc/lwgate/gateway.yaml has 2 error(s); nothing changed"));
    EXPECT_EQ(body["errors"], json::parse(R"([
        {"key": "keepalive.idle", "line": 12, "message": "expected a duration, got 'soon'"},
        {"key": "credentials[0].psk_key_hex", "line": 3, "message": "expected hex digits",
         "file": "c.yaml"}])"));
    EXPECT_FALSE(body.contains("applied"));
}

TEST(AdminReload, EveryRefusalHasItsStatusAndWords) {
    const std::vector<std::tuple<ReloadOutcome, int, const char*>> cases = {
        {ReloadOutcome::no_config_file, 409, "built-in defaults"},
        {ReloadOutcome::draining, 409, "draining"},
        {ReloadOutcome::no_answer, 503, "did not answer in time"},
        {ReloadOutcome::unsupported, 501, "cannot reload"},
    };
    for (const auto& [outcome, status, words] : cases) {
        ReloadBackend backend;
        backend.result.outcome = outcome;
        Api api("", backend);
        const auto r = post(api, "");
        EXPECT_EQ(r.status, status) << to_string(outcome);
        const auto body = json::parse(r.body);
        EXPECT_EQ(body["outcome"], std::string(to_string(outcome)));
        EXPECT_THAT(body["error"].get<std::string>(), HasSubstr(words));
    }
}

// A backend that knows nothing of reloads (as every fake before this route) says so.
TEST(AdminReload, ABackendWithoutReloadIsUnsupported) {
    NoBackend backend;
    Api api("", backend);
    EXPECT_EQ(post(api, "").status, 501);
}

TEST(AdminReload, OnlyPost) {
    ReloadBackend backend;
    Api api("", backend);
    ApiRequest r{"GET", "/v1/reload", {}, {}, "127.0.0.1:50000"};
    const auto reply = std::get<Reply>(api.handle(r, [](Reply) {}));
    EXPECT_EQ(reply.status, 405);
    EXPECT_EQ(reply.allow, "POST");
    EXPECT_FALSE(Api::is_probe("POST", "/v1/reload"));
}

}  // namespace
}  // namespace lwgate::admin
