// The device simulator against a scripted fake gateway (fake_gateway.hpp): the exact bytes of
// its CSM and Register, its answers to every LwM2M operation, Observe, block-wise transfers in
// both directions, signaling, connection control and bad input.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <iostream>
#include <set>
#include <thread>

#include "fake_gateway.hpp"
#include "lwgate/devsim/coap_util.hpp"
#include "lwgate/devsim/device_simulator.hpp"

namespace lwgate::devsim {
namespace {

using namespace std::chrono_literals;
using testing::CloseState;
using testing::FakeConnection;
using testing::FakeGateway;
namespace code = coap::code;
namespace option = coap::option;

coap::Message req(std::uint8_t method, std::string_view path, std::uint64_t token) {
    coap::Message m(method, coap::Token::from_u64(token));
    add_uri_path(m, path);
    return m;
}

std::string text(const coap::Bytes& b) {
    return std::string(b.begin(), b.end());
}
std::string text(const coap::Message& m) {
    return text(m.payload());
}

std::string describe(const std::optional<coap::Message>& m) {
    return m ? coap::describe(*m) : std::string("(nothing)");
}

coap::Bytes pattern(std::size_t size, std::uint8_t seed) {
    coap::Bytes b(size);
    for (std::size_t i = 0; i < size; ++i)
        b[i] = static_cast<std::uint8_t>(i * 31 + seed);
    return b;
}

class DeviceSimulatorTest : public ::testing::Test {
  protected:
    DeviceOptions options(std::string endpoint = "dev1") {
        DeviceOptions o;
        o.endpoint = std::move(endpoint);
        o.port = gw.port();
        o.default_timeout = 3s;
        o.connect_timeout = 3s;
        o.token_seed = 0x100;
        return o;
    }

    // Accepts the device's connection, checks CSM + Register, sends our CSM (Max-Message-Size
    // `gateway_mms`) and 2.01 rd/abc, and waits until the device has both.
    std::unique_ptr<FakeConnection> accept_and_register(DeviceSimulator& dev,
                                                        std::uint32_t gateway_mms = 1152) {
        auto registered = dev.register_device_async();
        auto conn = gw.accept();
        EXPECT_TRUE(conn) << "the device did not connect";
        if (!conn) return conn;
        auto csm = conn->receive();
        EXPECT_TRUE(csm && csm->code() == code::csm) << describe(csm);
        auto reg = conn->receive();
        EXPECT_TRUE(reg && reg->code() == code::post) << describe(reg);
        if (!reg) return conn;
        EXPECT_TRUE(conn->send(coap::make_csm(gateway_mms, true)));
        coap::Message created(code::created, reg->token());
        created.add_option(option::location_path, "rd");
        created.add_option(option::location_path, "abc");
        EXPECT_TRUE(conn->send(created));
        EXPECT_EQ(registered.wait_for(3s), std::future_status::ready);
        const Result r = registered.get();
        EXPECT_EQ(r.code(), code::created) << to_string(r.status) << " " << r.detail;
        auto peer = dev.wait_for_gateway_csm(3s);
        EXPECT_TRUE(peer && peer->max_message_size == gateway_mms);
        return conn;
    }

