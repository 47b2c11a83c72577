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

// What the survivor of a cluster instance's crash met: 8,300 devices of its own, and then
// connections of the dead instance's devices far beyond its share. Each accepted connection
// took one of the last descriptors; their sessions must not take the ones that are not there.
TEST(DescriptorBudget, SessionsStopWhereTheConnectionsLeftNoDescriptor) {
    const DescriptorBudget budget(20'000);
    const std::uint64_t own = 8'300;
    ASSERT_LT(own, budget.registrations(0));
    EXPECT_TRUE(budget.opens_session(own + 100, own + 1));
    // 3,000 more connections were accepted (each within the limit when it came) ...
    EXPECT_TRUE(budget.accepts(own + 2'999, own));
    // ... and leave room for a handful of sessions, not for 3,000.
    EXPECT_TRUE(budget.opens_session(own + 3'000, own + 10));
    EXPECT_FALSE(budget.opens_session(own + 3'000, own + 20));
    EXPECT_LT(own + 20, budget.registrations(0)) << "max_registrations alone would allow it";
    EXPECT_TRUE(DescriptorBudget(DescriptorBudget::unlimited).opens_session(1'000'000, 999'999));
}

TEST(DescriptorBudget, NearTheLimit) {
    const DescriptorBudget budget(1'000);
    EXPECT_FALSE(budget.near_limit(899));
    EXPECT_TRUE(budget.near_limit(900));
}

}  // namespace
}  // namespace lwgate::app
