// AdminErrc as a std::error_code (gateway/admin/admin_error.hpp), and the code a bad query of
// GET /v1/connections fails with.
#include "admin/admin_error.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <system_error>

#include "admin/json_views.hpp"
#include "lwgate/util/result.hpp"

namespace lwgate::admin {
namespace {

using Query = std::multimap<std::string, std::string>;

TEST(AdminErrc, IsAnErrorCodeEnum) {
    const std::error_code ec = AdminErrc::cannot_bind;  // implicit: is_error_code_enum
    EXPECT_TRUE(ec);
    EXPECT_EQ(ec, AdminErrc::cannot_bind);
    EXPECT_NE(ec, AdminErrc::cannot_resolve);
    EXPECT_EQ(&ec.category(), &admin_category());
    EXPECT_STREQ(ec.category().name(), "lwgate.admin");
    EXPECT_EQ(ec.message(), "cannot bind the admin address");
}

TEST(AdminErrc, EveryValueHasItsOwnMessage) {
    const AdminErrc all[] = {AdminErrc::unknown_parameter, AdminErrc::bad_parameter_value,
                             AdminErrc::cannot_resolve, AdminErrc::cannot_bind};
    for (std::size_t i = 0; i < std::size(all); ++i) {
        for (std::size_t j = i + 1; j < std::size(all); ++j) {
            EXPECT_NE(make_error_code(all[i]).message(), make_error_code(all[j]).message());
        }
        EXPECT_EQ(make_error_code(all[i]).message().find("unknown lwgate"), std::string::npos);
    }
    EXPECT_EQ(admin_category().message(99), "unknown lwgate.admin error 99");
}

TEST(AdminErrc, FilterWithAnUnknownParameter) {
    auto r = parse_filter(Query{{"colour", "red"}});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, AdminErrc::unknown_parameter);
    EXPECT_EQ(r.error().detail, "unknown query parameter 'colour'");
}

TEST(AdminErrc, FilterWithAnUnknownValue) {
    auto state = parse_filter(Query{{"state", "zombie"}});
    ASSERT_FALSE(state);
    EXPECT_EQ(state.error().code, AdminErrc::bad_parameter_value);
    EXPECT_EQ(state.error().detail, "unknown state 'zombie'");
    auto transport = parse_filter(Query{{"transport", "udp"}});
    ASSERT_FALSE(transport);
    EXPECT_EQ(transport.error().code, AdminErrc::bad_parameter_value);
    EXPECT_EQ(transport.error().detail, "transport must be tcp or tls, got 'udp'");
}

TEST(AdminErrc, FilterThatIsFine) {
    auto r = parse_filter(Query{{"state", "active"}, {"transport", "tls"}, {"remote", "10."}});
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->state, State::active);
    EXPECT_EQ(r->transport, session::Transport::tls);
    EXPECT_EQ(r->remote_prefix, "10.");
}

}  // namespace
}  // namespace lwgate::admin