    FakeGateway gw;
};

// ---- registration -------------------------------------------------------------------------

TEST_F(DeviceSimulatorTest, RegisterSendsCsmThenRegisterWithoutWaitingForTheGatewaysCsm) {
    auto o = options();
    o.lifetime = 120;
    o.queue_mode = true;
    o.max_message_size = 2048;
    DeviceSimulator dev(o);
    auto registered = dev.register_device_async();

    auto conn = gw.accept();
    ASSERT_TRUE(conn);
    // We have sent nothing: the device sends its CSM and its Register on its own (Anjay style).
    auto csm = conn->receive();
    ASSERT_TRUE(csm);
    ASSERT_EQ(csm->code(), code::csm) << coap::describe(*csm);
    auto parsed = coap::parse_signal(*csm);
    ASSERT_TRUE(std::holds_alternative<coap::Signal>(parsed));
    const auto& csm_values = std::get<coap::Csm>(std::get<coap::Signal>(parsed));
    EXPECT_EQ(csm_values.max_message_size, 2048u);

    auto reg = conn->receive();
    ASSERT_TRUE(reg);
    EXPECT_EQ(reg->code(), code::post);
    EXPECT_EQ(uri_path(*reg), (std::vector<std::string>{"rd"}));
    EXPECT_EQ(uri_queries(*reg),
              (std::vector<std::string>{"ep=dev1", "lt=120", "lwm2m=1.1", "b=T", "Q"}));
    EXPECT_EQ(reg->uint_option(option::content_format), 40u);
    EXPECT_EQ(text(*reg), "</1/0>,</3/0>,</5/0>");
    EXPECT_EQ(reg->token().size(), 4u);

    coap::Message created(code::created, reg->token());
    created.add_option(option::location_path, "rd");
    created.add_option(option::location_path, "abc");
    ASSERT_TRUE(conn->send(created));
    ASSERT_EQ(registered.wait_for(3s), std::future_status::ready);
    const Result r = registered.get();
    ASSERT_TRUE(r.ok()) << to_string(r.status) << " " << r.detail;
    EXPECT_EQ(r.code(), code::created);
    EXPECT_EQ(r.location(), "/rd/abc");
    EXPECT_EQ(dev.registration_location(), "/rd/abc");
    EXPECT_FALSE(dev.gateway_csm()) << "the fake gateway never sent a CSM";

    // Update with a new lifetime.
    auto updated = dev.update_async(UpdateParams{600, std::nullopt, std::nullopt, false});
    auto upd = conn->receive();
    ASSERT_TRUE(upd);
    EXPECT_EQ(upd->code(), code::post);
    EXPECT_EQ(uri_path_string(*upd), "/rd/abc");
    EXPECT_EQ(uri_queries(*upd), (std::vector<std::string>{"lt=600"}));
    EXPECT_TRUE(upd->payload().empty());
    ASSERT_TRUE(conn->send(coap::Message(code::changed, upd->token())));
    EXPECT_EQ(updated.get().code(), code::changed);

    // De-register.
    auto gone = std::async(std::launch::async, [&] { return dev.deregister(); });
    auto del = conn->receive();
    ASSERT_TRUE(del);
    EXPECT_EQ(del->code(), code::del);
    EXPECT_EQ(uri_path_string(*del), "/rd/abc");
    ASSERT_TRUE(conn->send(coap::Message(code::deleted, del->token())));
    EXPECT_EQ(gone.get().code(), code::deleted);
    EXPECT_FALSE(dev.is_registered());
    EXPECT_EQ(dev.update().status, Status::bad_state);
}

TEST_F(DeviceSimulatorTest, QueueModeOfLwm2m10IsBindingTQAndNoQueueHasNoQ) {
    {
        auto o = options("old");
        o.lwm2m_version = "1.0";
        o.queue_mode = true;
        o.object_links = "</3/0>";
        DeviceSimulator dev(o);
        auto f = dev.register_device_async();
        auto conn = gw.accept();
        ASSERT_TRUE(conn);
        auto reg = conn->receive_until([](const auto& m) { return m.code() == code::post; });
        ASSERT_TRUE(reg);
        EXPECT_EQ(uri_queries(*reg),
                  (std::vector<std::string>{"ep=old", "lt=300", "lwm2m=1.0", "b=TQ"}));
        EXPECT_EQ(text(*reg), "</3/0>");
    }
    {
        DeviceSimulator dev(options("plain"));
        auto f = dev.register_device_async();
        auto conn = gw.accept();
        ASSERT_TRUE(conn);
        auto reg = conn->receive_until([](const auto& m) { return m.code() == code::post; });
        ASSERT_TRUE(reg);
        EXPECT_EQ(uri_queries(*reg),
                  (std::vector<std::string>{"ep=plain", "lt=300", "lwm2m=1.1", "b=T"}));
    }
}

TEST_F(DeviceSimulatorTest, WithoutCsmTheFirstMessageIsTheRegister) {
    auto o = options();
    o.send_csm = false;  // Californium clients
    DeviceSimulator dev(o);
    auto f = dev.register_device_async();
    auto conn = gw.accept();
    ASSERT_TRUE(conn);
    auto first = conn->receive();
    ASSERT_TRUE(first);
    EXPECT_EQ(first->code(), code::post) << coap::describe(*first);
    EXPECT_EQ(uri_path_string(*first), "/rd");
    EXPECT_EQ(dev.stats().connections, 1u);
}

TEST_F(DeviceSimulatorTest, RegisterTimesOutWhenNobodyAnswers) {
    DeviceSimulator dev(options());
    std::unique_ptr<FakeConnection> conn;
    std::thread acceptor([&] { conn = gw.accept(); });
    const auto start = SteadyClock::now();
    const Result r = dev.register_device(300ms);
    const auto took = SteadyClock::now() - start;
    acceptor.join();
    EXPECT_EQ(r.status, Status::timeout);
    EXPECT_GE(took, 250ms);
    EXPECT_LT(took, 2s);
    EXPECT_EQ(dev.state(), ConnectionState::connected) << "a timeout does not close";
}

TEST_F(DeviceSimulatorTest, ConnectRefusedIsReported) {
    std::uint16_t dead_port = 0;
    {
        FakeGateway gone;
        dead_port = gone.port();
    }
    auto o = options();
    o.port = dead_port;
    DeviceSimulator dev(o);
    const Result r = dev.register_device(2s);
    EXPECT_EQ(r.status, Status::connect_failed) << r.detail;
    ASSERT_TRUE(dev.last_close());
    EXPECT_EQ(dev.last_close()->reason, CloseReason::connect_failed);
    EXPECT_EQ(dev.state(), ConnectionState::closed);
}

// DeviceOptions::local_address: the connection comes from that address (the gateway's limits
// per source address are tested with it); one that cannot be bound fails the connect.
TEST_F(DeviceSimulatorTest, ConnectsFromTheLocalAddressAsked) {
    auto o = options();
    o.local_address = "127.0.0.2";
    DeviceSimulator dev(o);
    auto connected = std::async(std::launch::async, [&] { return dev.connect(3s); });
    auto conn = gw.accept();
    ASSERT_TRUE(conn);
    EXPECT_EQ(conn->peer_address(), "127.0.0.2");
    EXPECT_TRUE(connected.get().ok());

    o.local_address = "not-an-address";
    DeviceSimulator bad(o);
    const Result r = bad.connect(2s);
    EXPECT_EQ(r.status, Status::connect_failed);
    EXPECT_NE(r.detail.find("not-an-address"), std::string::npos) << r.detail;
}

// ---- requests from the gateway --------------------------------------------------------------

TEST_F(DeviceSimulatorTest, ReadAndDiscover) {
    DeviceSimulator dev(options());
    auto conn = accept_and_register(dev);
    ASSERT_TRUE(conn);

    auto r = conn->exchange(req(code::get, "/3/0/0", 1));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), code::content);
    EXPECT_EQ(r->token(), coap::Token::from_u64(1));
    EXPECT_EQ(r->uint_option(option::content_format), 0u);
    EXPECT_EQ(text(*r), "lwgate");

    r = conn->exchange(req(code::get, "/3/0", 2));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), code::content);
    EXPECT_EQ(r->uint_option(option::content_format), 110u);
    EXPECT_EQ(text(*r),
              R"([{"n":"/3/0/0","vs":"lwgate"},{"n":"/3/0/1","vs":"lwm2m-device-sim"},)"
              R"({"n":"/3/0/2","vs":"dev1"},{"n":"/3/0/3","vs":"1.0.0"},{"n":"/3/0/9","vs":"100"},)"
              R"({"n":"/3/0/11","vs":"0"},{"n":"/3/0/13","vs":"0"},{"n":"/3/0/16","vs":"T"}])");

    auto get = req(code::get, "/3/0/0", 3);
    get.add_uint_option(option::accept, 42);
    r = conn->exchange(get);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), code::not_acceptable);

    get = req(code::get, "/3/0/0", 4);
    get.add_uint_option(option::accept, 110);
    r = conn->exchange(get);
    ASSERT_TRUE(r);
    EXPECT_EQ(text(*r), R"([{"n":"/3/0/0","vs":"lwgate"}])");

    for (const char* missing : {"/3/0/99", "/9", "/3/7", "/abc", "/3/0/1/0"}) {
        r = conn->exchange(req(code::get, missing, 5));
        ASSERT_TRUE(r);
        EXPECT_EQ(r->code(), code::not_found) << missing;
    }

    get = req(code::get, "/3/0", 6);
    get.add_uint_option(option::accept, 40);
    r = conn->exchange(get);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), code::content);
    EXPECT_EQ(r->uint_option(option::content_format), 40u);
    EXPECT_EQ(text(*r),
              "</3/0>,</3/0/0>,</3/0/1>,</3/0/2>,</3/0/3>,</3/0/4>,</3/0/5>,</3/0/9>,</3/0/11>,"
              "</3/0/13>,</3/0/16>");

    // Everything was recorded with what we answered.
    const auto recorded = dev.requests();
    ASSERT_EQ(recorded.size(), 10u);
    EXPECT_EQ(recorded[0].path, "/3/0/0");
    EXPECT_EQ(recorded[0].response_code, code::content);
    EXPECT_EQ(recorded[0].connection, 1u);
    EXPECT_EQ(recorded[2].accept(), 42u);
    EXPECT_EQ(recorded[2].response_code, code::not_acceptable);
    auto found = dev.wait_for_request(DeviceSimulator::path_is("/abc"), 1s);
    ASSERT_TRUE(found);
    EXPECT_EQ(found->response_code, code::not_found);
    EXPECT_EQ(found->index, 7u);
}

