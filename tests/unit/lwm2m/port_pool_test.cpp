#include "lwgate/lwm2m/port_pool.hpp"

#include <gtest/gtest.h>

#include <set>

namespace lwgate::lwm2m {
namespace {

TEST(PortPool, WithoutRangeTheKernelChooses) {
    PortPool pool;
    EXPECT_FALSE(pool.ranged());
    EXPECT_EQ(pool.acquire(), 0);
    EXPECT_EQ(pool.acquire(), 0);
}

TEST(PortPool, ShardsSplitTheRangeWithoutOverlap) {
    std::set<std::uint16_t> seen;
    for (unsigned shard = 0; shard < 3; ++shard) {
        PortPool pool(40000, 40009, shard, 3);
        while (auto p = pool.acquire()) {
            EXPECT_EQ(*p % 3, shard);
            EXPECT_TRUE(seen.insert(*p).second) << *p << " given twice";
        }
    }
    EXPECT_EQ(seen.size(), 10u);
    EXPECT_EQ(*seen.begin(), 40000);
    EXPECT_EQ(*seen.rbegin(), 40009);
}

TEST(PortPool, ExhaustionAndReleaseReusesLast) {
    PortPool pool(50000, 50002, 0, 1);
    EXPECT_EQ(pool.acquire(), 50000);
    EXPECT_EQ(pool.acquire(), 50001);
    EXPECT_EQ(pool.acquire(), 50002);
    EXPECT_EQ(pool.acquire(), std::nullopt);
    pool.release(50001);
    EXPECT_EQ(pool.free_count(), 1u);
    EXPECT_EQ(pool.acquire(), 50001);
    pool.release(50000);
    pool.release(50002);
    // Round-robin: the port after the last one handed out comes first.
    EXPECT_EQ(pool.acquire(), 50002);
    EXPECT_EQ(pool.acquire(), 50000);
    pool.release(12345);  // not ours: ignored
    EXPECT_EQ(pool.free_count(), 0u);
}

TEST(PortPool, TakeMarksAStoredPortUsed) {
    PortPool pool(40000, 40003, 0, 2);  // this shard: 40000, 40002
    EXPECT_TRUE(pool.take(40002));
    EXPECT_FALSE(pool.take(40002)) << "already taken";
    EXPECT_FALSE(pool.take(40001)) << "another shard's port";
    EXPECT_FALSE(pool.take(50000)) << "outside the range";
    EXPECT_EQ(pool.acquire(), 40000);
    EXPECT_EQ(pool.acquire(), std::nullopt);
    pool.release(40002);
    EXPECT_EQ(pool.acquire(), 40002);
    PortPool any;
    EXPECT_TRUE(any.take(12345));
}

}  // namespace
}  // namespace lwgate::lwm2m
