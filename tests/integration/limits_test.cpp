// Connection limits: beyond connections.max or the accept rate, a device gets our CSM and a
// 7.04 Release with a Hold-Off, then the connection closes; admitted devices are untouched.
#include <sys/resource.h>

#include <fstream>
#include <sstream>

#include "gateway_fixture.hpp"

namespace lwgate::integration {
namespace {

class LimitsTest : public GatewayTest {
  protected:
    void SetUp() override {
        config.hold_off_min = "2s";
        config.hold_off_max = "4s";
        config.log_level = "debug";  // peer_closed is logged at debug level
    }

    // CSM, then Release with Hold-Off in [2, 4] s, then FIN.
    void expect_refused(DeviceClient& device) {
        auto csm = device.receive(2s);
        ASSERT_TRUE(csm.has_value());
        EXPECT_EQ(csm->code(), code::csm) << coap::describe(*csm);
        auto release = device.receive(2s);
        ASSERT_TRUE(release.has_value()) << "no Release";
        ASSERT_EQ(release->code(), code::release) << coap::describe(*release);
        const auto hold_off = release_hold_off(*release);
        ASSERT_TRUE(hold_off.has_value()) << "Release without Hold-Off";
        EXPECT_GE(*hold_off, 2u);
        EXPECT_LE(*hold_off, 4u);
        EXPECT_EQ(device.wait_closed(3s), CloseState::closed_fin);
    }

    // Handshake, Ping -> Pong, and no Release.
    void expect_admitted(DeviceClient& device) {
        auto csm = device.handshake_csm();
        ASSERT_TRUE(csm.has_value());
        auto pong = device.ping(coap::Token::from_u64(0x33));
        ASSERT_TRUE(pong.has_value());
        EXPECT_EQ(device.inbox_size(), 0u) << "unexpected messages (a Release?)";
        EXPECT_EQ(device.wait_closed(0ms), CloseState::still_open);
    }
};

TEST_F(LimitsTest, ConnectionLimitRefusesWithReleaseAndFreesSlotsOnClose) {
    config.max_connections = 2;
    start_gateway();
    DeviceClient first = connect();
    expect_admitted(first);
    DeviceClient second = connect();
    expect_admitted(second);

    DeviceClient third = connect();
    expect_refused(third);
    third.close();
    EXPECT_TRUE(gateway.wait_for_log("reason=limit_connections", 2s));

    // One admitted device leaves; once the gateway has seen it go, a new device is admitted.
    first.close();
    ASSERT_TRUE(gateway.wait_for_log("reason=peer_closed", 2s));
    // The slot is released on the shard right after that log line is written; retry briefly
    // (bounded) so the test does not depend on which thread runs first.
    const auto deadline = SteadyClock::now() + 2s;
    std::optional<DeviceClient> fourth;
    std::size_t refused_retries = 0;
    while (SteadyClock::now() < deadline) {
        DeviceClient candidate = connect();
        auto csm = candidate.handshake_csm();
        ASSERT_TRUE(csm.has_value());
        if (candidate.ping(coap::Token::from_u64(0x44)).has_value() &&
            candidate.inbox_size() == 0) {
            fourth.emplace(std::move(candidate));
            break;
        }
        ++refused_retries;
    }
    ASSERT_TRUE(fourth.has_value()) << "no device admitted after a slot was freed";
    EXPECT_TRUE(fourth->ping(coap::Token::from_u64(0x45)).has_value());
    EXPECT_EQ(fourth->wait_closed(0ms), CloseState::still_open);
    // Every refusal is one the test saw: the third device and the retries made before the
    // freed slot reached the acceptor. A refused device's close is logged when it hangs up,
    // so wait for all of them before counting.
    const std::size_t refusals = 1 + refused_retries;
    EXPECT_TRUE(gateway.wait_for_log("reason=limit_connections", 2s, refusals));
    EXPECT_EQ(gateway.count_in_log("reason=limit_connections"), refusals);
    EXPECT_EQ(second.wait_closed(0ms), CloseState::still_open);
}

// A burst of connections (accepts and closes) is followed by one heap trim once it is over, and
// the gateway goes on serving.
TEST_F(LimitsTest, BurstOfConnectionsIsFollowedByOneHeapTrim) {
    start_gateway();
    for (int i = 0; i < 140; ++i) {  // 280 connection events, above the trim threshold of 256
        DeviceClient device = connect();
        ASSERT_TRUE(device.handshake_csm(3s).has_value());
    }
    EXPECT_TRUE(gateway.wait_for_log("heap trim after", 5s)) << gateway.log();
    DeviceClient after = connect();
    expect_admitted(after);
    EXPECT_EQ(gateway.count_in_log("heap trim after"), 1u) << gateway.log();
}

TEST_F(LimitsTest, AcceptRateRefusesBurstBeyondBucket) {
    config.accept_rate = "1/s";
    config.accept_burst = 2;
    start_gateway();
    // Three connections in quick succession: the bucket holds two.
    DeviceClient first = connect();
    DeviceClient second = connect();
    DeviceClient third = connect();
    expect_admitted(first);
    expect_admitted(second);
    expect_refused(third);
    third.close();
    EXPECT_TRUE(gateway.wait_for_log("reason=limit_rate", 2s));
    EXPECT_EQ(gateway.count_in_log("reason=limit_rate"), 1u);
}

}  // namespace
}  // namespace lwgate::integration

namespace lwgate::integration {
namespace {

// "Max open files  SOFT  HARD  files" from /proc/<pid>/limits.
std::pair<std::string, std::string> open_file_limits(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/limits");
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("Max open files", 0) != 0) continue;
        std::istringstream fields(line.substr(14));
        std::string soft, hard;
        fields >> soft >> hard;
        return {soft, hard};
    }
    return {};
}

class DescriptorLimitTest : public GatewayTest {};

TEST_F(DescriptorLimitTest, SoftLimitIsRaisedAndAnImpossibleMaxIsReported) {
    config.max_connections = 100'000'000;  // 2 descriptors each: no machine allows that
    // lwgate inherits a low soft limit from us and must raise it itself.
    rlimit saved{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
    rlimit low = saved;
    low.rlim_cur = std::min<rlim_t>(512, saved.rlim_max);
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
    start_gateway();
    ::setrlimit(RLIMIT_NOFILE, &saved);
    const auto [soft, hard] = open_file_limits(gateway.pid());
    ASSERT_FALSE(soft.empty());
    EXPECT_EQ(soft, hard) << "lwgate runs with its soft open-file limit at the hard limit";
    EXPECT_TRUE(gateway.wait_for_log("open-file limit", 2s)) << gateway.log();
}

TEST_F(DescriptorLimitTest, NoWarningWhenConnectionsMaxFits) {
    config.max_connections = 100;
    start_gateway();
    EXPECT_EQ(gateway.count_in_log("open-file limit"), 0u);
}

}  // namespace
}  // namespace lwgate::integration