TEST_F(DeviceSimulatorTest, WriteAttributesExecuteCreateDeleteComposite) {
    DeviceSimulator dev(options());
    auto conn = accept_and_register(dev);
    ASSERT_TRUE(conn);

    auto put = req(code::put, "/3/0/1", 10);
    put.add_uint_option(option::content_format, 0);
    put.set_payload("new-model");
    auto r = conn->exchange(put);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), code::changed);
    auto value = dev.resource("/3/0/1");
    ASSERT_TRUE(value);
    EXPECT_EQ(value->text(), "new-model");

    auto attrs = req(code::put, "/3/0/13", 11);
    attrs.add_option(option::uri_query, "pmin=1");
    attrs.add_option(option::uri_query, "pmax=5");
    r = conn->exchange(attrs);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), code::changed);
    auto discover = req(code::get, "/3/0/13", 12);
    discover.add_uint_option(option::accept, 40);
    r = conn->exchange(discover);
    ASSERT_TRUE(r);
    EXPECT_EQ(text(*r), "</3/0/13>;pmin=1;pmax=5");

    auto exec = req(code::post, "/3/0/4", 13);
    exec.set_payload("0='now'");
    r = conn->exchange(exec);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), code::changed);
    ASSERT_EQ(dev.executions().size(), 1u);
    EXPECT_EQ(dev.executions()[0].path, "/3/0/4");
    EXPECT_EQ(dev.executions()[0].arguments, "0='now'");
    r = conn->exchange(req(code::post, "/3/0/99", 14));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), code::not_found);
    r = conn->exchange(req(code::post, "/3/0/13", 14));  // not executable
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), code::method_not_allowed);
    r = conn->exchange(req(code::get, "/3/0/4", 14));  // executable: no value to read
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), code::method_not_allowed);

    auto create = req(code::post, "/3", 15);
    create.add_uint_option(option::content_format, 110);
    create.set_payload("[]");
    r = conn->exchange(create);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), code::created);
    EXPECT_EQ(location_path(*r), (std::vector<std::string>{"3", "1"}));
    r = conn->exchange(req(code::get, "/3/1", 16));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), code::content);
    EXPECT_EQ(text(*r), "[]");

    r = conn->exchange(req(code::post, "/3/0", 17));  // partial update
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), code::changed);

    r = conn->exchange(req(code::del, "/3/1", 18));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), code::deleted);
    r = conn->exchange(req(code::get, "/3/1", 19));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), code::not_found);
    r = conn->exchange(req(code::del, "/3/0/1", 20));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), code::method_not_allowed);

    auto fetch = req(code::fetch, "/", 21);
    fetch.add_uint_option(option::content_format, 110);
    fetch.set_payload(R"([{"n":"/3/0/0"},{"n":"/1/0/1"},{"n":"/9/9/9"}])");
    r = conn->exchange(fetch);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), code::content);
    EXPECT_EQ(text(*r), R"([{"n":"/3/0/0","vs":"lwgate"},{"n":"/1/0/1","vs":"300"}])");

    auto ipatch = req(code::ipatch, "/", 22);
    ipatch.set_payload(R"([{"n":"/3/0/1","vs":"x"}])");
    r = conn->exchange(ipatch);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), code::changed);
    EXPECT_EQ(text(dev.requests().back().payload()), R"([{"n":"/3/0/1","vs":"x"}])");

    r = conn->exchange(req(code::patch, "/3/0", 23));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), code::method_not_allowed);

    r = conn->exchange(req(code::post, "/bs", 24));  // Bootstrap-Finish
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), code::changed);
}

