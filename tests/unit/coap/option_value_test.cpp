// OptionValue: inline up to 24 bytes, heap beyond; copies and moves on both sides of the boundary.
#include <gtest/gtest.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "lwgate/coap/message.hpp"
#include "lwgate/coap/option_value.hpp"
#include "lwgate/coap/tcp_codec.hpp"

namespace lwgate::coap {
namespace {

std::vector<std::uint8_t> pattern(std::size_t n, std::uint8_t seed) {
    std::vector<std::uint8_t> out(n);
    for (std::size_t i = 0; i < n; ++i)
        out[i] = static_cast<std::uint8_t>(seed + i * 7);
    return out;
}

// Sizes around the inline capacity, and one far beyond it.
const std::size_t sizes[] = {0, 1, 23, 24, 25, 1000, 65804};

TEST(OptionValue, KeepsEveryByteAtEverySize) {
    for (std::size_t n : sizes) {
        const auto bytes = pattern(n, 3);
        const OptionValue v(bytes);
        EXPECT_EQ(v.size(), n);
        EXPECT_EQ(v.empty(), n == 0);
        EXPECT_TRUE(v == bytes) << n;
        EXPECT_EQ(v.to_bytes(), bytes) << n;
        EXPECT_EQ(std::vector<std::uint8_t>(v.begin(), v.end()), bytes) << n;
    }
}

TEST(OptionValue, CopiesAndMovesAcrossTheInlineBoundary) {
    for (std::size_t a : sizes) {
        for (std::size_t b : sizes) {
            const auto bytes_a = pattern(a, 1);
            const auto bytes_b = pattern(b, 2);
            OptionValue x(bytes_a);
            OptionValue y(bytes_b);
            OptionValue copy(x);
            EXPECT_TRUE(copy == x);
            y = x;  // copy-assign over a value of another size
            EXPECT_TRUE(y == bytes_a) << a << " over " << b;
            OptionValue z(bytes_b);
            z = std::move(y);
            EXPECT_TRUE(z == bytes_a) << a << " moved over " << b;
            EXPECT_TRUE(y.empty());    // NOLINT(bugprone-use-after-move): defined as empty
            y = OptionValue(bytes_b);  // a moved-from value is reusable
            EXPECT_TRUE(y == bytes_b);
            OptionValue moved(std::move(x));
            EXPECT_TRUE(moved == bytes_a);
            EXPECT_TRUE(x.empty());  // NOLINT(bugprone-use-after-move)
        }
    }
}

TEST(OptionValue, SelfAssignmentKeepsTheValue) {
    for (std::size_t n : sizes) {
        OptionValue v(pattern(n, 5));
        const OptionValue& same = v;
        v = same;
        EXPECT_TRUE(v == pattern(n, 5)) << n;
    }
}

TEST(OptionValue, EqualityComparesContentNotStorage) {
    EXPECT_TRUE(OptionValue({1, 2}) == OptionValue(std::vector<std::uint8_t>{1, 2}));
    EXPECT_FALSE(OptionValue({1, 2}) == OptionValue({1, 2, 3}));
    EXPECT_FALSE(OptionValue(pattern(30, 1)) == OptionValue(pattern(30, 2)));
    EXPECT_TRUE(OptionValue(pattern(30, 1)) == OptionValue(pattern(30, 1)));
}

// A message with long and short option values survives encode -> decode -> copy.
TEST(OptionValue, LongValuesRoundTripThroughTheCodec) {
    Message m(code::post, Token::from_u64(0x1234));
    m.add_option(option::uri_path, "rd");
    m.add_option(option::uri_query, std::string(300, 'q'));
    m.add_option(option::uri_query, "ep=device-with-a-name-longer-than-24");
    const Message copy = m;
    auto frames = encode(copy);
    auto decoded = decode_frame(frames);
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(*decoded, m);
}

}  // namespace
}  // namespace lwgate::coap
