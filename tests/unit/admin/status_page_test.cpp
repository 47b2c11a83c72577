// GET /: the status page as the Api serves it (headers, no token needed) and what the page's
// source may not contain: markup built from strings, code run from strings, anything fetched from
// elsewhere. (That its script runs under its own CSP is checked in headless Chromium,
// tests/integration/status_page_test.cpp.)
#include "admin/status_page.hpp"

#include <gmock/gmock.h>

#include <map>
#include <regex>
#include <string>

#include "admin/api.hpp"
#include "admin/router.hpp"
#include "snapshot_builder.hpp"
#include "unit/admin/no_backend.hpp"

namespace lwgate::admin {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

Reply get(Api& api, const std::string& method, const std::string& path) {
    ApiRequest request{method, path, {}, {}, "127.0.0.1:50000"};
    auto outcome = api.handle(request, [](Reply) { ADD_FAILURE() << "answered later"; });
    return std::get<Reply>(outcome);
}

std::map<std::string, std::string> headers_of(const Reply& reply) {
    return {reply.headers.begin(), reply.headers.end()};
}

// The text between "<tag>" and "</tag>".
std::string inline_element(const std::string& page, const std::string& tag) {
    const auto open = page.find("<" + tag + ">");
    const auto close = page.find("</" + tag + ">");
    if (open == std::string::npos || close == std::string::npos) return {};
    return page.substr(open + tag.size() + 2, close - open - tag.size() - 2);
}

TEST(AdminStatusPage, ServedAtRootWithItsHeaders) {
    NoBackend backend;
    Api api("s3cret", backend);
    const auto reply = get(api, "GET", "/");
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.content_type, "text/html; charset=utf-8");
    EXPECT_EQ(reply.body, status_page_html());
    EXPECT_EQ(backend.collections, 0) << "the page holds no data";
    const auto headers = headers_of(reply);
    EXPECT_EQ(headers.at("Content-Security-Policy"), status_page_csp());
    EXPECT_EQ(headers.at("Cache-Control"), "no-store");
    EXPECT_EQ(headers.at("X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(get(api, "POST", "/").status, 405);
    EXPECT_TRUE(get(api, "GET", "/v1/health").headers.empty());
}

TEST(AdminStatusPage, OnlyThePageIsServedWithoutToken) {
    EXPECT_FALSE(Api::needs_token("GET", "/"));
    EXPECT_TRUE(Api::needs_token("POST", "/"));
    for (const char* path : {"/v1/health", "/metrics", "/v1/connections", "/v1/connections/x",
                             "/index.html", "/status.js", "/v1/openapi.json"})
        EXPECT_TRUE(Api::needs_token("GET", path)) << path;
}

// Only the page's own inline script and style run: by hash, nothing inline otherwise, nothing
// from anywhere but this origin.
TEST(AdminStatusPage, PolicyAllowsOnlyThePagesOwnCode) {
    const auto& csp = status_page_csp();
    const std::regex hash("sha256-[A-Za-z0-9+/]{43}=");
    EXPECT_TRUE(std::regex_match(std::string(status_page_script_hash()), hash));
    EXPECT_TRUE(std::regex_match(std::string(status_page_style_hash()), hash));
    EXPECT_NE(status_page_script_hash(), status_page_style_hash());
    EXPECT_EQ(csp.rfind("default-src 'none'; ", 0), 0u) << csp;
    EXPECT_THAT(csp, HasSubstr("script-src '" + std::string(status_page_script_hash()) + "';"));
    EXPECT_THAT(csp, HasSubstr("style-src '" + std::string(status_page_style_hash()) + "';"));
    EXPECT_THAT(csp, HasSubstr("connect-src 'self'"));
    EXPECT_THAT(csp, HasSubstr("frame-ancestors 'none'"));
    EXPECT_THAT(csp, Not(HasSubstr("unsafe")));
    EXPECT_THAT(csp, Not(HasSubstr("*")));
}

TEST(AdminStatusPage, PageIsOneSelfContainedFile) {
    const std::string page(status_page_html());
    EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);
    EXPECT_THAT(page, Not(HasSubstr("\r")));
    EXPECT_FALSE(inline_element(page, "script").empty());
    EXPECT_FALSE(inline_element(page, "style").empty());
    // Nothing to load: no external script, style sheet, image or frame.
    for (const char* loads : {"<script ", "<link", "<img", "<iframe", "src=", "@import", "url("})
        EXPECT_THAT(page, Not(HasSubstr(loads)));
    // The only URL is the SVG namespace, which names and fetches nothing.
    std::string rest = page;
    for (auto at = rest.find("http"); at != std::string::npos; at = rest.find("http", at + 1))
        EXPECT_EQ(rest.compare(at, 26, "http://www.w3.org/2000/svg"), 0) << rest.substr(at, 40);
}

// Endpoint names come from devices: the script must never turn a string into markup or code.
TEST(AdminStatusPage, ScriptNeverParsesStringsAsHtmlOrCode) {
    const auto script = inline_element(std::string(status_page_html()), "script");
    for (const char* sink :
         {"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "Function(",
          "setAttribute(\"on", "createContextualFragment", "DOMParser", "srcdoc", "javascript:"})
        EXPECT_THAT(script, Not(HasSubstr(sink))) << sink;
    EXPECT_THAT(script, HasSubstr("textContent"));
    EXPECT_THAT(script, HasSubstr("\"use strict\""));
}

}  // namespace
}  // namespace lwgate::admin