TEST_F(DeviceSimulatorTest, ObserveNotifyKeepsTokenAndIncreasesObserveUntilCancelled) {
    DeviceSimulator dev(options());
    auto conn = accept_and_register(dev);
    ASSERT_TRUE(conn);

    auto observe = req(code::get, "/3/0/13", 0x0b5e);
    observe.add_uint_option(option::observe, 0);
    auto r = conn->exchange(observe);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), code::content);
    ASSERT_TRUE(r->uint_option(option::observe));
    const std::uint32_t first = *r->uint_option(option::observe);
    EXPECT_EQ(text(*r), "0");

    EXPECT_EQ(dev.set_resource("/3/0/13", "42"), 1u);
    auto n = conn->receive();
    ASSERT_TRUE(n);
    EXPECT_EQ(n->code(), code::content);
    EXPECT_EQ(n->token(), coap::Token::from_u64(0x0b5e));
    EXPECT_EQ(n->uint_option(option::observe), first + 1);
    EXPECT_EQ(n->uint_option(option::content_format), 0u);
    EXPECT_EQ(text(*n), "42");

    EXPECT_EQ(dev.set_resource("/3/0/13", "43"), 1u);
    n = conn->receive();
    ASSERT_TRUE(n);
    EXPECT_EQ(n->token(), coap::Token::from_u64(0x0b5e));
    EXPECT_EQ(n->uint_option(option::observe), first + 2);
    EXPECT_EQ(text(*n), "43");

    EXPECT_EQ(dev.notify("/3/0/13"), 1u);
    n = conn->receive();
    ASSERT_TRUE(n);
    EXPECT_EQ(n->uint_option(option::observe), first + 3);
    EXPECT_EQ(text(*n), "43");

    // A second observation on the instance (SenML JSON) sees changes of its resources.
    auto observe_instance = req(code::get, "/3/0", 0x1a57);
    observe_instance.add_uint_option(option::observe, 0);
    r = conn->exchange(observe_instance);
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->uint_option(option::observe));
    EXPECT_EQ(dev.observations().size(), 2u);
    EXPECT_EQ(dev.set_resource("/3/0/13", "44"), 2u);
    auto a = conn->receive();
    auto b = conn->receive();
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->token(), coap::Token::from_u64(0x0b5e));
    EXPECT_EQ(b->token(), coap::Token::from_u64(0x1a57));
    EXPECT_EQ(b->uint_option(option::content_format), 110u);
    EXPECT_NE(text(*b).find(R"({"n":"/3/0/13","vs":"44"})"), std::string::npos) << text(*b);

    // Cancel with Observe 1: answered like a Read, without Observe.
    auto cancel = req(code::get, "/3/0/13", 0x0b5e);
    cancel.add_uint_option(option::observe, 1);
    r = conn->exchange(cancel);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), code::content);
    EXPECT_FALSE(r->uint_option(option::observe));
    EXPECT_EQ(text(*r), "44");
    EXPECT_EQ(dev.set_resource("/3/0/13", "45"), 1u) << "only the instance observer is left";
    n = conn->receive();
    ASSERT_TRUE(n);
    EXPECT_EQ(n->token(), coap::Token::from_u64(0x1a57));

    cancel = req(code::get, "/3/0", 0x1a57);
    cancel.add_uint_option(option::observe, 1);
    ASSERT_TRUE(conn->exchange(cancel));
    EXPECT_EQ(dev.set_resource("/3/0/13", "46"), 0u);
    // Nothing else was queued before our Ping: the next message is its Pong.
    ASSERT_TRUE(conn->send(coap::make_ping(coap::Token::from_u64(0x99))));
    auto pong = conn->receive();
    ASSERT_TRUE(pong);
    EXPECT_EQ(pong->code(), code::pong) << coap::describe(*pong);
    EXPECT_EQ(dev.notifications().size(), 6u);
    EXPECT_EQ(dev.stats().notifications_sent, 6u);
}

TEST_F(DeviceSimulatorTest, DeletingAnObservedInstanceEndsTheObservationWith404) {
    DeviceSimulator dev(options());
    auto conn = accept_and_register(dev);
    ASSERT_TRUE(conn);
    auto observe = req(code::get, "/5/0/3", 0x77);
    observe.add_uint_option(option::observe, 0);
    ASSERT_TRUE(conn->exchange(observe));
    auto del = req(code::del, "/5/0", 0x78);
    ASSERT_TRUE(conn->send(del));
    auto first = conn->receive();
    auto second = conn->receive();
    ASSERT_TRUE(first && second);
    EXPECT_EQ(first->code(), code::deleted) << "the response first, then its consequences";
    EXPECT_EQ(first->token(), coap::Token::from_u64(0x78));
    EXPECT_EQ(second->code(), code::not_found);
    EXPECT_EQ(second->token(), coap::Token::from_u64(0x77));
    EXPECT_TRUE(dev.observations().empty());

    // A Write by the gateway notifies too, in the newly written format (no Accept was given).
    auto observe_time = req(code::get, "/3/0/13", 0x79);
    observe_time.add_uint_option(option::observe, 0);
    ASSERT_TRUE(conn->exchange(observe_time));
    auto put = req(code::put, "/3/0/13", 0x7a);
    put.add_uint_option(option::content_format, 42);
    put.set_payload(coap::Bytes{1, 2, 3});
    ASSERT_TRUE(conn->send(put));
    auto changed = conn->receive();
    auto notification = conn->receive();
    ASSERT_TRUE(changed && notification);
    EXPECT_EQ(changed->code(), code::changed);
    EXPECT_EQ(notification->token(), coap::Token::from_u64(0x79));
    EXPECT_EQ(notification->uint_option(option::content_format), 42u);
    EXPECT_EQ(notification->payload(), (coap::Bytes{1, 2, 3}));
}

// ---- block-wise -----------------------------------------------------------------------------

TEST_F(DeviceSimulatorTest, LargeResourceGoesOutInBlock2WhenTheGatewayLimitIsSmall) {
    DeviceSimulator dev(options());
    auto conn = accept_and_register(dev, 1152);
    ASSERT_TRUE(conn);
    const coap::Bytes& expected = *ObjectModel::large_blob();

    auto r = conn->exchange(req(code::get, "/5/0/0", 0x500));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), code::content);
    auto b2 = block_option(*r, option::block2);
    ASSERT_TRUE(b2);
    EXPECT_EQ(*b2, (BlockOption{0, true, 6}));
    EXPECT_EQ(r->uint_option(option::size2), 65536u);
    EXPECT_EQ(r->uint_option(option::content_format), 42u);
    ASSERT_TRUE(r->find_option(option::etag));
    const coap::Bytes etag = r->find_option(option::etag)->value.to_bytes();
    EXPECT_LE(coap::encoded_size(*r), 1152u);
    coap::Bytes body = r->payload();
    for (std::uint32_t num = 1; b2->more; ++num) {
        auto next = req(code::get, "/5/0/0", 0x500 + num);
        set_block_option(next, option::block2, BlockOption{num, false, 6});
        r = conn->exchange(next);
        ASSERT_TRUE(r) << "block " << num;
        ASSERT_EQ(r->code(), code::content);
        b2 = block_option(*r, option::block2);
        ASSERT_TRUE(b2);
        ASSERT_EQ(b2->num, num);
        EXPECT_EQ(r->find_option(option::etag)->value, etag);
        body.insert(body.end(), r->payload().begin(), r->payload().end());
        ASSERT_LT(num, 100u);
    }
    EXPECT_EQ(body.size(), expected.size());
    EXPECT_TRUE(body == expected);

    // The gateway may ask for smaller blocks.
    auto small = req(code::get, "/5/0/0", 0x600);
    set_block_option(small, option::block2, BlockOption{3, false, 4});
    r = conn->exchange(small);
    ASSERT_TRUE(r);
    EXPECT_EQ(block_option(*r, option::block2), (BlockOption{3, true, 4}));
    ASSERT_EQ(r->payload().size(), 256u);
    EXPECT_TRUE(std::equal(r->payload().begin(), r->payload().end(), expected.begin() + 768));

    // Past the end.
    auto beyond = req(code::get, "/5/0/0", 0x601);
    set_block_option(beyond, option::block2, BlockOption{64, false, 6});
    r = conn->exchange(beyond);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), code::bad_option);
}

