// Graceful shutdown: SIGTERM sends every device a 7.04 Release with a Hold-Off drawn from
// [hold_off_min, hold_off_max], waits for the devices to leave (up to drain_timeout) and exits 0.
#include <csignal>

#include "gateway_fixture.hpp"

namespace lwgate::integration {
namespace {

class ShutdownTest : public GatewayTest {
  protected:
    void SetUp() override {
        config.hold_off_min = "2s";
        config.hold_off_max = "4s";
    }

    void expect_release(DeviceClient& device) {
        auto release = device.receive(2s);
        ASSERT_TRUE(release.has_value()) << "no Release";
        ASSERT_EQ(release->code(), code::release) << coap::describe(*release);
        const auto hold_off = release_hold_off(*release);
        ASSERT_TRUE(hold_off.has_value()) << "Release without Hold-Off";
        EXPECT_GE(*hold_off, 2u);
        EXPECT_LE(*hold_off, 4u);
    }
};

TEST_F(ShutdownTest, SigtermReleasesDevicesAndExitsWhenTheyLeave) {
    config.drain_timeout = "10s";
    start_gateway();
    DeviceClient a = connect_ready();
    DeviceClient b = connect_ready();

    const auto signalled = SteadyClock::now();
    ASSERT_TRUE(gateway.signal(SIGTERM));
    expect_release(a);
    expect_release(b);
    a.close();
    b.close();

    const auto status = gateway.wait_exit(5s);
    ASSERT_TRUE(status.has_value()) << "gateway still running after its devices left";
    EXPECT_EQ(*status, 0);
    EXPECT_LT(ms_since(signalled), 3000ms) << "must not wait for the 10 s drain timeout";
    const auto log = gateway.log();
    EXPECT_EQ(gateway.count_in_log("reason=shutdown"), 2u) << log;
    EXPECT_EQ(gateway.count_in_log("drain timeout"), 0u) << log;
    EXPECT_NE(log.find("stopped: accepted=2"), std::string::npos) << log;
}

TEST_F(ShutdownTest, SigtermWithoutDevicesExitsAtOnce) {
    start_gateway();
    const auto signalled = SteadyClock::now();
    ASSERT_TRUE(gateway.signal(SIGTERM));
    const auto status = gateway.wait_exit(5s);
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(*status, 0);
    EXPECT_LT(ms_since(signalled), 1500ms);
    // Why it stopped, at warning level (journalctl -p warning shows it).
    const auto log = gateway.log();
    const auto at = log.find("] stopping: SIGTERM received; draining 0 connection(s)");
    ASSERT_NE(at, std::string::npos) << log;
    const auto start = log.rfind('\n', at) + 1;
    EXPECT_NE(log.substr(start, at - start).find(" warning ["), std::string::npos) << log;
}

TEST_F(ShutdownTest, DrainTimeoutClosesDevicesThatStay) {
    config.drain_timeout = "1s";
    start_gateway();
    DeviceClient stubborn = connect_ready();
    DeviceClient polite = connect_ready();

    const auto signalled = SteadyClock::now();
    ASSERT_TRUE(gateway.signal(SIGTERM));
    expect_release(stubborn);
    expect_release(polite);
    polite.close();

    // The stubborn device keeps its end open; the gateway closes it at the drain timeout.
    const auto state = stubborn.wait_closed(4s);
    EXPECT_NE(state, CloseState::still_open);
    const auto status = gateway.wait_exit(4s);
    ASSERT_TRUE(status.has_value()) << "gateway did not exit after the drain timeout";
    EXPECT_EQ(*status, 0);
    const auto elapsed = ms_since(signalled);
    EXPECT_GE(elapsed, 1000ms - 50ms) << "exited before the drain timeout";
    EXPECT_LE(elapsed, 1000ms + 2500ms);
    EXPECT_GE(ms_between(signalled, *stubborn.closed_at()), 1000ms - 50ms);
    EXPECT_TRUE(gateway.wait_for_log("drain timeout", 0ms));
}

}  // namespace
}  // namespace lwgate::integration
