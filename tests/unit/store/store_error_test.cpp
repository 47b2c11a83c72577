// StoreErrc as a std::error_code (gateway/store/store_error.hpp): comparisons, the
// category, and the words Error::message() builds from a store error.
#include "store/store_error.hpp"

#include <gtest/gtest.h>

#include <system_error>

#include "lwgate/util/result.hpp"

namespace lwgate::store {
namespace {

TEST(StoreErrc, IsAnErrorCodeEnum) {
    const std::error_code ec = StoreErrc::locked;  // implicit: is_error_code_enum
    EXPECT_TRUE(ec);
    EXPECT_EQ(ec, StoreErrc::locked);
    EXPECT_NE(ec, StoreErrc::io);
    EXPECT_EQ(&ec.category(), &store_category());
    EXPECT_STREQ(ec.category().name(), "lwgate.store");
    EXPECT_EQ(ec.message(), "store in use by another process");
    EXPECT_NE(std::error_code(StoreErrc::io), std::make_error_code(std::errc::io_error));
}

TEST(StoreErrc, EveryValueHasItsOwnMessage) {
    const StoreErrc all[] = {
        StoreErrc::bad_uri,     StoreErrc::cannot_create, StoreErrc::permission_denied,
        StoreErrc::cannot_open, StoreErrc::locked,        StoreErrc::schema,
        StoreErrc::io};
    for (std::size_t i = 0; i < std::size(all); ++i) {
        for (std::size_t j = i + 1; j < std::size(all); ++j) {
            EXPECT_NE(make_error_code(all[i]).message(), make_error_code(all[j]).message());
        }
        EXPECT_EQ(make_error_code(all[i]).message().find("unknown"), std::string::npos);
    }
    EXPECT_EQ(store_category().message(99), "unknown lwgate.store error 99");
}

TEST(StoreErrc, ErrorMessageJoinsCodeAndDetail) {
    const Error e{StoreErrc::bad_uri, "expected memory: or sqlite:///absolute/path.db"};
    EXPECT_EQ(e.message(), "bad store URI: expected memory: or sqlite:///absolute/path.db");
}

}  // namespace
}  // namespace lwgate::store