TEST_F(DeviceSimulatorTest, LargeResourceGoesOutInOneMessageWhenTheGatewayAllowsIt) {
    DeviceSimulator dev(options());
    auto conn = accept_and_register(dev, 128 * 1024);
    ASSERT_TRUE(conn);
    auto r = conn->exchange(req(code::get, "/5/0/0", 0x501));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), code::content);
    EXPECT_FALSE(r->find_option(option::block2));
    EXPECT_TRUE(r->payload() == *ObjectModel::large_blob());
}

TEST_F(DeviceSimulatorTest, IncomingBlock1WriteIsReassembled) {
    DeviceSimulator dev(options());
    auto conn = accept_and_register(dev);
    ASSERT_TRUE(conn);
    const coap::Bytes data = pattern(64 * 1024, 5);
    const std::uint32_t blocks = 64;
    for (std::uint32_t num = 0; num < blocks; ++num) {
        auto put = req(code::put, "/5/0/0", 0x700 + num);
        put.add_uint_option(option::content_format, 42);
        set_block_option(put, option::block1, BlockOption{num, num + 1 < blocks, 6});
        if (num == 0) put.add_uint_option(option::size1, 65536);
        put.set_payload(coap::Bytes(data.begin() + num * 1024, data.begin() + (num + 1) * 1024));
        auto r = conn->exchange(put);
        ASSERT_TRUE(r) << "block " << num;
        const bool last = num + 1 == blocks;
        EXPECT_EQ(r->code(), last ? code::changed : code::continue_) << "block " << num;
        EXPECT_EQ(block_option(*r, option::block1), (BlockOption{num, !last, 6}));
    }
    auto value = dev.resource("/5/0/0");
    ASSERT_TRUE(value);
    EXPECT_EQ(value->content_format, 42);
    EXPECT_TRUE(value->bytes() == data);
    const auto recorded = dev.requests();
    ASSERT_EQ(recorded.size(), blocks);
    EXPECT_FALSE(recorded.front().block1_body);
    ASSERT_TRUE(recorded.back().block1_body);
    EXPECT_TRUE(*recorded.back().block1_body == data);

    // A gap is refused with 4.08.
    auto put = req(code::put, "/5/0/0", 0x800);
    set_block_option(put, option::block1, BlockOption{0, true, 6});
    put.set_payload(coap::Bytes(1024, 1));
    ASSERT_EQ(conn->exchange(put)->code(), code::continue_);
    set_block_option(put, option::block1, BlockOption{2, true, 6});
    put.set_token(coap::Token::from_u64(0x801));
    auto r = conn->exchange(put);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), code::request_entity_incomplete);
}

TEST_F(DeviceSimulatorTest, LargeSendUsesBlock1WhenTheGatewayLimitIsSmallElseOneMessage) {
    DeviceSimulator dev(options());
    auto conn = accept_and_register(dev, 1152);
    ASSERT_TRUE(conn);
    const coap::Bytes data = pattern(64 * 1024, 9);
    auto sent = dev.send_async(data, content_format::senml_cbor);
    coap::Bytes received;
    for (std::uint32_t num = 0;; ++num) {
        auto m = conn->receive();
        ASSERT_TRUE(m) << "block " << num;
        EXPECT_EQ(m->code(), code::post);
        EXPECT_EQ(uri_path_string(*m), "/dp");
        EXPECT_EQ(m->uint_option(option::content_format), 112u);
        EXPECT_LE(coap::encoded_size(*m), 1152u);
        auto b1 = block_option(*m, option::block1);
        ASSERT_TRUE(b1);
        ASSERT_EQ(b1->num, num);
        if (num == 0) {
            EXPECT_EQ(m->uint_option(option::size1), 65536u);
        }
        received.insert(received.end(), m->payload().begin(), m->payload().end());
        coap::Message answer(b1->more ? code::continue_ : code::changed, m->token());
        set_block_option(answer, option::block1, BlockOption{num, b1->more, b1->szx});
        ASSERT_TRUE(conn->send(answer));
        if (!b1->more) break;
        ASSERT_LT(num, 100u);
    }
    EXPECT_TRUE(received == data);
    ASSERT_EQ(sent.wait_for(3s), std::future_status::ready);
    EXPECT_EQ(sent.get().code(), code::changed);

    // CSM values accumulate: a larger Max-Message-Size lets the same Send go in one message.
    ASSERT_TRUE(conn->send(coap::make_csm(128 * 1024, true)));
    ASSERT_TRUE(conn->exchange(req(code::get, "/3/0/0", 0x42)));  // the CSM was processed
    EXPECT_EQ(dev.gateway_csm()->max_message_size, 128u * 1024);
    sent = dev.send_async(data, content_format::senml_cbor);
    auto m = conn->receive();
    ASSERT_TRUE(m);
    EXPECT_FALSE(m->find_option(option::block1));
    EXPECT_TRUE(m->payload() == data);
    ASSERT_TRUE(conn->send(coap::Message(code::changed, m->token())));
    EXPECT_EQ(sent.get().code(), code::changed);
}

TEST_F(DeviceSimulatorTest, Block2ResponsesToOurRequestsAreReassembled) {
    DeviceSimulator dev(options());
    auto conn = accept_and_register(dev);
    ASSERT_TRUE(conn);
    const coap::Bytes data = pattern(3000, 1);
    auto result = dev.request_async(req(code::get, "/big", 0), 3s);
    for (std::uint32_t num = 0; num < 3; ++num) {
        auto m = conn->receive();
        ASSERT_TRUE(m);
        EXPECT_EQ(uri_path_string(*m), "/big");
        if (num > 0) {
            EXPECT_EQ(block_option(*m, option::block2), (BlockOption{num, false, 6}));
        }
        coap::Message answer(code::content, m->token());
        set_block_option(answer, option::block2, BlockOption{num, num < 2, 6});
        const std::size_t end = std::min<std::size_t>(data.size(), (num + 1) * 1024);
        answer.set_payload(coap::Bytes(data.begin() + num * 1024, data.begin() + end));
        ASSERT_TRUE(conn->send(answer));
    }
    const Result r = result.get();
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r.response.payload() == data);
    EXPECT_FALSE(r.response.find_option(option::block2));
}

