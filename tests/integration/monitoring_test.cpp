// The monitoring kit (conf/monitoring) against the real thing: lwgate's /metrics passes
// `promtool check metrics`, every metric name the dashboard and the alert rules use is one a
// running lwgate exports (so neither can rot when a metric is renamed), the rules pass
// `promtool check rules` and their unit tests (`promtool test rules`), and every query of the
// dashboard is valid PromQL.
#include <gmock/gmock.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "bridge_fixture.hpp"
#include "lwgate/harness/admin_client.hpp"

namespace lwgate::integration {
namespace {

namespace fs = std::filesystem;
using harness::AdminClient;
using harness::run_process;

const fs::path kSource = fs::path(__FILE__).parent_path() / "../..";
const fs::path kDashboard = kSource / "conf/monitoring/lwgate-dashboard.json";
const fs::path kAlerts = kSource / "conf/monitoring/lwgate-alerts.yml";
const fs::path kAlertTests = kSource / "tests/monitoring/lwgate-alerts.test.yml";

std::string read_file(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// The metric names a text mentions: lwgate_* and process_* (Prometheus adds `up` itself).
std::set<std::string> names_used(const std::string& text) {
    static const std::regex name(R"(\b(?:lwgate|process)_[a-z0-9_]*[a-z0-9])");
    std::set<std::string> out;
    for (std::sregex_iterator it(text.begin(), text.end(), name), end; it != end; ++it)
        out.insert(it->str());
    return out;
}

// The sample and family names of an exposition.
std::set<std::string> names_exported(const std::string& exposition) {
    std::set<std::string> out;
    std::istringstream lines(exposition);
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind("# TYPE ", 0) == 0) {
            out.insert(line.substr(7, line.find(' ', 7) - 7));
        } else if (!line.empty() && line[0] != '#') {
            out.insert(line.substr(0, line.find_first_of("{ ")));
        }
    }
    return out;
}

harness::ProcessResult promtool(const std::vector<std::string>& args,
                                const std::string& stdin_file = {}) {
    std::string command = "promtool";
    for (const auto& a : args)
        command += " '" + a + "'";
    if (!stdin_file.empty()) command += " < '" + stdin_file + "'";
    return run_process({"sh", "-c", command + " 2>&1"}, 30s);
}

class MonitoringTest : public BridgeTest {};

TEST_F(MonitoringTest, RealMetricsPassPromtoolAndCoverEveryNameTheKitUses) {
    upstream_extra = "  probe_interval: 300ms\n  probe_timeout: 200ms\n";
    start_all();
    AdminClient admin(gateway.admin_url());
    auto device = registered_device("dev-monitored");
    // The probe's families are there once it has run.
    const auto deadline = SteadyClock::now() + 5s;
    std::string metrics;
    do {
        metrics = admin.get("/metrics").body;
        if (metrics.find("lwgate_core_probe_rtt_seconds_count 0\n") == std::string::npos &&
            metrics.find("lwgate_core_probe_rtt_seconds_count") != std::string::npos)
            break;
        std::this_thread::sleep_for(20ms);
    } while (SteadyClock::now() < deadline);

    harness::TempDir dir;
    const auto scraped = dir.path() / "metrics.txt";
    std::ofstream(scraped) << metrics;
    const auto checked = promtool({"check", "metrics"}, scraped.string());
    EXPECT_EQ(checked.exit_code, 0) << checked.out;
    EXPECT_EQ(checked.out, "") << "promtool's lint found problems";

    const auto exported = names_exported(metrics);
    for (const auto& file : {kDashboard, kAlerts}) {
        const auto used = names_used(read_file(file));
        EXPECT_GE(used.size(), 8u) << file << " mentions too few metrics to mean anything";
        for (const auto& name : used)
            EXPECT_TRUE(exported.count(name))
                << file.filename() << " uses " << name << ", which lwgate's /metrics does not have";
    }
    for (const char* name : {"process_cpu_seconds_total", "process_resident_memory_bytes",
                             "process_virtual_memory_bytes", "process_start_time_seconds",
                             "process_open_fds", "process_max_fds"})
        EXPECT_TRUE(exported.count(name)) << name;
}

TEST(MonitoringKit, AlertRulesPassPromtoolAndTheirUnitTests) {
    auto r = promtool({"check", "rules", kAlerts.string()});
    EXPECT_EQ(r.exit_code, 0) << r.out;
    EXPECT_THAT(r.out, ::testing::HasSubstr("SUCCESS"));
    r = promtool({"test", "rules", kAlertTests.string()});
    EXPECT_EQ(r.exit_code, 0) << r.out;
    // Every alert has a test that expects it to fire.
    const auto rules = read_file(kAlerts);
    const auto tests = read_file(kAlertTests);
    static const std::regex alert(R"(- alert: (\w+))");
    int alerts = 0;
    for (std::sregex_iterator it(rules.begin(), rules.end(), alert), end; it != end; ++it) {
        ++alerts;
        EXPECT_THAT(tests, ::testing::HasSubstr("alertname: " + (*it)[1].str())) << (*it)[1];
    }
    EXPECT_GE(alerts, 6);
}

// Each query of the dashboard, with Grafana's variables replaced, as a recording rule that
// promtool parses: a typo in PromQL fails here rather than as an empty panel.
TEST(MonitoringKit, DashboardIsAnImportableDashboardOfValidQueries) {
    const auto dashboard = nlohmann::json::parse(read_file(kDashboard), nullptr, false);
    ASSERT_FALSE(dashboard.is_discarded()) << "not JSON";
    ASSERT_EQ(dashboard["__inputs"][0]["name"], "DS_PROMETHEUS");
    std::set<int> ids;
    std::ostringstream rules;
    rules << "groups:\n  - name: dashboard\n    rules:\n";
    int queries = 0;
    for (const auto& panel : dashboard["panels"]) {
        EXPECT_TRUE(ids.insert(panel["id"].get<int>()).second) << "panel id twice";
        if (panel["type"] == "row") continue;
        EXPECT_EQ(panel["datasource"]["uid"], "${DS_PROMETHEUS}") << panel["title"];
        for (const auto& target : panel["targets"]) {
            auto expr = target["expr"].get<std::string>();
            expr = std::regex_replace(expr, std::regex(R"(\$__rate_interval)"), "5m");
            expr = std::regex_replace(expr, std::regex(R"(\$instance)"), ".*");
            rules << "      - record: dashboard:query" << ++queries
                  << "\n        expr: " << nlohmann::json(expr).dump() << "\n";
        }
    }
    EXPECT_GE(queries, 20);
    harness::TempDir dir;
    const auto file = dir.path() / "dashboard-queries.yml";
    std::ofstream(file) << rules.str();
    const auto r = promtool({"check", "rules", file.string()});
    EXPECT_EQ(r.exit_code, 0) << r.out << "\n" << rules.str();
}

}  // namespace
}  // namespace lwgate::integration
