#include "lwm2m/port_pool.hpp"

#include <gtest/gtest.h>

#include <set>
#include <utility>

namespace lwgate::lwm2m {
namespace {

constexpr LocalPort on0(std::uint16_t port) {
    return {0, port};
}

TEST(PortPool, WithoutRangeTheKernelChooses) {
    PortPool pool;
    EXPECT_FALSE(pool.ranged());
    EXPECT_EQ(pool.acquire(), on0(0));
    EXPECT_EQ(pool.acquire(), on0(0));
}

TEST(PortPool, WithoutRangeSeveralAddressesTakeTurns) {
    PortPool pool(3, 0, 0, 0, 1);
    EXPECT_EQ(pool.acquire(), (LocalPort{0, 0}));
    EXPECT_EQ(pool.acquire(), (LocalPort{1, 0}));
    EXPECT_EQ(pool.acquire(), (LocalPort{2, 0}));
    EXPECT_EQ(pool.acquire(), (LocalPort{0, 0}));
}

TEST(PortPool, ShardsSplitTheRangeWithoutOverlap) {
    std::set<std::uint16_t> seen;
    for (unsigned shard = 0; shard < 3; ++shard) {
        PortPool pool(1, 40000, 40009, shard, 3);
        while (auto p = pool.acquire()) {
            EXPECT_EQ(p->address, 0);
            EXPECT_EQ(p->port % 3, shard);
            EXPECT_TRUE(seen.insert(p->port).second) << p->port << " given twice";
        }
    }
    EXPECT_EQ(seen.size(), 10u);
    EXPECT_EQ(*seen.begin(), 40000);
    EXPECT_EQ(*seen.rbegin(), 40009);
}

TEST(PortPool, EveryAddressAddsTheWholeRange) {
    std::set<std::pair<std::uint16_t, std::uint16_t>> seen;
    for (unsigned shard = 0; shard < 2; ++shard) {
        PortPool pool(3, 40000, 40003, shard, 2);
        EXPECT_EQ(pool.free_count(), 6u);
        std::optional<std::uint16_t> last_address;
        while (auto p = pool.acquire()) {
            EXPECT_LT(p->address, 3);
            EXPECT_NE(last_address, p->address) << "consecutive devices alternate addresses";
            last_address = p->address;
            EXPECT_TRUE(seen.insert({p->address, p->port}).second);
        }
    }
    EXPECT_EQ(seen.size(), 12u) << "3 addresses x 4 ports";
}

TEST(PortPool, ExhaustionAndReleaseReusesLast) {
    PortPool pool(1, 50000, 50002, 0, 1);
    EXPECT_EQ(pool.acquire(), on0(50000));
    EXPECT_EQ(pool.acquire(), on0(50001));
    EXPECT_EQ(pool.acquire(), on0(50002));
    EXPECT_EQ(pool.acquire(), std::nullopt);
    pool.release(on0(50001));
    EXPECT_EQ(pool.free_count(), 1u);
    EXPECT_EQ(pool.acquire(), on0(50001));
    pool.release(on0(50000));
    pool.release(on0(50002));
    // Round-robin: the port after the last one handed out comes first.
    EXPECT_EQ(pool.acquire(), on0(50002));
    EXPECT_EQ(pool.acquire(), on0(50000));
    pool.release(on0(12345));           // not ours: ignored
    pool.release(LocalPort{1, 50000});  // no such address: ignored
    EXPECT_EQ(pool.free_count(), 0u);
}

TEST(PortPool, TakeMarksAStoredPortUsed) {
    PortPool pool(1, 40000, 40003, 0, 2);  // this shard: 40000, 40002
    EXPECT_TRUE(pool.take(on0(40002)));
    EXPECT_FALSE(pool.take(on0(40002))) << "already taken";
    EXPECT_FALSE(pool.take(on0(40001))) << "another shard's port";
    EXPECT_FALSE(pool.take(on0(50000))) << "outside the range";
    EXPECT_FALSE(pool.take(LocalPort{1, 40000})) << "no such address";
    EXPECT_EQ(pool.acquire(), on0(40000));
    EXPECT_EQ(pool.acquire(), std::nullopt);
    pool.release(on0(40002));
    EXPECT_EQ(pool.acquire(), on0(40002));
    PortPool any;
    EXPECT_TRUE(any.take(on0(12345)));
}

TEST(PortPool, TakeOnTheSecondAddress) {
    PortPool pool(2, 40000, 40000, 0, 1);
    EXPECT_TRUE(pool.take(LocalPort{1, 40000}));
    EXPECT_EQ(pool.acquire(), (LocalPort{0, 40000}));
    EXPECT_EQ(pool.acquire(), std::nullopt);
}

}  // namespace
}  // namespace lwgate::lwm2m
