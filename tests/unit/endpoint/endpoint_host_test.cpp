// Unit tests for the endpoint hosts (gateway/endpoint/endpoint_host.hpp): the executor of a
// relay's actions against fake device and core ports, a fake clock, no sockets.
#include "endpoint/endpoint_host.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "lwgate/coap/block.hpp"
#include "unit/lwm2m/message_builders.hpp"

namespace lwgate::lwm2m {
namespace {

using coap::Message;
using coap::Token;
using test_util::make_request;
using namespace std::chrono_literals;
namespace code = coap::code;
namespace opt = coap::option;

const TimePoint t0 = TimePoint{} + 1h;
constexpr ConnectionId conn = 5;

class FakeDevice final : public DevicePort {
  public:
    void send(ConnectionId c, Message&& m) override { sent.push_back({c, std::move(m)}); }
    void refuse(ConnectionId c, Message&& m, Refusal reason, const std::string& ep) override {
        refused.push_back({c, std::move(m), reason, ep});
    }
    struct RefusalSent {
        ConnectionId conn;
        Message answer;
        Refusal reason;
        std::string endpoint;
    };
    std::vector<RefusalSent> refused;
    void registered(const Registered& r) override { registrations.push_back(r); }
    void close_expired(ConnectionId c) override { closed.push_back(c); }
    std::vector<std::pair<ConnectionId, Message>> sent;
    std::vector<Registered> registrations;
    std::vector<ConnectionId> closed;
};

class FakeCore final : public CorePort {
  public:
    std::size_t max_payload(const Message&) const override { return payload_limit; }
    bool send(const Message& request) override {
        if (!accept_sends) return false;
        requests.push_back(request);
        return true;
    }
    void respond(CoreRequestId id, Message&& response) override {
        responses.emplace_back(id, std::move(response));
    }
    void notify(const Message& n) override { notifications.push_back(n); }
    bool acknowledge_held(CoreRequestId id) override {
        acked.insert(id);
        return true;
    }
    bool acknowledged(CoreRequestId id) const override { return acked.contains(id); }

    std::size_t payload_limit = 1024;
    bool accept_sends = true;
    std::vector<Message> requests;
    std::vector<std::pair<CoreRequestId, Message>> responses;
    std::vector<Message> notifications;
    std::set<CoreRequestId> acked;
};

class CountingObserver final : public HostObserver {
  public:
    void uplink_sent(const std::string& endpoint, const Message&, Uplink kind) override {
        uplinks.emplace_back(endpoint, kind);
    }
    void downlink_answered(CoreRequestId, const Message&) override { ++answered; }
    std::vector<std::pair<std::string, Uplink>> uplinks;
    int answered = 0;
};

Message register_message() {
    Message m =
        make_request(code::post, Token::from_u64(0xD0), {"rd"}, {"ep=urn:imei:1", "lt=300", "b=T"});
    m.set_payload("</3/0>");
    return m;
}

std::string text(const Message& m) {
    return {m.payload().begin(), m.payload().end()};
}

class HostTest : public ::testing::Test {
  protected:
    EndpointHost::Ports ports() { return {device, core, observer}; }
    // Register on `conn`, accepted by the core with rd/5.
    void register_device(EndpointHost& host, bool authenticated = false) {
        host.on_device_request(conn, register_message(), t0, authenticated);
        ASSERT_EQ(core.requests.size(), 1u);
        Message created(code::created, core.requests.back().token());
        created.add_option(opt::location_path, "rd");
        created.add_option(opt::location_path, "5");
        host.on_core_response(std::move(created), t0);
        ASSERT_TRUE(host.relay().registered());
    }

