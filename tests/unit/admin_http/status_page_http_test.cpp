// GET / over the admin HTTP server with admin.token set: the page without the token, with its
// headers; the API still refuses without it. And the CSP hashes computed at build time are the
// SHA-256 of the inline script and style as served (a browser would refuse to run them
// otherwise). Loopback only.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <openssl/evp.h>

#include <string>

#include "admin/status_page.hpp"
#include "admin_http/admin_server.hpp"
#include "support/loopback_http.hpp"
#include "unit/admin/no_backend.hpp"

namespace lwgate::admin {
namespace {

using ::testing::HasSubstr;

std::string http_get(const std::string& url, const std::string& path) {
    return loopback::exchange(loopback::port_of(url),
                              "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
}

// CSP's form of a hash: "sha256-" and the base64 of the digest.
std::string csp_sha256(const std::string& text) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr);
    unsigned char base64[2 * EVP_MAX_MD_SIZE];
    const int n = EVP_EncodeBlock(base64, digest, static_cast<int>(length));
    return "sha256-" + std::string(reinterpret_cast<char*>(base64), static_cast<std::size_t>(n));
}

std::string between(const std::string& text, const std::string& open, const std::string& close) {
    const auto from = text.find(open);
    const auto to = text.find(close, from);
    if (from == std::string::npos || to == std::string::npos) return {};
    return text.substr(from + open.size(), to - from - open.size());
}

TEST(AdminStatusPageHttp, PageWithoutTokenApiWithIt) {
    config::AdminConfig c;
    c.host = "127.0.0.1";
    c.port = 0;
    c.listen = "127.0.0.1:0";
    c.token = "s3cret";
    NoBackend backend;
    AdminServer server(c, backend);
    ASSERT_TRUE(server.start());

    const auto page = http_get(server.url(), "/?from=bookmark");
    EXPECT_EQ(page.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << page.substr(0, 200);
    EXPECT_THAT(page, HasSubstr("\r\nContent-Type: text/html; charset=utf-8\r\n"));
    EXPECT_THAT(page, HasSubstr("\r\nContent-Security-Policy: " + status_page_csp() + "\r\n"));
    EXPECT_THAT(page, HasSubstr("\r\nCache-Control: no-store\r\n"));
    EXPECT_THAT(page, HasSubstr("\r\nX-Content-Type-Options: nosniff\r\n"));
    EXPECT_EQ(page.substr(page.find("\r\n\r\n") + 4), status_page_html());

    for (const char* path : {"/v1/health", "/metrics", "/v1/connections", "/index.html"}) {
        const auto refused = http_get(server.url(), path);
        EXPECT_EQ(refused.rfind("HTTP/1.1 401 ", 0), 0u) << path << ": " << refused;
    }
}

TEST(AdminStatusPageHttp, HashesAreThoseOfTheInlineScriptAndStyle) {
    const std::string page(status_page_html());
    EXPECT_EQ(csp_sha256(between(page, "<script>", "</script>")), status_page_script_hash());
    EXPECT_EQ(csp_sha256(between(page, "<style>", "</style>")), status_page_style_hash());
}

}  // namespace
}  // namespace lwgate::admin
