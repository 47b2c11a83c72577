#include "app/descriptor_budget.hpp"

#include <gtest/gtest.h>

namespace lwgate::app {
namespace {

// This machine's hard limit: 20,000 descriptors for a whole process.
TEST(DescriptorBudget, RegistrationsFitTheLimitWithEveryDeviceConnected) {
    const DescriptorBudget budget(20'000);
    const auto max = budget.registrations(0);
    EXPECT_GT(max, 9'000u);
    // Every registration connected, with its libcoap contexts: still within the budget.
    EXPECT_TRUE(budget.accepts(max - 1, max));
    EXPECT_TRUE(budget.accepts(max + 200, max)) << "room for devices that have not registered";
    EXPECT_FALSE(budget.accepts(max + 1000, max));
    EXPECT_EQ(budget.registrations(500), 500u) << "a configured value wins";
    EXPECT_EQ(DescriptorBudget(100).registrations(0), 0u);
    EXPECT_EQ(DescriptorBudget(DescriptorBudget::unlimited).registrations(0),
              DescriptorBudget::unlimited);
}

TEST(DescriptorBudget, ConnectionsStopBeforeTheLimit) {
    const DescriptorBudget budget(1'000);
    EXPECT_TRUE(budget.accepts(700, 0));
    EXPECT_FALSE(budget.accepts(744, 0)) << "the reserve stays free";
    EXPECT_FALSE(budget.accepts(400, 400));
    EXPECT_TRUE(DescriptorBudget(DescriptorBudget::unlimited).accepts(1'000'000, 1'000'000));
}

TEST(DescriptorBudget, NearTheLimit) {
    const DescriptorBudget budget(1'000);
    EXPECT_FALSE(budget.near_limit(899));
    EXPECT_TRUE(budget.near_limit(900));
}

}  // namespace
}  // namespace lwgate::app
