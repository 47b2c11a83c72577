// Bad input on one connection: a clear answer (7.05 Abort or 4.13) for that connection, and
// nothing changes for the others.
#include <cstring>

#include "gateway_fixture.hpp"

namespace lwgate::integration {
namespace {

class BadInputTest : public GatewayTest {
  protected:
    void SetUp() override { config.max_message_size = "2048"; }

    // The other device is unaffected: Ping -> Pong and a request still answered.
    void expect_unaffected(DeviceClient& other) {
        EXPECT_EQ(other.wait_closed(0ms), CloseState::still_open);
        auto pong = other.ping(coap::Token::from_u64(0x5151));
        EXPECT_TRUE(pong.has_value()) << "Ping on the other connection unanswered";
        ASSERT_TRUE(other.send(request(code::get, 0x61)));
        auto response = other.receive(2s);
        ASSERT_TRUE(response.has_value());
        EXPECT_TRUE(is_answer_to(*response, 0x61)) << coap::describe(*response);
    }

    // The next message is a 7.05 Abort and the gateway then closes with FIN.
    void expect_abort_and_close(DeviceClient& device) {
        auto abort = device.receive(2s);
        ASSERT_TRUE(abort.has_value()) << "no Abort";
        EXPECT_EQ(abort->code(), code::abort) << coap::describe(*abort);
        EXPECT_EQ(device.wait_closed(3s), CloseState::closed_fin);
    }
};

TEST_F(BadInputTest, ReservedTokenLengthAbortsOnlyThatConnection) {
    start_gateway();
    DeviceClient other = connect_ready();
    DeviceClient device = connect_ready();
    // TKL 15 is reserved (RFC 8323 §3.2): framing is lost.
    const coap::Bytes garbage{0x0f, 0x01, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x11, 0x22, 0x33};
    ASSERT_TRUE(device.send_raw(garbage));
    expect_abort_and_close(device);
    device.close();
    EXPECT_TRUE(gateway.wait_for_log("reason=bad_frame", 2s));
    expect_unaffected(other);
}

TEST_F(BadInputTest, RandomGarbageBeforeCsmAbortsOnlyThatConnection) {
    start_gateway();
    DeviceClient other = connect_ready();
    DeviceClient device = connect();
    auto csm = device.expect_csm(2s);  // the gateway's CSM comes without waiting for ours
    ASSERT_TRUE(csm.has_value());
    // Deterministic "random" bytes whose first byte has TKL 9..15.
    coap::Bytes garbage(64);
    std::uint32_t x = 0x12345678;
    for (auto& b : garbage) {
        x = x * 1664525u + 1013904223u;
        b = static_cast<std::uint8_t>(x >> 24);
    }
    garbage[0] = 0x3b;  // Len 3, TKL 11
    ASSERT_TRUE(device.send_raw(garbage));
    expect_abort_and_close(device);
    device.close();
    EXPECT_TRUE(gateway.wait_for_log("reason=bad_frame", 2s));
    expect_unaffected(other);
}

TEST_F(BadInputTest, AbsurdFrameLengthIsFatal) {
    start_gateway();
    DeviceClient other = connect_ready();
    DeviceClient device = connect_ready();
    // Len 15: 4 extended length bytes 0x7fffffff (+65805), TKL 1, GET, token. Not worth skipping.
    const coap::Bytes header{0xf1, 0x7f, 0xff, 0xff, 0xff, code::get, 0x01};
    ASSERT_TRUE(device.send_raw(header));
    expect_abort_and_close(device);
    device.close();
    EXPECT_TRUE(gateway.wait_for_log("reason=bad_frame", 2s));
    expect_unaffected(other);
}

TEST_F(BadInputTest, OversizeRequestGets413WithSize1AndConnectionContinues) {
    start_gateway();
    DeviceClient device = connect_ready();
    auto put = request(code::put, 0x42, "big");
    put.set_payload(coap::Bytes(10000, 0xab));
    ASSERT_TRUE(device.send(put));

    auto too_large = device.receive(2s);
    ASSERT_TRUE(too_large.has_value());
    EXPECT_EQ(too_large->code(), code::request_entity_too_large) << coap::describe(*too_large);
    EXPECT_EQ(too_large->token(), coap::Token::from_u64(0x42));
    EXPECT_EQ(too_large->uint_option(coap::option::size1), std::optional<std::uint32_t>(2048))
        << coap::describe(*too_large);

    // The skipped body did not desynchronise the stream: the next request is answered.
    ASSERT_TRUE(device.send(request(code::get, 0x43)));
    auto next = device.receive(2s);
    ASSERT_TRUE(next.has_value());
    EXPECT_TRUE(is_answer_to(*next, 0x43)) << coap::describe(*next);
    EXPECT_EQ(device.wait_closed(200ms), CloseState::still_open);
    EXPECT_EQ(gateway.count_in_log("closed reason="), 0u);
}

}  // namespace
}  // namespace lwgate::integration
