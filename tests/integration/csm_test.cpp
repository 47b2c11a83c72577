// The CSM exchange (RFC 8323 §5.3): our CSM goes out at once; strict mode aborts peers that do
// not start with a CSM or send none in time; lenient mode serves them with the base values.
#include "gateway_fixture.hpp"

namespace lwgate::integration {
namespace {

class CsmTest : public GatewayTest {
  protected:
    void SetUp() override {
        config.csm_timeout = "500ms";
        config.max_message_size = "4096";
    }
};

TEST_F(CsmTest, GatewaySendsItsCsmImmediately) {
    start_gateway();
    DeviceClient device = connect();
    const auto connected = SteadyClock::now();
    auto csm = device.expect_csm(2s);  // we have sent nothing
    ASSERT_TRUE(csm.has_value());
    EXPECT_LT(ms_since(connected), 400ms) << "CSM must not wait for the device's";
    EXPECT_EQ(csm->uint_option(coap::signal_option::max_message_size),
              std::optional<std::uint32_t>(4096));
    EXPECT_NE(csm->find_option(coap::signal_option::block_wise_transfer), nullptr);
}

TEST_F(CsmTest, StrictRequestBeforeCsmIsAborted) {
    start_gateway();
    DeviceClient device = connect();
    ASSERT_TRUE(device.send(request(code::get, 0x01)));
    ASSERT_TRUE(device.expect_csm(2s).has_value());
    auto abort = device.receive(2s);
    ASSERT_TRUE(abort.has_value());
    EXPECT_EQ(abort->code(), code::abort) << coap::describe(*abort);
    EXPECT_EQ(device.wait_closed(3s), CloseState::closed_fin);
    device.close();
    EXPECT_TRUE(gateway.wait_for_log("reason=abort_sent", 2s));
}

TEST_F(CsmTest, StrictNoCsmIsAbortedAfterCsmTimeout) {
    start_gateway();
    const auto connected = SteadyClock::now();
    DeviceClient device = connect();
    ASSERT_TRUE(device.expect_csm(2s).has_value());
    auto abort = device.receive(3s);
    ASSERT_TRUE(abort.has_value());
    EXPECT_EQ(abort->code(), code::abort) << coap::describe(*abort);
    const auto after = ms_since(connected);
    EXPECT_GE(after, 500ms - 50ms);
    EXPECT_LE(after, 500ms + 1000ms);
    EXPECT_EQ(device.wait_closed(3s), CloseState::closed_fin);
    device.close();
    EXPECT_TRUE(gateway.wait_for_log("reason=csm_timeout", 2s));
}

// A device whose CSM says Max-Message-Size 0, or anything below the floor of 64 bytes, could be
// sent no answer at all: it gets 7.05 Abort naming the option (Bad-CSM-Option 2) and the floor,
// and the connection closes, instead of a connection on which every answer is dropped unsent.
TEST_F(CsmTest, MaxMessageSizeBelowTheFloorIsAborted) {
    start_gateway();
    for (std::uint32_t size : {0u, 63u}) {
        DeviceClient device = connect();
        ASSERT_TRUE(device.send(coap::make_csm(size, false)));
        ASSERT_TRUE(device.send(request(code::get, 0x01)));
        ASSERT_TRUE(device.expect_csm(2s).has_value());
        auto abort = device.receive(2s);
        ASSERT_TRUE(abort.has_value()) << size << ": nothing after the gateway's CSM";
        EXPECT_EQ(abort->code(), code::abort) << coap::describe(*abort);
        EXPECT_EQ(abort->uint_option(coap::signal_option::bad_csm_option),
                  std::optional<std::uint32_t>(coap::signal_option::max_message_size));
        EXPECT_EQ(std::string(abort->payload().begin(), abort->payload().end()),
                  "Max-Message-Size " + std::to_string(size) + " is below the minimum of 64 bytes");
        EXPECT_EQ(device.wait_closed(3s), CloseState::closed_fin);
    }
    EXPECT_TRUE(gateway.wait_for_log("reason=abort_sent", 2s, 2)) << gateway.log();
}

// At the floor the device is served: the gateway's own answers fit in 64 bytes.
TEST_F(CsmTest, MaxMessageSizeAtTheFloorIsServed) {
    start_gateway();
    DeviceClient device = connect();
    ASSERT_TRUE(device.send(coap::make_csm(coap::min_peer_max_message_size, false)));
    ASSERT_TRUE(device.send(request(code::get, 0x02)));
    ASSERT_TRUE(device.expect_csm(2s).has_value());
    auto response = device.receive(2s);
    ASSERT_TRUE(response.has_value());
    EXPECT_TRUE(is_answer_to(*response, 0x02)) << coap::describe(*response);
    EXPECT_EQ(device.wait_closed(300ms), CloseState::still_open);
}

TEST_F(CsmTest, LenientRequestBeforeCsmIsAnsweredAndConnectionStays) {
    config.csm_mode = "lenient";
    config.csm_timeout = "300ms";
    start_gateway();
    DeviceClient device = connect();
    ASSERT_TRUE(device.send(request(code::get, 0x07)));
    ASSERT_TRUE(device.expect_csm(2s).has_value());
    auto response = device.receive(2s);
    ASSERT_TRUE(response.has_value());
    EXPECT_TRUE(is_answer_to(*response, 0x07)) << coap::describe(*response);

    // Past the CSM timeout, without ever sending a CSM: still served.
    EXPECT_EQ(device.wait_closed(600ms), CloseState::still_open);
    EXPECT_TRUE(device.ping(coap::Token::from_u64(0x08)).has_value());
    ASSERT_TRUE(device.send(request(code::get, 0x09)));
    auto second = device.receive(2s);
    ASSERT_TRUE(second.has_value());
    EXPECT_TRUE(is_answer_to(*second, 0x09)) << coap::describe(*second);
    EXPECT_EQ(gateway.count_in_log("closed reason="), 0u);
}

}  // namespace
}  // namespace lwgate::integration