// ---- signaling ------------------------------------------------------------------------------

TEST_F(DeviceSimulatorTest, PingsAreAnsweredWithTheirTokenUnlessDisabled) {
    {
        DeviceSimulator dev(options());
        auto conn = accept_and_register(dev);
        ASSERT_TRUE(conn);
        ASSERT_TRUE(conn->send(coap::make_ping(coap::Token::from_u64(0xabcdef), true)));
        auto pong = conn->receive();
        ASSERT_TRUE(pong);
        EXPECT_EQ(pong->code(), code::pong);
        EXPECT_EQ(pong->token(), coap::Token::from_u64(0xabcdef));
        EXPECT_TRUE(pong->find_option(coap::signal_option::custody));
        EXPECT_EQ(dev.stats().pings_received, 1u);
        EXPECT_EQ(dev.stats().pongs_sent, 1u);

        // And the device's own Ping.
        std::thread answer([&] {
            auto ping = conn->receive();
            if (ping && ping->code() == code::ping) conn->send(coap::make_pong(*ping));
        });
        const Result r = dev.ping(2s);
        answer.join();
        ASSERT_TRUE(r.ok()) << r.detail;
        EXPECT_EQ(r.response.code(), code::pong);
    }
    {
        auto o = options("mute");
        o.answer_pings = false;
        DeviceSimulator dev(o);
        auto conn = accept_and_register(dev);
        ASSERT_TRUE(conn);
        ASSERT_TRUE(conn->send(coap::make_ping(coap::Token::from_u64(1))));
        // The device handles input in order: had it answered the Ping, the Pong would come first.
        auto r = conn->exchange(req(code::get, "/3/0/0", 2));
        ASSERT_TRUE(r);
        EXPECT_EQ(conn->inbox_size(), 0u) << "no Pong";
        EXPECT_EQ(dev.stats().pings_received, 1u);
        EXPECT_EQ(dev.stats().pongs_sent, 0u);
    }
}

TEST_F(DeviceSimulatorTest, ReleaseIsRecordedAndClosesWithFin) {
    DeviceSimulator dev(options());
    auto conn = accept_and_register(dev);
    ASSERT_TRUE(conn);
    ASSERT_TRUE(conn->send(coap::make_release(std::nullopt, 7, "draining")));
    EXPECT_EQ(conn->wait_closed(3s), CloseState::closed_fin);
    const auto closed = dev.wait_closed(3s);
    ASSERT_TRUE(closed);
    EXPECT_EQ(closed->reason, CloseReason::release_received);
    ASSERT_EQ(dev.releases().size(), 1u);
    EXPECT_EQ(dev.releases()[0].hold_off_seconds, 7u);
    EXPECT_EQ(dev.stats().releases_received, 1u);
}

TEST_F(DeviceSimulatorTest, AbortClosesAndFailsWhatIsPending) {
    DeviceSimulator dev(options());
    auto conn = accept_and_register(dev);
    ASSERT_TRUE(conn);
    auto pending = dev.update_async();
    ASSERT_TRUE(conn->receive());  // the Update, left unanswered
    ASSERT_TRUE(conn->send(coap::make_abort(std::nullopt, "go away")));
    ASSERT_EQ(pending.wait_for(3s), std::future_status::ready);
    EXPECT_EQ(pending.get().status, Status::connection_closed);
    const auto closed = dev.wait_closed(3s);
    ASSERT_TRUE(closed);
    EXPECT_EQ(closed->reason, CloseReason::abort_received);
    ASSERT_EQ(dev.aborts().size(), 1u);
    EXPECT_EQ(dev.aborts()[0].diagnostic, "go away");
    EXPECT_NE(conn->wait_closed(3s), CloseState::still_open);
}

TEST_F(DeviceSimulatorTest, UnknownCriticalCsmOptionIsAborted) {
    DeviceSimulator dev(options());
    auto conn = accept_and_register(dev);
    ASSERT_TRUE(conn);
    coap::Message csm(code::csm);
    csm.add_option(9, coap::Bytes{1});  // critical, unknown
    ASSERT_TRUE(conn->send(csm));
    auto abort = conn->receive();
    ASSERT_TRUE(abort);
    EXPECT_EQ(abort->code(), code::abort);
    EXPECT_EQ(abort->uint_option(coap::signal_option::bad_csm_option), 9u);
    EXPECT_EQ(conn->wait_closed(3s), CloseState::closed_fin);
    EXPECT_EQ(dev.wait_closed(3s)->reason, CloseReason::abort_sent);
}

// ---- connection control -----------------------------------------------------------------------

TEST_F(DeviceSimulatorTest, GoSilentStopsAnsweringButKeepsTheSocketOpen) {
    DeviceSimulator dev(options());
    auto conn = accept_and_register(dev);
    ASSERT_TRUE(conn);
    dev.go_silent();
    EXPECT_TRUE(dev.is_silent());
    ASSERT_TRUE(conn->send(coap::make_ping(coap::Token::from_u64(5))));
    EXPECT_FALSE(conn->receive(300ms)) << "a half-open device answers nothing";
    EXPECT_EQ(conn->close_state(), CloseState::still_open) << "and sends no FIN";
    EXPECT_EQ(dev.state(), ConnectionState::connected);
    EXPECT_EQ(dev.set_resource("/3/0/13", "1"), 0u);
    EXPECT_EQ(dev.update(UpdateParams{}, 1s).status, Status::bad_state);

    // Back to life: the buffered Ping is read and answered.
    dev.resume();
    auto pong = conn->receive();
    ASSERT_TRUE(pong);
    EXPECT_EQ(pong->code(), code::pong);
    EXPECT_EQ(pong->token(), coap::Token::from_u64(5));
}

