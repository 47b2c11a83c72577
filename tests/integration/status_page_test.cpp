// The status page (GET / of the admin API) in headless Chromium against the real lwgate, the core
// simulator and simulated devices: the page's script runs under its Content-Security-Policy,
// shows the health and the devices with their states, filters through the URL fragment, opens
// one device's details, shows an endpoint name made of markup as text, and asks for the token
// when admin.token is set. Skipped only when Chromium is not installed (tools/deps.sh --test
// installs it).
#include <gmock/gmock.h>

#include <string>
#include <thread>

#include "bridge_fixture.hpp"
#include "headless_chromium.hpp"
#include "lwgate/harness/admin_client.hpp"

namespace lwgate::integration {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// What a device chooses as its name, run by a page that puts it in as HTML (an inline handler:
// the CSP would block it too, so the test also looks for the element itself).
const std::string kMarkupEndpoint =
    "<img src=x onerror=\"document.documentElement.dataset.xss='ran'\">xss-dev";
// The same name as a text node of --dump-dom's serialization.
const std::string kMarkupAsText =
    "&lt;img src=x onerror=\"document.documentElement.dataset.xss='ran'\"&gt;xss-dev";

constexpr std::chrono::milliseconds kBudget{3000};
constexpr std::chrono::seconds kChromiumTimeout{30};

// The part of `dom` from the element with this id to `end` (exclusive); "" when absent.
std::string section(const std::string& dom, const std::string& id, const std::string& end) {
    const auto from = dom.find("id=\"" + id + "\"");
    if (from == std::string::npos) return {};
    const auto to = dom.find(end, from);
    return dom.substr(from, to == std::string::npos ? std::string::npos : to - from);
}

// The text of the first text node of the element with this id.
std::string text_of(const std::string& dom, const std::string& id) {
    const auto element = section(dom, id, "<");
    const auto open = element.find('>');
    return open == std::string::npos ? std::string() : element.substr(open + 1);
}

// The <tr> of the connection table whose endpoint cell is exactly `endpoint` (as serialized).
std::string row_of(const std::string& dom, const std::string& endpoint) {
    const auto rows = section(dom, "rows", "</tbody>");
    const auto cell = rows.find("<td class=\"ep\">" + endpoint + "</td>");
    if (cell == std::string::npos) return {};
    const auto start = rows.rfind("<tr", cell);
    return rows.substr(start, rows.find("</tr>", cell) - start);
}

class StatusPageTest : public BridgeTest {
  protected:
    void SetUp() override {
        const auto program = chromium_program();
        if (!program) GTEST_SKIP() << "chromium is not installed (tools/deps.sh --test)";
        chromium = *program;
    }

    // The page at `fragment` (e.g. "#filter=x"), as Chromium rendered it.
    std::string render(const std::string& fragment = {}) {
        const auto url = gateway.admin_url() + "/" + fragment;
        const auto result = dump_dom(chromium, url, kBudget, kChromiumTimeout);
        EXPECT_TRUE(result.finished) << url << ": Chromium did not finish in time\n" << result.log;
        EXPECT_EQ(result.exit_code, 0) << url << "\n" << result.log;
        EXPECT_THAT(result.dom, HasSubstr("</html>")) << url << "\n" << result.log;
        return result.dom;
    }

    std::string api_state(harness::AdminClient& admin, const std::string& endpoint) {
        const auto list = admin.get("/v1/connections?endpoint=" + endpoint).json();
        for (const auto& row : list["connections"])
            if (row["endpoint"] == endpoint) return row["state"];
        return "(no row)";
    }

    // Polls the API until `endpoint` is in `state`.
    bool wait_state(harness::AdminClient& admin, const std::string& endpoint,
                    const std::string& state) {
        const auto deadline = SteadyClock::now() + 5s;
        while (api_state(admin, endpoint) != state) {
            if (SteadyClock::now() >= deadline) return false;
            std::this_thread::sleep_for(20ms);
        }
        return true;
    }

