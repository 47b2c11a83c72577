// AdminServer::start() failing with a typed code: a port another server holds. Loopback only.
#include "admin_http/admin_server.hpp"
#include "support/loopback_http.hpp"
#include "unit/admin/no_backend.hpp"

#include <gtest/gtest.h>

#include <string>

#include "admin/admin_error.hpp"

namespace lwgate::admin {
namespace {

config::AdminConfig on_loopback(std::uint16_t port) {
    config::AdminConfig c;
    c.host = "127.0.0.1";
    c.port = port;
    c.listen = "127.0.0.1:" + std::to_string(port);
    return c;
}

TEST(AdminServer, StartsOnAFreePort) {
    NoBackend backend;
    AdminServer server(on_loopback(0), backend);
    auto started = server.start();
    ASSERT_TRUE(started) << started.error().message();
    EXPECT_EQ(server.url().rfind("http://127.0.0.1:", 0), 0u);
    EXPECT_NE(server.url(), "http://127.0.0.1:0");
}

TEST(AdminServer, PortInUseIsCannotBind) {
    NoBackend backend;
    AdminServer first(on_loopback(0), backend);
    ASSERT_TRUE(first.start());
    const std::string url = first.url();
    const auto port = loopback::port_of(url);

    AdminServer second(on_loopback(port), backend);
    auto started = second.start();
    ASSERT_FALSE(started);
    EXPECT_EQ(started.error().code, AdminErrc::cannot_bind);
    EXPECT_EQ(started.error().detail, "cannot bind admin.listen 127.0.0.1:" + std::to_string(port) +
                                          ": Address already in use");
}

}  // namespace
}  // namespace lwgate::admin
