// Unexpected signaling from devices (Anjay sends spurious Releases): a Release or an Abort from
// a device closes only that connection, cleanly, with the matching reason in the log.
#include "gateway_fixture.hpp"

namespace lwgate::integration {
namespace {

class DeviceSignalingTest : public GatewayTest {
  protected:
    void expect_other_served(DeviceClient& other) {
        EXPECT_EQ(other.wait_closed(0ms), CloseState::still_open);
        EXPECT_TRUE(other.ping(coap::Token::from_u64(0x10)).has_value());
        ASSERT_TRUE(other.send(request(code::get, 0x11)));
        auto response = other.receive(2s);
        ASSERT_TRUE(response.has_value());
        EXPECT_TRUE(is_answer_to(*response, 0x11)) << coap::describe(*response);
        // A new device is still accepted.
        DeviceClient fresh = connect_ready();
        EXPECT_TRUE(fresh.ping(coap::Token::from_u64(0x12)).has_value());
    }
};

TEST_F(DeviceSignalingTest, ReleaseFromDeviceClosesThatConnection) {
    start_gateway();
    DeviceClient other = connect_ready();
    DeviceClient device = connect_ready();
    ASSERT_TRUE(device.send(coap::make_release(std::nullopt, 30, "going away")));
    EXPECT_EQ(device.wait_closed(3s), CloseState::closed_fin);
    EXPECT_EQ(device.inbox_size(), 0u) << "nothing expected after a device Release";
    device.close();
    EXPECT_TRUE(gateway.wait_for_log("reason=release_received", 2s));
    expect_other_served(other);
}

TEST_F(DeviceSignalingTest, ReleaseWithAlternativeAddressIsTolerated) {
    start_gateway();
    DeviceClient device = connect_ready();
    ASSERT_TRUE(device.send(coap::make_release("coap+tcp://127.0.0.1:1", std::nullopt)));
    EXPECT_EQ(device.wait_closed(3s), CloseState::closed_fin);
    device.close();
    EXPECT_TRUE(gateway.wait_for_log("reason=release_received", 2s));
}

TEST_F(DeviceSignalingTest, AbortFromDeviceClosesThatConnection) {
    start_gateway();
    DeviceClient other = connect_ready();
    DeviceClient device = connect_ready();
    ASSERT_TRUE(device.send(coap::make_abort(std::nullopt, "device abort")));
    EXPECT_EQ(device.wait_closed(3s), CloseState::closed_fin);
    EXPECT_EQ(device.inbox_size(), 0u) << "nothing expected after a device Abort";
    device.close();
    EXPECT_TRUE(gateway.wait_for_log("reason=abort_received", 2s));
    expect_other_served(other);
}

}  // namespace
}  // namespace lwgate::integration