TEST_F(DeviceSimulatorTest, DisconnectSendsFinDropSendsRstReconnectDoesNotRegister) {
    DeviceSimulator dev(options());
    auto conn = accept_and_register(dev);
    ASSERT_TRUE(conn);
    const auto first_port = dev.local_port();
    EXPECT_NE(first_port, 0);

    dev.disconnect();
    EXPECT_EQ(conn->wait_closed(3s), CloseState::closed_fin);
    EXPECT_EQ(dev.last_close()->reason, CloseReason::local_disconnect);
    EXPECT_EQ(dev.state(), ConnectionState::closed);
    EXPECT_TRUE(dev.is_registered()) << "the registration outlives the connection";

    auto reconnected = std::async(std::launch::async, [&] { return dev.reconnect(); });
    auto conn2 = gw.accept();
    ASSERT_TRUE(conn2);
    ASSERT_TRUE(reconnected.get().ok());
    EXPECT_NE(dev.local_port(), first_port);
    auto csm = conn2->receive();
    ASSERT_TRUE(csm);
    EXPECT_EQ(csm->code(), code::csm);
    // No Register follows: the next message is the Pong to our Ping.
    ASSERT_TRUE(conn2->send(coap::make_ping(coap::Token::from_u64(3))));
    auto next = conn2->receive();
    ASSERT_TRUE(next);
    EXPECT_EQ(next->code(), code::pong) << coap::describe(*next);
    EXPECT_EQ(dev.stats().connections, 2u);
    ASSERT_TRUE(conn2->exchange(req(code::get, "/3/0/0", 4)));
    EXPECT_EQ(dev.requests().back().connection, 2u);

    dev.drop();
    EXPECT_EQ(conn2->wait_closed(3s), CloseState::reset);
    EXPECT_EQ(dev.last_close()->reason, CloseReason::local_reset);
}

TEST_F(DeviceSimulatorTest, SleepAndWakeSendAnUpdateOnTheNewConnection) {
    auto o = options();
    o.queue_mode = true;
    DeviceSimulator dev(o);
    auto conn = accept_and_register(dev);
    ASSERT_TRUE(conn);
    dev.sleep();
    EXPECT_EQ(conn->wait_closed(3s), CloseState::closed_fin);

    auto woken = std::async(std::launch::async, [&] { return dev.wake(3s); });
    auto conn2 = gw.accept();
    ASSERT_TRUE(conn2);
    auto csm = conn2->receive();
    ASSERT_TRUE(csm && csm->code() == code::csm);
    auto update = conn2->receive();
    ASSERT_TRUE(update);
    EXPECT_EQ(update->code(), code::post);
    EXPECT_EQ(uri_path_string(*update), "/rd/abc");
    EXPECT_TRUE(uri_queries(*update).empty());
    ASSERT_TRUE(conn2->send(coap::Message(code::changed, update->token())));
    EXPECT_EQ(woken.get().code(), code::changed);
}

TEST_F(DeviceSimulatorTest, PeerFinIsObservedAndRequestsThenFail) {
    DeviceSimulator dev(options());
    auto conn = accept_and_register(dev);
    ASSERT_TRUE(conn);
    conn.reset();  // close(2): FIN
    const auto closed = dev.wait_closed(3s);
    ASSERT_TRUE(closed);
    EXPECT_EQ(closed->reason, CloseReason::peer_closed);
    EXPECT_EQ(dev.update(UpdateParams{}, 1s).status, Status::not_connected);
}

// ---- robustness -------------------------------------------------------------------------------

TEST_F(DeviceSimulatorTest, BadInputGetsCoapAnswersAndNeverCrashes) {
    DeviceSimulator dev(options());
    auto conn = accept_and_register(dev);
    ASSERT_TRUE(conn);

    // A request over the device's Max-Message-Size (1152): 4.13 with Size1.
    auto big = req(code::put, "/3/0/1", 0x41);
    big.set_payload(coap::Bytes(4000, 'x'));
    auto r = conn->exchange(big);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), code::request_entity_too_large);
    EXPECT_EQ(r->uint_option(option::size1), 1152u);

    // A malformed option (nibble 15 that is not the payload marker): 4.00.
    const coap::Bytes malformed{0x11, code::get, 0x42, 0xf0};
    ASSERT_TRUE(conn->send_raw(malformed));
    r = conn->receive_until([](const auto& m) { return m.token() == coap::Token::from_u64(0x42); });
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), code::bad_request);

    // Unmatched responses and empty messages are ignored.
    ASSERT_TRUE(conn->send(coap::Message(code::content, coap::Token::from_u64(0xdead))));
    ASSERT_TRUE(conn->send(coap::Message(code::empty)));
    ASSERT_TRUE(conn->exchange(req(code::get, "/3/0/0", 0x43)));
    EXPECT_EQ(dev.stats().unmatched_responses, 1u);

    // Framing lost (TKL 9): Abort, then FIN.
    const coap::Bytes garbage{0x09, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    ASSERT_TRUE(conn->send_raw(garbage));
    auto abort = conn->receive();
    ASSERT_TRUE(abort);
    EXPECT_EQ(abort->code(), code::abort);
    EXPECT_EQ(conn->wait_closed(3s), CloseState::closed_fin);
    EXPECT_EQ(dev.wait_closed(3s)->reason, CloseReason::abort_sent);
    EXPECT_GE(dev.stats().decode_errors, 3u);
}

TEST_F(DeviceSimulatorTest, RequestHookCanAnswerOrIgnore) {
    DeviceSimulator dev(options());
    auto conn = accept_and_register(dev);
    ASSERT_TRUE(conn);
    dev.set_request_hook([](const ReceivedRequest& r) {
        if (r.path == "/3/0/1") return HookResult::ignore();
        if (r.path == "/3/0/2") {
            coap::Message m(code::service_unavailable);
            m.set_payload("busy");
            return HookResult::respond(m);
        }
        return HookResult::proceed();
    });
    ASSERT_TRUE(conn->send(req(code::get, "/3/0/1", 0x61)));
    auto r = conn->exchange(req(code::get, "/3/0/2", 0x62));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), code::service_unavailable);
    EXPECT_EQ(text(*r), "busy");
    EXPECT_EQ(conn->inbox_size(), 0u) << "the ignored request got nothing";
    auto ignored = dev.wait_for_request(DeviceSimulator::path_is("/3/0/1"), 1s);
    ASSERT_TRUE(ignored);
    EXPECT_EQ(ignored->response_code, 0);

    // Answer it late, by hand.
    coap::Message late(code::content, ignored->token());
    late.set_payload("late");
    ASSERT_TRUE(dev.send_message(late));
    r = conn->receive();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->token(), coap::Token::from_u64(0x61));
    EXPECT_EQ(text(*r), "late");
}

