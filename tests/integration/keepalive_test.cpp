// Keepalive over real sockets: half-open peers are found with CoAP Pings and reset, live peers
// are not; Pings from devices are answered; the unregistered-idle limit applies.
#include <atomic>
#include <thread>

#include "gateway_fixture.hpp"

namespace lwgate::integration {
namespace {

constexpr Millis kIdle = 500ms;
constexpr Millis kPongTimeout = 300ms;
constexpr unsigned kMaxMissed = 2;
constexpr Millis kDetection = kIdle + kMaxMissed * kPongTimeout;  // worst case per the FSM
constexpr Millis kSlack = 1000ms;  // allowed lateness (scheduling, loaded CI, sanitizers)
constexpr Millis kEarly = 100ms;   // allowed earliness (timer granularity, when we measure)

class KeepaliveTest : public GatewayTest {
  protected:
    void SetUp() override {
        config.keepalive_idle = "500ms";
        config.pong_timeout = "300ms";
        config.max_missed = kMaxMissed;
    }
};

// Runs a well-behaved device on its own thread: it reads everything and answers every Ping
// with a Pong carrying the Ping's token, until stopped.
class Responder {
  public:
    explicit Responder(DeviceClient& device) : device_(device) {
        device_.set_auto_pong(true);
        thread_ = std::thread([this] {
            while (!stop_.load())
                device_.receive(20ms);
        });
    }
    ~Responder() { stop(); }
    void stop() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
    }

  private:
    DeviceClient& device_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

TEST_F(KeepaliveTest, HalfOpenPeerIsResetWhileAnsweringPeerStays) {
    start_gateway();
    DeviceClient good = connect_ready();
    DeviceClient silent = connect_ready();
    const auto last_sent = silent.last_tx();  // the silent device never sends again

    {
        Responder responder(good);
        // The silent device reads what arrives (invisible to the gateway) but answers nothing.
        // Everything until the close (or the bound, if the gateway never closes) is a Ping.
        const auto give_up = last_sent + kDetection + kSlack;
        std::size_t pings = 0;
        std::optional<SteadyClock::time_point> first_ping;
        while (auto m = silent.receive(until(give_up))) {
            ASSERT_EQ(m->code(), code::ping) << coap::describe(*m);
            if (!first_ping) first_ping = SteadyClock::now();
            ++pings;
        }
        ASSERT_TRUE(first_ping.has_value()) << "the gateway never pinged the silent device";
        EXPECT_GE(ms_between(last_sent, *first_ping), kIdle - kEarly);
        EXPECT_EQ(pings, kMaxMissed) << "one Ping per missed Pong";

        ASSERT_EQ(silent.wait_closed(until(give_up)), CloseState::reset)
            << "half-open connections are reset, not closed with FIN";
        const auto detected = ms_between(last_sent, *silent.closed_at());
        EXPECT_GE(detected, kDetection - kEarly);
        EXPECT_LE(detected, kDetection + kSlack);
    }
    EXPECT_TRUE(gateway.wait_for_log("reason=half_open", 2s));
    EXPECT_EQ(gateway.count_in_log("reason=half_open"), 1u) << "only the silent device";

    // The answering device went through the same period untouched and still gets answers.
    EXPECT_GE(good.pings_answered(), 1u);
    EXPECT_EQ(good.close_state(), CloseState::still_open);
    auto pong = good.ping(coap::Token::from_u64(0xbeef));
    ASSERT_TRUE(pong.has_value());
    ASSERT_TRUE(good.send(request(code::get, 0x51)));
    auto response = good.receive(2s);
    ASSERT_TRUE(response.has_value());
    EXPECT_TRUE(is_answer_to(*response, 0x51)) << coap::describe(*response);
}

// A frame that announces a body and never delivers it: the bytes that did arrive count as life,
// then the silence is detected like any half-open peer.
TEST_F(KeepaliveTest, TruncatedFrameThenSilenceIsDetectedAsHalfOpen) {
    start_gateway();
    DeviceClient device = connect_ready();
    // Len 13 (+1 extended byte: 187 + 13 = 200 bytes of options/payload), TKL 1, GET, token, and
    // only 3 of the 200 body bytes.
    const coap::Bytes truncated{0xd1, 187, code::get, 0x77, 0xb1, 'x', 0xff};
    ASSERT_TRUE(device.send_raw(truncated));
    const auto last_sent = device.last_tx();

    const auto give_up = last_sent + kDetection + kSlack;
    auto ping = device.receive(until(give_up));
    ASSERT_TRUE(ping.has_value());
    EXPECT_EQ(ping->code(), code::ping) << coap::describe(*ping);
    while (auto m = device.receive(until(give_up))) {
        EXPECT_EQ(m->code(), code::ping) << coap::describe(*m);
    }
    ASSERT_EQ(device.wait_closed(until(give_up)), CloseState::reset);
    const auto detected = ms_between(last_sent, *device.closed_at());
    EXPECT_GE(detected, kDetection - kEarly);
    EXPECT_LE(detected, kDetection + kSlack);
    EXPECT_TRUE(gateway.wait_for_log("reason=half_open", 2s));
}

TEST_F(KeepaliveTest, PingWithCustodyGetsPongWithSameTokenAndCustody) {
    config.keepalive_idle = "60s";
    start_gateway();
    DeviceClient device = connect_ready();

    const auto token = coap::Token::from_u64(0x0102030405060708ULL);
    auto pong = device.ping(token, /*custody=*/true);
    ASSERT_TRUE(pong.has_value());
    EXPECT_EQ(pong->code(), code::pong);
    EXPECT_EQ(pong->token(), token);
    EXPECT_NE(pong->find_option(coap::signal_option::custody), nullptr)
        << "Custody must be echoed: " << coap::describe(*pong);

    const auto plain_token = coap::Token::from_u64(0x99);
    auto plain = device.ping(plain_token, /*custody=*/false);
    ASSERT_TRUE(plain.has_value());
    EXPECT_EQ(plain->token(), plain_token);
    EXPECT_EQ(plain->find_option(coap::signal_option::custody), nullptr)
        << "no Custody unless asked: " << coap::describe(*plain);

    // An empty-token Ping is answered too.
    auto empty = device.ping(coap::Token{});
    ASSERT_TRUE(empty.has_value());
    EXPECT_TRUE(empty->token().empty());
}

TEST_F(KeepaliveTest, UnregisteredConnectionIsClosedAfterUnregisteredIdle) {
    config.keepalive_idle = "300ms";
    config.unregistered_idle = "1s";
    start_gateway();
    const auto connected = SteadyClock::now();
    DeviceClient device = connect_ready();
    device.set_auto_pong(true);  // alive as far as keepalive is concerned

    const auto state = device.wait_closed(3s);
    ASSERT_NE(state, CloseState::still_open);
    EXPECT_EQ(state, CloseState::closed_fin) << "an orderly close, not a reset";
    const auto after = ms_between(connected, *device.closed_at());
    EXPECT_GE(after, 1000ms - kEarly);
    EXPECT_LE(after, 1000ms + kSlack);
    EXPECT_GE(device.pings_answered(), 1u) << "keepalive ran meanwhile";
    device.close();
    EXPECT_TRUE(gateway.wait_for_log("reason=unregistered_idle", 2s));
    EXPECT_EQ(gateway.count_in_log("reason=half_open"), 0u);
}

}  // namespace
}  // namespace lwgate::integration
