// Result<T, E> and Error (include/lwgate/util/result.hpp): which side is held, access by lvalue
// and rvalue, T and E of the same type, move-only values, Result<void, E>, and that reading the
// wrong side aborts instead of returning garbage.
#include "lwgate/util/result.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <system_error>
#include <vector>

namespace lwgate {
namespace {

Result<int, std::string> parse_digit(char c) {
    if (c < '0' || c > '9') return fail(std::string("not a digit: ") + c);
    return c - '0';
}

TEST(Result, HoldsAValueOrAnError) {
    const auto ok = parse_digit('7');
    EXPECT_TRUE(ok.has_value());
    EXPECT_TRUE(static_cast<bool>(ok));
    EXPECT_EQ(ok.value(), 7);
    EXPECT_EQ(*ok, 7);

    const auto bad = parse_digit('x');
    EXPECT_FALSE(bad.has_value());
    EXPECT_FALSE(bad);
    EXPECT_EQ(bad.error(), "not a digit: x");
}

TEST(Result, SameTypeOnBothSidesIsNotAmbiguous) {
    Result<std::string, std::string> value = std::string("value");
    Result<std::string, std::string> error = fail(std::string("error"));
    Result<std::string, std::string> also_error = Unexpected<std::string>("error");
    ASSERT_TRUE(value);
    EXPECT_EQ(*value, "value");
    ASSERT_FALSE(error);
    EXPECT_EQ(error.error(), "error");
    ASSERT_FALSE(also_error);
    EXPECT_EQ(also_error.error(), "error");
}

TEST(Result, ConvertsTheValueAndTheError) {
    struct Base {
        virtual ~Base() = default;
    };
    struct Derived : Base {};
    Result<std::unique_ptr<Base>, std::string> derived = std::make_unique<Derived>();
    ASSERT_TRUE(derived);
    EXPECT_NE(dynamic_cast<Derived*>(derived->get()), nullptr);
    Result<std::unique_ptr<Base>, std::string> literal = fail("from a literal");
    EXPECT_EQ(literal.error(), "from a literal");
}

TEST(Result, MovesOutOfAnRvalue) {
    Result<std::unique_ptr<int>, std::string> r = std::make_unique<int>(5);
    ASSERT_TRUE(r);
    std::unique_ptr<int> taken = std::move(r).value();
    ASSERT_TRUE(taken);
    EXPECT_EQ(*taken, 5);

    Result<std::vector<int>, std::string> v = std::vector<int>{1, 2, 3};
    std::vector<int> moved = *std::move(v);
    EXPECT_EQ(moved.size(), 3u);

    Result<int, std::string> e = fail(std::string(100, 'e'));
    std::string error = std::move(e).error();
    EXPECT_EQ(error.size(), 100u);
}

TEST(Result, ArrowAndMutation) {
    Result<std::string, int> r = std::string("abc");
    EXPECT_EQ(r->size(), 3u);
    r->push_back('d');
    *r += "e";
    EXPECT_EQ(r.value(), "abcde");
    Result<int, std::string> e = fail(std::string("x"));
    e.error() += "y";
    EXPECT_EQ(e.error(), "xy");
}

TEST(Result, VoidIsSuccessOrAnError) {
    Result<void, std::string> ok;
    EXPECT_TRUE(ok.has_value());
    EXPECT_TRUE(ok);
    ok.value();  // no-op on success
    Result<void, std::string> bad = fail("broken");
    EXPECT_FALSE(bad);
    EXPECT_EQ(bad.error(), "broken");
    EXPECT_EQ(std::move(bad).error(), "broken");
}

TEST(ResultDeathTest, ReadingTheWrongSideAborts) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    Result<int, std::string> bad = fail(std::string("e"));
    EXPECT_DEATH((void)bad.value(), "value\\(\\) of a Result that holds an error");
    Result<int, std::string> ok = 1;
    EXPECT_DEATH((void)ok.error(), "error\\(\\) of a Result that holds a value");
    Result<void, std::string> void_ok;
    EXPECT_DEATH((void)void_ok.error(), "error\\(\\) of a Result that holds a value");
    Result<void, std::string> void_bad = fail("e");
    EXPECT_DEATH(void_bad.value(), "value\\(\\) of a Result that holds an error");
}

TEST(Error, MessageJoinsTheCodeAndTheDetail) {
    const Error both{std::make_error_code(std::errc::permission_denied), "/var/lib/x"};
    EXPECT_EQ(both.message(),
              std::make_error_code(std::errc::permission_denied).message() + ": /var/lib/x");
    const Error code_only{std::make_error_code(std::errc::io_error), ""};
    EXPECT_EQ(code_only.message(), std::make_error_code(std::errc::io_error).message());
    const Error detail_only{{}, "just words"};
    EXPECT_EQ(detail_only.message(), "just words");
}

TEST(Error, TravelsInAResult) {
    Result<int, Error> r = fail(Error{std::make_error_code(std::errc::timed_out), "core"});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, std::errc::timed_out);
    EXPECT_EQ(r.error().detail, "core");
}

}  // namespace
}  // namespace lwgate
