// The inbox notices and the claim script's answers: what another instance (or a damaged inbox)
// can put in front of this one is decoded or skipped, never trusted half-way.
#include "cluster/notice.hpp"

#include <gtest/gtest.h>

namespace lwgate::cluster {
namespace {

TEST(Notice, RoundTripsEveryKindWithAnEndpointContainingSpaces) {
    for (auto kind : {NoticeKind::handover, NoticeKind::released}) {
        const Notice n{kind, InstanceId{"gw-a", 18446744073709551615u}, "urn:dev 1 / x"};
        auto back = decode_notice(encode_notice(n));
        ASSERT_TRUE(back);
        EXPECT_EQ(back->kind, kind);
        EXPECT_EQ(back->from, n.from);
        EXPECT_EQ(back->endpoint, n.endpoint);
    }
}

TEST(Notice, TheWireFormatIsReadableText) {
    EXPECT_EQ(encode_notice({NoticeKind::handover, InstanceId{"gw-b", 7}, "urn:imei:1"}),
              "handover gw-b 7 urn:imei:1");
}

TEST(Notice, AnythingElseIsSkipped) {
    for (const char* bad : {"", "handover", "handover gw-a", "handover gw-a 7", "handover gw-a 7 ",
                            "takeover gw-a 7 ep", "handover gw-a x ep", "handover gw-a -1 ep",
                            "handover gw-a 99999999999999999999 ep", "handover  7 ep",
                            "released gw-a 7"}) {
        EXPECT_FALSE(decode_notice(bad)) << bad;
    }
    EXPECT_FALSE(decode_notice("handover gw-a 7 " + std::string(600, 'e'))) << "capped";
}

TEST(ClaimReply, GrantedAndHeld) {
    auto granted = decode_claim_reply("granted 12");
    ASSERT_TRUE(granted);
    EXPECT_EQ(granted->outcome, ClaimOutcome::granted);
    EXPECT_EQ(granted->epoch, 12u);
    EXPECT_FALSE(granted->holder);

    auto held = decode_claim_reply("held gw-a 42 3");
    ASSERT_TRUE(held);
    EXPECT_EQ(held->outcome, ClaimOutcome::held);
    EXPECT_EQ(held->epoch, 3u);
    ASSERT_TRUE(held->holder);
    EXPECT_EQ(*held->holder, (InstanceId{"gw-a", 42}));
}

TEST(ClaimReply, UnexpectedAnswersAreNotResults) {
    for (const char* bad : {"", "granted", "granted x", "granted 1 2", "held gw-a 42",
                            "held gw-a x 3", "held gw-a 42 3 4", "refused", "ERR script"}) {
        EXPECT_FALSE(decode_claim_reply(bad)) << bad;
    }
}

}  // namespace
}  // namespace lwgate::cluster
