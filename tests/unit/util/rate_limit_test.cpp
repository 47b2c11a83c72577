// Token buckets: the accept rate, per-device notification pacing and per-address registration
// limits all rest on them. Fake clock only.
#include <gtest/gtest.h>

#include <string>

#include "util/address_rate_limiter.hpp"
#include "util/token_bucket.hpp"

namespace lwgate {
namespace {

using namespace std::chrono_literals;
const TimePoint t0 = TimePoint{} + 10h;

TEST(TokenBucket, BurstThenRateAndTheNextTokenTime) {
    TokenBucket b(10, 2, t0);
    EXPECT_TRUE(b.try_take(t0));
    EXPECT_TRUE(b.try_take(t0));
    EXPECT_FALSE(b.try_take(t0));
    EXPECT_EQ(b.next_token_at(), t0 + 100ms);
    EXPECT_FALSE(b.try_take(t0 + 99ms));
    EXPECT_TRUE(b.try_take(t0 + 100ms));
    TokenBucket unlimited(0, 1, t0);
    for (int i = 0; i < 1000; ++i)
        EXPECT_TRUE(unlimited.try_take(t0));
}

TEST(AddressRateLimiter, EachAddressHasItsOwnBudget) {
    AddressRateLimiter limiter(1, 2);
    EXPECT_TRUE(limiter.allow("10.0.0.1", t0));
    EXPECT_TRUE(limiter.allow("10.0.0.1", t0));
    EXPECT_FALSE(limiter.allow("10.0.0.1", t0)) << "the burst is spent";
    EXPECT_TRUE(limiter.allow("10.0.0.2", t0)) << "another address is not affected";
    EXPECT_TRUE(limiter.allow("10.0.0.1", t0 + 1s));
}

// An attacker spraying source addresses cannot grow the table without bound.
TEST(AddressRateLimiter, MemoryIsBoundedWhateverTheAddresses) {
    AddressRateLimiter limiter(1, 1, 100);
    for (int i = 0; i < 10'000; ++i)
        limiter.allow("10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256), t0);
    EXPECT_LE(limiter.addresses(), 100u);
    // Idle buckets are forgotten first: a busy address keeps its state.
    AddressRateLimiter small(1, 1, 2);
    EXPECT_TRUE(small.allow("busy", t0 + 10s));
    EXPECT_TRUE(small.allow("idle", t0));
    EXPECT_TRUE(small.allow("new", t0 + 10s));  // "idle" refilled long ago: dropped
    EXPECT_FALSE(small.allow("busy", t0 + 10s));
}

TEST(AddressRateLimiter, AddressOfARemote) {
    EXPECT_EQ(address_of("127.0.0.1:40000"), "127.0.0.1");
    EXPECT_EQ(address_of("[2001:db8::1]:5684"), "2001:db8::1");
    EXPECT_EQ(address_of("host"), "host");
}

}  // namespace
}  // namespace lwgate
