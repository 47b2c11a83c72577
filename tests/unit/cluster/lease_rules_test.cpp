#include "cluster/lease_rules.hpp"

#include <gtest/gtest.h>

namespace lwgate::cluster {
namespace {

const InstanceId a{"a", 1};
const InstanceId b{"b", 7};

TEST(LeaseRulesTest, TheFirstClaimTakesTheNextEpoch) {
    OwnerRecord r;
    const auto got = claim(r, a, false);
    EXPECT_EQ(got.outcome, ClaimOutcome::granted);
    EXPECT_EQ(got.epoch, 1u);
    EXPECT_EQ(r.owner, a);
}

TEST(LeaseRulesTest, ItsOwnerClaimsAgainUnderTheSameEpoch) {
    OwnerRecord r;
    (void)claim(r, a, false);
    const auto again = claim(r, a, true);
    EXPECT_EQ(again.outcome, ClaimOutcome::granted);
    EXPECT_EQ(again.epoch, 1u);
}

TEST(LeaseRulesTest, ALiveHolderKeepsItAndIsNamed) {
    OwnerRecord r;
    (void)claim(r, a, false);
    const auto got = claim(r, b, true);
    EXPECT_EQ(got.outcome, ClaimOutcome::held);
    EXPECT_EQ(got.holder, a);
    EXPECT_EQ(r.owner, a);
    EXPECT_EQ(r.epoch, 1u);
}

TEST(LeaseRulesTest, ADeadHolderLosesItToTheNextEpochAndItsWritesAreFenced) {
    OwnerRecord r;
    (void)claim(r, a, false);
    const auto got = claim(r, b, false);
    EXPECT_EQ(got.outcome, ClaimOutcome::granted);
    EXPECT_EQ(got.epoch, 2u);
    EXPECT_FALSE(may_write(r, a, 1)) << "the stale instance comes back: refused";
    EXPECT_FALSE(release(r, a, 1));
    EXPECT_EQ(r.owner, b);
    EXPECT_TRUE(may_write(r, b, 2));
}

TEST(LeaseRulesTest, ARestartedInstanceIsAnotherIncarnation) {
    OwnerRecord r;
    (void)claim(r, a, false);
    const InstanceId a_again{"a", 2};
    // Its previous run's lease is gone (another incarnation's key): the record's holder is dead.
    const auto got = claim(r, a_again, false);
    EXPECT_EQ(got.outcome, ClaimOutcome::granted);
    EXPECT_EQ(got.epoch, 2u);
    EXPECT_FALSE(may_write(r, a, 1));
}

TEST(LeaseRulesTest, AReleaseKeepsTheEpochForTheNextOwner) {
    OwnerRecord r;
    (void)claim(r, a, false);
    EXPECT_FALSE(release(r, a, 2)) << "not under the epoch it holds";
    EXPECT_FALSE(release(r, b, 1)) << "not its owner";
    EXPECT_TRUE(release(r, a, 1));
    EXPECT_FALSE(r.owner);
    EXPECT_FALSE(may_write(r, a, 1));
    const auto got = claim(r, b, true);
    EXPECT_EQ(got.outcome, ClaimOutcome::granted);
    EXPECT_EQ(got.epoch, 2u);
}

}  // namespace
}  // namespace lwgate::cluster
