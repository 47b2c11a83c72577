#include <gtest/gtest.h>

#include "admin/model.hpp"
#include "snapshot_builder.hpp"

namespace lwgate::admin {
namespace {

using namespace test;
namespace code = coap::code;

coap::Message request(std::uint8_t method, std::initializer_list<const char*> path) {
    coap::Message m(method);
    for (const char* segment : path)
        m.add_option(coap::option::uri_path, std::string_view(segment));
    return m;
}

TEST(BridgeAdminStats, DownlinkOperations) {
    EXPECT_EQ(downlink_operation(request(code::get, {"3", "0", "0"})), "read");
    auto observe = request(code::get, {"3", "0", "13"});
    observe.add_uint_option(coap::option::observe, 0);
    EXPECT_EQ(downlink_operation(observe), "observe");
    auto discover = request(code::get, {"3"});
    discover.add_uint_option(coap::option::accept, 40);
    EXPECT_EQ(downlink_operation(discover), "discover");
    EXPECT_EQ(downlink_operation(request(code::put, {"3", "0", "14"})), "write");
    EXPECT_EQ(downlink_operation(request(code::post, {"3", "0"})), "write");
    EXPECT_EQ(downlink_operation(request(code::post, {"3", "0", "4"})), "execute");
    EXPECT_EQ(downlink_operation(request(code::post, {"1"})), "create");
    EXPECT_EQ(downlink_operation(request(code::post, {})), "other");
    EXPECT_EQ(downlink_operation(request(code::del, {"1", "1"})), "delete");
    EXPECT_EQ(downlink_operation(request(code::patch, {"1"})), "other");
}

TEST(BridgeAdminStats, CountsAnswersByOperationAndCode) {
    BridgeAdminStats st;
    const auto t1 = coap::Token::from_u64(1);
    const auto t2 = coap::Token::from_u64(2);
    st.uplink_sent(t1, lwm2m::Uplink::register_);
    st.uplink_sent(t2, lwm2m::Uplink::update);
    st.core_response(coap::Message(code::created, t1), t0);
    st.core_failure(t2, code::gateway_timeout, t0 + 1s);
    st.core_response(coap::Message(code::changed, t1), t0 + 2s);  // answered already: ignored
    st.downlink_received(7, request(code::get, {"3", "0", "0"}));
    st.downlink_answered(7, coap::Message(code::content));
    st.downlink_answered(8, coap::Message(code::content));  // unknown request: not counted
    const RelayCounts expected{{{true, "register", code::created}, 1},
                               {{true, "update", code::gateway_timeout}, 1},
                               {{false, "read", code::content}, 1}};
    EXPECT_EQ(st.relayed(), expected);
    EXPECT_EQ(st.last_core_response(), t0 + 2s);
    EXPECT_EQ(st.last_core_failure(), t0 + 1s);
}

TEST(BridgeAdminStats, QueueDropsFromTheRelaysOwnAnswers) {
    BridgeAdminStats st;
    coap::Message overflow(code::service_unavailable);
    overflow.add_uint_option(coap::option::max_age, 60);
    st.downlink_answered(1, overflow);
    coap::Message expired(code::gateway_timeout);
    expired.set_payload("device did not connect within max_age");
    st.downlink_answered(2, expired);
    coap::Message device_timeout(code::gateway_timeout);
    device_timeout.set_payload("device did not answer");
    st.downlink_answered(3, device_timeout);
    st.downlink_answered(4, coap::Message(code::service_unavailable));  // the device's own 5.03
    EXPECT_EQ(st.queue_overflow(), 1u);
    EXPECT_EQ(st.queue_expired(), 1u);
}

TEST(BridgeAdminStats, PendingMapsAreBounded) {
    BridgeAdminStats st;
    for (std::uint64_t i = 0; i < 3 * BridgeAdminStats::max_pending; ++i) {
        st.uplink_sent(coap::Token::from_u64(i + 1), lwm2m::Uplink::send);
        st.downlink_received(i, request(code::get, {"3"}));
    }
    // The newest ones are still answered and counted.
    const auto last = 3 * BridgeAdminStats::max_pending;
    st.core_response(coap::Message(code::changed, coap::Token::from_u64(last)), t0);
    st.downlink_answered(last - 1, coap::Message(code::content));
    EXPECT_EQ(st.relayed().size(), 2u);
}

}  // namespace
}  // namespace lwgate::admin