    std::string chromium;
};

TEST_F(StatusPageTest, ShowsHealthDevicesAndMarkupAsText) {
    start_all();
    harness::AdminClient admin(gateway.admin_url());
    auto alpha = registered_device("urn:dev:alpha");
    auto beta = registered_device("urn:dev:beta");
    auto markup = registered_device(kMarkupEndpoint);
    const auto health = admin.get("/v1/health").json();
    const std::string alpha_state = api_state(admin, "urn:dev:alpha");

    const auto dom = render();
    EXPECT_EQ(text_of(dom, "health-status"), health["status"].get<std::string>()) << dom;
    EXPECT_EQ(text_of(dom, "error"), "") << dom;
    EXPECT_THAT(section(dom, "main", ">"), Not(HasSubstr("hidden"))) << dom;
    const auto row = row_of(dom, "urn:dev:alpha");
    EXPECT_THAT(row, HasSubstr(">" + alpha_state + "</span>")) << dom;
    EXPECT_THAT(row, HasSubstr(">tcp</td>"));
    EXPECT_FALSE(row_of(dom, "urn:dev:beta").empty()) << dom;
    EXPECT_THAT(text_of(dom, "page-info"), HasSubstr("3 of 3")) << dom;

    // The name made of markup is a text node: no element was made of it, no handler ran.
    EXPECT_FALSE(row_of(dom, kMarkupAsText).empty()) << dom;
    EXPECT_THAT(dom, Not(HasSubstr("<img")));
    EXPECT_THAT(dom, Not(HasSubstr("data-xss")));
}

// #filter (endpoint prefix) and #state narrow the table through the API's own filters; #device
// opens that device's details.
TEST_F(StatusPageTest, FiltersAndDetailsFromTheFragment) {
    start_all();
    harness::AdminClient admin(gateway.admin_url());
    auto alpha = registered_device("urn:dev:alpha");
    auto beta = registered_device("urn:dev:beta");
    auto sleeper = registered_device("urn:dev:b-sleeper", true);
    sleeper->sleep();
    ASSERT_TRUE(wait_state(admin, "urn:dev:b-sleeper", "sleeping"));

    const auto dom = render("#filter=urn:dev:b&state=sleeping&device=urn:dev:alpha");
    const auto rows = section(dom, "rows", "</tbody>");
    EXPECT_THAT(rows, HasSubstr(">urn:dev:b-sleeper<")) << dom;
    EXPECT_THAT(rows, Not(HasSubstr("urn:dev:alpha"))) << "the text filter";
    EXPECT_THAT(rows, Not(HasSubstr("urn:dev:beta<"))) << "the state filter";
    EXPECT_THAT(text_of(dom, "page-info"), HasSubstr("1 of 1 matching row")) << dom;

    EXPECT_THAT(section(dom, "details", ">"), Not(HasSubstr("hidden"))) << dom;
    EXPECT_EQ(text_of(dom, "details-title"), "urn:dev:alpha");
    const auto details = section(dom, "details-body", "</main>");
    EXPECT_THAT(details, HasSubstr("<td>lifetime (s)</td><td>300</td>")) << dom;
    EXPECT_THAT(details, HasSubstr("<td>transport</td><td>tcp</td>")) << dom;
}

// A device may call itself "id:1", which as a path segment is connection 1: #device= opens the
// endpoint of that name (the page asks with ?by=endpoint), #conn= a connection by its id.
TEST_F(StatusPageTest, ADeviceNamedLikeAConnectionIdOpensItself) {
    start_all();
    harness::AdminClient admin(gateway.admin_url());
    auto alpha = registered_device("urn:dev:alpha");
    auto named = registered_device("id:1");
    const auto own = admin.get("/v1/connections/id%3A1?by=endpoint");
    ASSERT_EQ(own.status, 200) << own.body;
    const auto own_id = own.json()["connection"]["id"].get<std::uint64_t>();
    const auto first = admin.get("/v1/connections/id:1");
    ASSERT_EQ(first.status, 200) << "connection 1 (urn:dev:alpha's) is gone: " << first.body;
    ASSERT_NE(own_id, 1u);

    const auto by_name = section(render("#device=id:1"), "details-body", "</main>");
    EXPECT_THAT(by_name, HasSubstr("<td>id</td><td>" + std::to_string(own_id) + "</td>"))
        << by_name;
    const auto by_id = section(render("#conn=1"), "details-body", "</main>");
    EXPECT_THAT(by_id, HasSubstr("<td>id</td><td>1</td>")) << by_id;
}

// With admin.token set the page loads without it but shows nothing of lwgate: it asks for the
// token, and the API still refuses a request without it.
TEST_F(StatusPageTest, AsksForTheTokenAndShowsNoData) {
    config.admin_token = "page-test-token";
    start_all();
    auto alpha = registered_device("urn:dev:alpha");
    harness::AdminClient anonymous(gateway.admin_url());
    EXPECT_EQ(anonymous.get("/v1/health").status, 401);
    const auto page = anonymous.get("/");
    EXPECT_EQ(page.status, 200);
    EXPECT_EQ(page.header("Content-Type"), "text/html; charset=utf-8");
    EXPECT_EQ(page.header("Cache-Control"), "no-store");
    EXPECT_EQ(page.header("X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(page.header("Content-Security-Policy").rfind("default-src 'none'; script-src ", 0),
              0u);

    const auto dom = render();
    EXPECT_THAT(section(dom, "login", ">"), Not(HasSubstr("hidden"))) << dom;
    EXPECT_THAT(section(dom, "main", ">"), HasSubstr("hidden")) << dom;
    EXPECT_EQ(text_of(dom, "health-status"), "token needed") << dom;
    EXPECT_THAT(dom, Not(HasSubstr("urn:dev:alpha")));
}

}  // namespace
}  // namespace lwgate::integration