    FakeDevice device;
    FakeCore core;
    CountingObserver observer;
    RelayParams params;
};

TEST_F(HostTest, ARegisterReachesTheCoreAndItsAnswerTheDevice) {
    RegistrationHost host("urn:imei:1", params, 1000, nullptr, ports());
    EXPECT_TRUE(host.finished(t0)) << "nothing registered, nothing pending";
    register_device(host);
    ASSERT_EQ(device.sent.size(), 1u);
    EXPECT_EQ(device.sent[0].first, conn);
    EXPECT_EQ(device.sent[0].second.code(), code::created);
    EXPECT_EQ(device.sent[0].second.token(), Token::from_u64(0xD0)) << "the device's own token";
    ASSERT_EQ(device.registrations.size(), 1u);
    EXPECT_TRUE(device.registrations[0].registered);
    ASSERT_EQ(observer.uplinks.size(), 1u);
    EXPECT_EQ(observer.uplinks[0], std::make_pair(std::string("urn:imei:1"), Uplink::register_));
    EXPECT_FALSE(host.finished(t0));
    EXPECT_EQ(host.next_deadline(), host.relay().registration_deadline());
}

TEST_F(HostTest, ARegistrationThatExpiresClosesTheConnectionAndFinishes) {
    RegistrationHost host("urn:imei:1", params, 1000, nullptr, ports());
    register_device(host);
    const TimePoint expiry = host.relay().registration_deadline();
    host.on_tick(expiry);
    EXPECT_EQ(device.closed, std::vector<ConnectionId>{conn});
    ASSERT_EQ(device.registrations.size(), 2u);
    EXPECT_FALSE(device.registrations[1].registered);
    // The core ends the registration at the same deadline: nothing to tell it, the host is done.
    EXPECT_EQ(core.requests.size(), 1u);
    EXPECT_TRUE(host.finished(expiry));
}

TEST_F(HostTest, AnUplinkTheCoreTransportCannotCarryIsAnswered413) {
    core.accept_sends = false;
    RegistrationHost host("urn:imei:1", params, 1000, nullptr, ports());
    host.on_device_request(conn, register_message(), t0, false);
    ASSERT_EQ(device.sent.size(), 1u);
    EXPECT_EQ(device.sent[0].second.code(), code::request_entity_too_large);
}

TEST_F(HostTest, ALargeUplinkGoesBlockWiseAndTheDeviceSeesOneAnswer) {
    RegistrationHost host("urn:imei:1", params, 1000, nullptr, ports());
    register_device(host);
    core.payload_limit = 16;
    Message send = make_request(code::post, Token::from_u64(0xD1), {"dp"});
    send.set_payload(std::string(40, 'x'));
    host.on_device_request(conn, std::move(send), t0, false);
    ASSERT_EQ(core.requests.size(), 2u);
    EXPECT_EQ(core.requests[1].payload().size(), 16u) << "block 0";
    // The core wants more: 2.31 Continue for each block but the last.
    for (std::uint32_t num = 0; num < 2; ++num) {
        Message cont(code::continue_, core.requests.back().token());
        cont.add_uint_option(opt::block1, coap::BlockOption{num, true, 0}.value());
        host.on_core_response(std::move(cont), t0);
    }
    ASSERT_EQ(core.requests.size(), 4u);
    EXPECT_EQ(core.requests[3].payload().size(), 8u) << "the last block";
    host.on_core_response(Message(code::changed, core.requests.back().token()), t0);
    ASSERT_EQ(device.sent.size(), 2u) << "one answer for the whole upload";
    EXPECT_EQ(device.sent[1].second.code(), code::changed);
    EXPECT_EQ(device.sent[1].second.token(), Token::from_u64(0xD1));
}

// A refusal of the connection's identity goes out through the port that counts and logs it,
// with the endpoint it tried to act for, not as a plain answer.
TEST_F(HostTest, ARefusedIdentityIsHandedToTheDevicePortAsARefusal) {
    RegistrationHost host("urn:imei:1", params, 1000, nullptr, ports());
    register_device(host, true);
    const std::size_t sent = device.sent.size();
    constexpr ConnectionId plain = conn + 1;
    host.on_device_request(plain, make_request(code::post, Token::from_u64(0xD2), {"rd", "5"}), t0,
                           false);
    EXPECT_EQ(device.sent.size(), sent) << "sent as a plain answer";
    ASSERT_EQ(device.refused.size(), 1u);
    EXPECT_EQ(device.refused[0].conn, plain);
    EXPECT_EQ(device.refused[0].answer.code(), code::forbidden);
    EXPECT_EQ(device.refused[0].answer.token(), Token::from_u64(0xD2));
    EXPECT_EQ(device.refused[0].reason, Refusal::credentials_required);
    EXPECT_EQ(device.refused[0].endpoint, "urn:imei:1");
    EXPECT_EQ(core.requests.size(), 1u) << "only the Register reached the core";
}

TEST_F(HostTest, ACoreRequestForAnAbsentDeviceIsAcknowledgedAndWaits) {
    RegistrationHost host("urn:imei:1", params, 1000, nullptr, ports());
    register_device(host);
    host.on_device_disconnected(conn, t0);
    host.on_core_request(42, make_request(code::get, Token::from_u64(0xC0), {"3", "0", "1"}), t0);
    EXPECT_TRUE(core.acked.contains(42)) << "the core stops retransmitting";
    EXPECT_TRUE(core.responses.empty()) << "held for the device";
    EXPECT_EQ(host.relay().queued(), 1u);
}

TEST_F(HostTest, ALargeReadAnswerIsServedBlockWiseFromTheCache) {
    RegistrationHost host("urn:imei:1", params, 1000, nullptr, ports());
    register_device(host);
    const auto read = make_request(code::get, Token::from_u64(0xC0), {"3", "0"});
    host.on_core_request(42, Message(read), t0);
    EXPECT_FALSE(core.acked.contains(42)) << "connected: answered within the piggyback window";
    ASSERT_EQ(device.sent.size(), 2u);
    Message content(code::content, device.sent.back().second.token());
    content.set_payload(std::string(2000, 'v'));
    core.payload_limit = 512;
    host.on_device_response(conn, std::move(content), t0);
    ASSERT_EQ(core.responses.size(), 1u);
    EXPECT_EQ(core.responses[0].first, 42u);
    EXPECT_EQ(core.responses[0].second.payload().size(), 512u) << "block 0";
    EXPECT_EQ(observer.answered, 1);
    Message next = read;
    next.add_uint_option(opt::block2, coap::BlockOption{1, false, 5}.value());
    auto block = host.answer_locally(next, t0);
    ASSERT_TRUE(block);
    EXPECT_EQ(block->payload().size(), 512u);
    EXPECT_EQ(text(*block), std::string(512, 'v'));
}

// ---- bootstrap ---------------------------------------------------------------------------------

Message bootstrap_request() {
    return make_request(code::post, Token::from_u64(0xB0), {"bs"}, {"ep=urn:imei:1"});
}

TEST_F(HostTest, ABootstrapEndsAfterItsSilence) {
    BootstrapHost host("urn:imei:1", params, 1000, nullptr, ports(), t0);
    EXPECT_EQ(host.kind(), EndpointHost::Kind::bootstrap);
    EXPECT_FALSE(host.finished(t0));
    EXPECT_EQ(host.next_deadline(), t0 + BootstrapHost::timeout);
    host.on_device_request(conn, bootstrap_request(), t0 + 100s, false);
    EXPECT_FALSE(host.finished(t0 + BootstrapHost::timeout)) << "the device spoke: it goes on";
    EXPECT_TRUE(host.finished(t0 + 100s + BootstrapHost::timeout));
}

TEST_F(HostTest, ABootstrapLingersOnlyBrieflyAfterFinish) {
    BootstrapHost host("urn:imei:1", params, 1000, nullptr, ports(), t0);
    host.on_device_request(conn, bootstrap_request(), t0, false);
    ASSERT_EQ(core.requests.size(), 1u);
    host.on_core_response(Message(code::changed, core.requests[0].token()), t0);
    // The server's Bootstrap-Finish reaches the device, which accepts it.
    host.on_core_request(7, make_request(code::post, Token::from_u64(0xC7), {"bs"}), t0);
    ASSERT_EQ(device.sent.size(), 2u);
    host.on_device_response(conn, Message(code::changed, device.sent.back().second.token()),
                            t0 + 1s);
    ASSERT_EQ(core.responses.size(), 1u);
    EXPECT_EQ(core.responses[0].first, 7u);
    EXPECT_FALSE(host.finished(t0 + 1s));
    EXPECT_TRUE(host.finished(t0 + 1s + BootstrapHost::linger));
    EXPECT_LE(host.next_deadline(), t0 + 1s + BootstrapHost::linger);
}

TEST_F(HostTest, ABootstrapFinishTheDeviceRefusesDoesNotShortenTheSession) {
    BootstrapHost host("urn:imei:1", params, 1000, nullptr, ports(), t0);
    host.on_device_request(conn, bootstrap_request(), t0, false);
    host.on_core_response(Message(code::changed, core.requests[0].token()), t0);
    host.on_core_request(7, make_request(code::post, Token::from_u64(0xC7), {"bs"}), t0);
    host.on_device_response(conn, Message(code::not_acceptable, device.sent.back().second.token()),
                            t0 + 1s);
    EXPECT_FALSE(host.finished(t0 + 1s + BootstrapHost::linger));
}

}  // namespace
}  // namespace lwgate::lwm2m
