#include "session/address_counts.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace lwgate::session {
namespace {

using Address = AddressCounts::Address;

Address v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
    return {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d};
}

Address v6(std::uint16_t last) {
    Address out{0x20, 0x01, 0x0d, 0xb8};
    out[14] = static_cast<std::uint8_t>(last >> 8);
    out[15] = static_cast<std::uint8_t>(last);
    return out;
}

TEST(AddressCounts, LimitsEachAddressOnItsOwn) {
    AddressCounts counts(42);
    const auto attacker = v4(127, 0, 0, 1);
    const auto device = v4(127, 0, 0, 2);
    for (int i = 0; i < 3; ++i)
        EXPECT_TRUE(counts.try_add(attacker, 3)) << i;
    EXPECT_FALSE(counts.try_add(attacker, 3));
    EXPECT_FALSE(counts.try_add(attacker, 3));
    EXPECT_EQ(counts.count(attacker), 3u) << "a refusal counts nothing";
    EXPECT_TRUE(counts.try_add(device, 3));
    EXPECT_EQ(counts.count(device), 1u);
    counts.remove(attacker);
    EXPECT_TRUE(counts.try_add(attacker, 3)) << "a freed place can be taken again";
}

TEST(AddressCounts, LimitZeroCountsWithoutLimit) {
    AddressCounts counts;
    for (int i = 0; i < 1000; ++i)
        ASSERT_TRUE(counts.try_add(v6(1), 0));
    EXPECT_EQ(counts.count(v6(1)), 1000u);
}

// Memory is bounded by what is counted: entries go when their count reaches 0, whatever the
// number of distinct addresses seen before.
TEST(AddressCounts, AddressesAreForgottenAtZero) {
    AddressCounts counts(7);
    for (std::uint16_t i = 0; i < 5000; ++i) {
        ASSERT_TRUE(counts.try_add(v6(i), 2));
        ASSERT_TRUE(counts.try_add(v6(i), 2));
    }
    EXPECT_EQ(counts.addresses(), 5000u);
    for (std::uint16_t i = 0; i < 5000; ++i) {
        counts.remove(v6(i));
        counts.remove(v6(i));
    }
    EXPECT_EQ(counts.addresses(), 0u);
    EXPECT_EQ(counts.count(v6(1)), 0u);
}

TEST(AddressCounts, RemovingAnUncountedAddressChangesNothing) {
    AddressCounts counts;
    counts.remove(v4(10, 0, 0, 1));
    EXPECT_EQ(counts.addresses(), 0u);
    ASSERT_TRUE(counts.try_add(v4(10, 0, 0, 1), 1));
    counts.remove(v4(10, 0, 0, 2));
    EXPECT_EQ(counts.count(v4(10, 0, 0, 1)), 1u);
}

TEST(PendingHandshakes, TicketGivesItsCountBackOnce) {
    PendingHandshakes pending(1);
    const auto a = v4(192, 0, 2, 1);
    auto first = pending.admit(a, 2);
    auto second = pending.admit(a, 2);
    ASSERT_TRUE(first && second);
    EXPECT_TRUE(*first);
    EXPECT_FALSE(pending.admit(a, 2));
    first->release();
    first->release();
    EXPECT_EQ(pending.count(a), 1u);
    {
        auto third = pending.admit(a, 2);
        ASSERT_TRUE(third);
        EXPECT_EQ(pending.count(a), 2u);
    }
    EXPECT_EQ(pending.count(a), 1u) << "a ticket gives its count back when destroyed";
    second.reset();
    EXPECT_EQ(pending.addresses(), 0u);
}

TEST(PendingHandshakes, MovedTicketsCountOnce) {
    PendingHandshakes pending(1);
    const auto a = v4(192, 0, 2, 1);
    auto admitted = pending.admit(a, 5);
    ASSERT_TRUE(admitted);
    PendingHandshakes::Ticket moved(std::move(*admitted));
    EXPECT_FALSE(*admitted);
    PendingHandshakes::Ticket assigned;
    assigned = std::move(moved);
    admitted.reset();
    EXPECT_EQ(pending.count(a), 1u);
    auto other = pending.admit(v4(192, 0, 2, 9), 5);
    ASSERT_TRUE(other);
    assigned = std::move(*other);  // the ticket it held is given back
    EXPECT_EQ(pending.count(a), 0u);
    EXPECT_EQ(pending.count(v4(192, 0, 2, 9)), 1u);
}

TEST(PendingHandshakes, LimitZeroCountsNothing) {
    PendingHandshakes pending(1);
    auto ticket = pending.admit(v4(127, 0, 0, 1), 0);
    ASSERT_TRUE(ticket);
    EXPECT_FALSE(*ticket);
    EXPECT_EQ(pending.addresses(), 0u);
}

// The accepting thread admits while shards give tickets back.
TEST(PendingHandshakes, AdmitAndReleaseFromSeveralThreads) {
    PendingHandshakes pending(3);
    const auto a = v4(127, 0, 0, 1);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 10'000; ++i) {
                auto ticket = pending.admit(a, 1'000'000);
                ASSERT_TRUE(ticket);
            }
        });
    }
    for (auto& t : threads)
        t.join();
    EXPECT_EQ(pending.addresses(), 0u);
}

}  // namespace
}  // namespace lwgate::session