TEST_F(DeviceSimulatorTest, ManyDevicesShareOneEventLoop) {
    auto loop = std::make_shared<EventLoop>("shared");
    std::vector<std::unique_ptr<DeviceSimulator>> devices;
    std::vector<std::future<Result>> registrations;
    for (int i = 0; i < 5; ++i) {
        auto o = options("shared-" + std::to_string(i));
        o.loop = loop;
        devices.push_back(std::make_unique<DeviceSimulator>(o));
        registrations.push_back(devices.back()->register_device_async());
    }
    std::vector<std::unique_ptr<FakeConnection>> conns;
    for (int i = 0; i < 5; ++i) {
        auto c = gw.accept();
        ASSERT_TRUE(c);
        auto reg = c->receive_until([](const auto& m) { return m.code() == code::post; });
        ASSERT_TRUE(reg);
        coap::Message created(code::created, reg->token());
        created.add_option(option::location_path, "rd");
        created.add_option(option::location_path, "d" + std::to_string(i));
        ASSERT_TRUE(c->send(created));
        conns.push_back(std::move(c));
    }
    std::set<std::string> locations;
    for (auto& f : registrations) {
        ASSERT_EQ(f.wait_for(3s), std::future_status::ready);
        const Result r = f.get();
        EXPECT_EQ(r.code(), code::created);
        locations.insert(r.location());
    }
    EXPECT_EQ(locations.size(), 5u);
    devices.clear();  // destroying simulators leaves the shared loop running
    for (auto& c : conns)
        EXPECT_NE(c->wait_closed(3s), CloseState::still_open);
}

TEST_F(DeviceSimulatorTest, BlockingCallsFromTheLoopThreadAreRefused) {
    DeviceSimulator dev(options());
    auto conn = accept_and_register(dev);
    ASSERT_TRUE(conn);
    std::promise<std::string> what;
    dev.set_request_hook([&](const ReceivedRequest&) {
        try {
            dev.stats();                       // fine: no loop round trip
            dev.set_resource("/3/0/13", "1");  // needs the loop: refused
            what.set_value("no exception");
        } catch (const std::logic_error& e) {
            what.set_value(e.what());
        }
        return HookResult::proceed();
    });
    ASSERT_TRUE(conn->exchange(req(code::get, "/3/0/0", 1)));
    auto f = what.get_future();
    ASSERT_EQ(f.wait_for(3s), std::future_status::ready);
    EXPECT_NE(f.get().find("loop thread"), std::string::npos);
}

TEST_F(DeviceSimulatorTest, OwnKeepalivePingsAfterSilenceAndBootstrapRequest) {
    auto o = options();
    o.ping_interval = 100ms;
    DeviceSimulator dev(o);
    auto conn = accept_and_register(dev);
    ASSERT_TRUE(conn);
    // Nothing happens for 100 ms: the device pings (libcoap's -K behaviour, unlike Anjay).
    auto ping = conn->receive(2s);
    ASSERT_TRUE(ping);
    EXPECT_EQ(ping->code(), code::ping) << coap::describe(*ping);
    ASSERT_TRUE(conn->send(coap::make_pong(*ping)));
    EXPECT_TRUE(dev.wait_for_stats([](const Stats& s) { return s.pongs_received >= 1; }, 2s));

    auto bs = std::async(std::launch::async, [&] { return dev.bootstrap_request(3s); });
    auto m = conn->receive_until([](const auto& x) { return x.code() == code::post; }, 3s);
    ASSERT_TRUE(m);
    EXPECT_EQ(uri_path_string(*m), "/bs");
    EXPECT_EQ(uri_queries(*m), (std::vector<std::string>{"ep=dev1"}));
    ASSERT_TRUE(conn->send(coap::Message(code::changed, m->token())));
    EXPECT_EQ(bs.get().code(), code::changed);
}

TEST_F(DeviceSimulatorTest, RandomInputNeverCrashesTheDevice) {
    DeviceSimulator dev(options());
    auto conn = accept_and_register(dev);
    ASSERT_TRUE(conn);
    std::uint32_t seed = 12345;
    auto rnd = [&seed](std::uint32_t n) {
        seed = seed * 1103515245u + 12345u;
        return (seed >> 8) % n;
    };
    for (int round = 0; round < 300; ++round) {
        if (dev.state() != ConnectionState::connected) {
            auto again = std::async(std::launch::async, [&] { return dev.reconnect(); });
            conn = gw.accept();
            ASSERT_TRUE(conn);
            ASSERT_TRUE(again.get().ok());
        }
        if (rnd(10) == 0) {
            coap::Bytes junk(rnd(40));
            for (auto& b : junk)
                b = static_cast<std::uint8_t>(rnd(256));
            conn->send_raw(junk);
            continue;
        }
        const std::uint8_t c = static_cast<std::uint8_t>(rnd(4) == 0 ? rnd(256) : rnd(8));
        coap::Message m(c, coap::Token::from_u64(rnd(1u << 20)));
        const auto options_count = rnd(5);
        for (std::uint32_t i = 0; i < options_count; ++i) {
            static constexpr std::uint16_t numbers[] = {2, 4, 6, 11, 12, 15, 17, 23, 27, 28, 60, 9};
            coap::Bytes value(rnd(5));
            for (auto& b : value)
                b = static_cast<std::uint8_t>(rnd(256));
            if (rnd(2)) value = coap::Bytes{static_cast<std::uint8_t>('0' + rnd(10))};
            m.add_option(numbers[rnd(12)], value);
        }
        coap::Bytes payload(rnd(3) == 0 ? rnd(2000) : 0);
        for (auto& b : payload)
            b = static_cast<std::uint8_t>(rnd(256));
        m.set_payload(payload);
        conn->send(m);
        if (rnd(8) == 0) dev.set_resource("/3/0/13", std::to_string(round));
    }
    // It handled a good share of that (requests answered, some connections aborted).
    const Stats st = dev.stats();
    std::cout << "random input: requests=" << st.requests_received
              << " decode_errors=" << st.decode_errors << " aborts_sent=" << st.aborts_sent
              << " connections=" << st.connections << "\n";
    EXPECT_GT(st.requests_received, 50u);
    // Still a working device, on a fresh connection.
    dev.drop();
    auto again = std::async(std::launch::async, [&] { return dev.reconnect(); });
    conn = gw.accept();
    ASSERT_TRUE(conn);
    ASSERT_TRUE(again.get().ok());
    auto r = conn->exchange(req(code::get, "/3/0/0", 0x4242));
    ASSERT_TRUE(r);
    EXPECT_EQ(text(*r), "lwgate");
}

}  // namespace
}  // namespace lwgate::devsim
