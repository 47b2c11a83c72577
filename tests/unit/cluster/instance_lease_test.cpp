#include "cluster/instance_lease.hpp"

#include <gtest/gtest.h>

namespace lwgate::cluster {
namespace {

using namespace std::chrono_literals;
const TimePoint t0 = TimePoint{} + 1000s;

TEST(InstanceLeaseTest, RenewsEveryThirdAndCountsFromTheSending) {
    InstanceLease lease(9s);
    EXPECT_FALSE(lease.valid(t0));
    EXPECT_LE(lease.next_renewal(), t0) << "at once";
    lease.renewal_sent(t0);
    EXPECT_EQ(lease.next_renewal(), never) << "one in flight at a time";
    EXPECT_FALSE(lease.renewed(t0 + 2s, false)) << "the first is no lapse";
    EXPECT_EQ(lease.held_until(), t0 + 9s) << "from the sending, not the answer";
    EXPECT_EQ(lease.next_renewal(), t0 + 5s);
    EXPECT_TRUE(lease.valid(t0 + 8s));
    EXPECT_FALSE(lease.valid(t0 + 9s));
}

TEST(InstanceLeaseTest, AnAnswerThatFoundNoLeaseReportsALapse) {
    InstanceLease lease(9s);
    lease.renewal_sent(t0);
    (void)lease.renewed(t0, false);
    lease.renewal_sent(t0 + 3s);
    EXPECT_FALSE(lease.renewed(t0 + 3s, true));
    lease.renewal_sent(t0 + 20s);  // cut off from the store meanwhile
    EXPECT_TRUE(lease.renewed(t0 + 20s, false));
    EXPECT_TRUE(lease.valid(t0 + 28s));
}

TEST(InstanceLeaseTest, AFailureRetriesSoonAndAnAnswerTimesOut) {
    InstanceLease lease(10s);
    lease.renewal_sent(t0);
    EXPECT_EQ(lease.answer_deadline(), t0 + Duration(10s) / 3);
    lease.renewal_failed(t0 + 3s);
    EXPECT_EQ(lease.answer_deadline(), never);
    EXPECT_EQ(lease.next_renewal(), t0 + 4s);
    EXPECT_FALSE(lease.renewed(t0 + 4s, true)) << "nothing in flight: a late answer is ignored";
    EXPECT_FALSE(lease.valid(t0 + 4s));
}

}  // namespace
}  // namespace lwgate::cluster
