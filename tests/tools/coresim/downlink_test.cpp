// The core simulator's downlink side (requests to a registered device, block-wise, Observe and
// its cancellation, separate responses, DTLS), against a libcoap device (udp_device.hpp) that
// registers from a client session and answers on it.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "lwgate/coresim/core_simulator.hpp"
#include "udp_device.hpp"

namespace lwgate::coresim {
namespace {

using ::testing::ElementsAre;
using testing::UdpDevice;

constexpr const char* kEp = "urn:imei:490154203237518";

Bytes random_body(std::size_t size, unsigned seed) {
    Bytes out(size);
    std::mt19937 rng(seed);
    for (auto& b : out)
        b = static_cast<std::uint8_t>(rng());
    return out;
}

std::map<std::string, UdpDevice::Resource> device_resources() {
    std::map<std::string, UdpDevice::Resource> res;
    res["/3/0/0"] = {to_bytes("lwgate-labs"), content_format::text_plain};
    res["/3/0/4"] = {{}, content_format::text_plain};  // Reboot (execute)
    res["/3/0/13"] = {to_bytes("1000"), content_format::text_plain, /*observable=*/true};
    res["/3/0"] = {to_bytes("tlv"), content_format::lwm2m_tlv};
    res["/5/0/0"] = {{}, content_format::octet_stream};  // firmware package (64 KiB writes)
    res["/19/0/0"] = {random_body(64 * 1024, 7), content_format::octet_stream};
    res["/1/0/1"] = {to_bytes("60"), content_format::text_plain};
    res["/9"] = {{}, content_format::lwm2m_tlv};  // create target
    res["/"] = {{}, content_format::senml_json};  // composites
    UdpDevice::Resource separate{to_bytes("later"), content_format::text_plain};
    separate.separate = true;
    res["/3/0/2"] = separate;
    UdpDevice::Resource mute{to_bytes(""), content_format::text_plain};
    mute.mute = true;
    res["/3/0/3"] = mute;
    return res;
}

class DownlinkTest : public ::testing::Test {
  protected:
    void SetUp() override {
        core.start();
        device = std::make_unique<UdpDevice>(core.port(), device_resources());
        const auto r = device->register_(kEp, "lt=300&lwm2m=1.1&b=U", "</1/0>,</3/0>,</5/0>");
        ASSERT_TRUE(r);
        ASSERT_EQ(r->code, codes::created);
        auto reg = core.wait_registration(kEp, Millis{2'000});
        ASSERT_TRUE(reg);
        registration = *reg;
        location = r->option_values(option::location_path);
    }

    CoreSimulator core;
    std::unique_ptr<UdpDevice> device;
    Registration registration;
    std::vector<Bytes> location;
};

TEST_F(DownlinkTest, RegisterAnswerCarriesLocationPathRdAndId) {
    ASSERT_EQ(location.size(), 2u);
    EXPECT_EQ(to_string(location[0]), "rd");
    EXPECT_EQ(to_string(location[1]), registration.id);
    EXPECT_EQ(registration.source, device->local_address());
    EXPECT_EQ(registration.content_format, content_format::link_format);
    EXPECT_EQ(registration.object_links_text(), "</1/0>,</3/0>,</5/0>");
}

TEST_F(DownlinkTest, ReadReturnsCodeFormatPayloadAndToken) {
    const auto r = core.read(kEp, "/3/0/0");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code, codes::content);
    EXPECT_EQ(r->text(), "lwgate-labs");
    EXPECT_FALSE(r->token.empty());
    const auto got = device->wait_received([](const auto& q) { return q.path == "/3/0/0"; });
    ASSERT_TRUE(got);
    EXPECT_EQ(got->method, Method::get);
    EXPECT_EQ(got->token, r->token);

    const auto tlv = core.read(kEp, "/3/0", content_format::lwm2m_tlv);
    ASSERT_TRUE(tlv);
    EXPECT_EQ(tlv->content_format, content_format::lwm2m_tlv);
    const auto q = device->wait_received([](const auto& q) { return q.path == "/3/0"; });
    ASSERT_TRUE(q);
    EXPECT_EQ(q->accept, content_format::lwm2m_tlv);

    const auto missing = core.read(kEp, "/77/0/1");
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->code, codes::not_found);
}

TEST_F(DownlinkTest, WriteExecuteCreateDeleteReachTheDeviceUnchanged) {
    auto r = core.write(kEp, "/1/0/1", content_format::text_plain, to_bytes("120"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code, codes::changed);
    EXPECT_EQ(device->value("/1/0/1"), to_bytes("120"));

    r = core.write(kEp, "/3/0", content_format::lwm2m_tlv, {0xc1, 0x0e, 0x33}, WriteMode::partial);
    ASSERT_TRUE(r);
    r = core.execute(kEp, "/3/0/4", "0='now'");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code, codes::changed);
    r = core.create(kEp, "/9", content_format::lwm2m_tlv, {0x08, 0x00, 0x03, 0xc1, 0x00, 0x01});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code, codes::created);
    r = core.delete_(kEp, "/9");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code, codes::deleted);

    const auto all = device->received();
    ASSERT_EQ(all.size(), 5u);
    EXPECT_EQ(all[0].method, Method::put);
    EXPECT_EQ(all[0].content_format, content_format::text_plain);
    EXPECT_EQ(all[1].method, Method::post);
    EXPECT_EQ(all[1].path, "/3/0");
    EXPECT_EQ(all[1].payload, (Bytes{0xc1, 0x0e, 0x33}));
    EXPECT_EQ(all[2].method, Method::post);
    EXPECT_EQ(all[2].path, "/3/0/4");
    EXPECT_EQ(to_string(all[2].payload), "0='now'");
    EXPECT_EQ(all[3].method, Method::post);
    EXPECT_EQ(all[3].content_format, content_format::lwm2m_tlv);
    EXPECT_EQ(all[4].method, Method::delete_);
    for (const auto& q : all)
        EXPECT_TRUE(q.confirmable);
}

TEST_F(DownlinkTest, DiscoverAttributesAndComposites) {
    auto r = core.discover(kEp, "/3/0/13");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code, codes::content);
    EXPECT_EQ(r->content_format, content_format::link_format);
    EXPECT_EQ(r->text(), "</3/0/13>;obs");

    r = core.write_attributes(kEp, "/3/0/13", "pmin=1&pmax=5");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code, codes::changed);

    const Bytes fetch_body = to_bytes(R"([{"n":"/3/0/0"}])");
    r = core.read_composite(kEp, content_format::senml_json, fetch_body,
                            content_format::senml_json);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code, codes::content);
    EXPECT_EQ(r->content_format, content_format::senml_json);

    const Bytes patch_body = to_bytes(R"([{"n":"/1/0/1","v":90}])");
    r = core.write_composite(kEp, content_format::senml_json, patch_body);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code, codes::changed);

    const auto all = device->received();
    ASSERT_EQ(all.size(), 4u);
    EXPECT_EQ(all[0].accept, content_format::link_format);
    EXPECT_EQ(all[1].method, Method::put);
    EXPECT_THAT(all[1].query, ElementsAre("pmin=1", "pmax=5"));
    EXPECT_TRUE(all[1].payload.empty());
    EXPECT_EQ(all[2].method, Method::fetch);
    EXPECT_EQ(all[2].path, "/");
    EXPECT_EQ(all[2].payload, fetch_body);
    EXPECT_EQ(all[2].content_format, content_format::senml_json);
    EXPECT_EQ(all[3].method, Method::ipatch);
    EXPECT_EQ(all[3].payload, patch_body);
}

TEST_F(DownlinkTest, GenericRequestCarriesExtraOptionsAndNonConfirmable) {
    Request req;
    req.method = Method::get;
    req.uri_path = "/3/0/0";
    req.confirmable = false;
    req.extra_options.push_back(Option{option::etag, {0xde, 0xad}});
    const auto r = core.request(kEp, req);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->text(), "lwgate-labs");
    const auto got = device->wait_received([](const auto& q) { return q.path == "/3/0/0"; });
    ASSERT_TRUE(got);
    EXPECT_FALSE(got->confirmable);
}

TEST_F(DownlinkTest, BlockwiseWrite64KiBAndRead64KiB) {
    const Bytes firmware = random_body(64 * 1024, 99);
    auto w = core.write(kEp, "/5/0/0", content_format::octet_stream, firmware);
    ASSERT_TRUE(w);
    EXPECT_EQ(w->code, codes::changed);
    const auto got = device->wait_received([](const auto& q) { return q.path == "/5/0/0"; });
    ASSERT_TRUE(got);
    EXPECT_EQ(got->payload.size(), firmware.size());
    EXPECT_TRUE(got->payload == firmware);  // reassembled by the device's libcoap (Block1)

    const auto r = core.read(kEp, "/19/0/0");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code, codes::content);
    EXPECT_EQ(r->payload.size(), 64u * 1024);
    EXPECT_TRUE(r->payload == random_body(64 * 1024, 7));  // reassembled by ours (Block2)
    // And the written body reads back whole.
    const auto back = core.read(kEp, "/5/0/0");
    ASSERT_TRUE(back);
    EXPECT_TRUE(back->payload == firmware);
}

TEST_F(DownlinkTest, DeviceSend64KiBToDp) {
    const Bytes body = random_body(64 * 1024, 3);
    Request send;
    send.method = Method::post;
    send.uri_path = "/dp";
    send.content_format = content_format::senml_cbor;
    send.payload = body;
    const auto r = device->send(send);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code, codes::changed);
    const auto ev = core.wait_send(1, Millis{2'000});
    ASSERT_TRUE(ev);
    EXPECT_EQ(ev->endpoint, kEp);
    EXPECT_EQ(ev->content_format, content_format::senml_cbor);
    EXPECT_TRUE(ev->payload == body);
    EXPECT_EQ(ev->source, device->local_address());
}

TEST_F(DownlinkTest, ObserveKeepsTheTokenAndObserveNumbersIncrease) {
    const auto obs = core.observe(kEp, "/3/0/13");
    ASSERT_TRUE(obs);
    EXPECT_TRUE(obs->established());
    EXPECT_EQ(obs->first.code, codes::content);
    EXPECT_EQ(obs->first.text(), "1000");
    EXPECT_EQ(obs->first.token, obs->token);
    const auto req = device->wait_received([](const auto& q) { return q.path == "/3/0/13"; });
    ASSERT_TRUE(req);
    EXPECT_EQ(req->observe, 0u);
    EXPECT_EQ(req->token, obs->token);

    device->set_value("/3/0/13", to_bytes("1001"));
    const auto n1 = core.wait_notification(*obs);
    ASSERT_TRUE(n1);
    device->set_value("/3/0/13", to_bytes("1002"));
    const auto n2 = core.wait_notification(*obs);
    ASSERT_TRUE(n2);
    EXPECT_EQ(n1->text(), "1001");
    EXPECT_EQ(n2->text(), "1002");
    EXPECT_EQ(n1->token, obs->token);
    EXPECT_EQ(n2->token, obs->token);
    ASSERT_TRUE(n1->observe && n2->observe && obs->first.observe);
    EXPECT_GT(*n1->observe, *obs->first.observe);
    EXPECT_GT(*n2->observe, *n1->observe);
    EXPECT_EQ(core.notifications(*obs).size(), 2u);
    EXPECT_EQ(core.events(EventKind::notification).size(), 2u);
    EXPECT_EQ(core.events(EventKind::notification)[1].path, "/3/0/13");
}

TEST_F(DownlinkTest, CancelObserveWithGetObserve1) {
    const auto obs = core.observe(kEp, "/3/0/13");
    ASSERT_TRUE(obs && obs->established());
    device->set_value("/3/0/13", to_bytes("7"));
    ASSERT_TRUE(core.wait_notification(*obs));

    const auto r = core.cancel_observe(*obs, CancelMode::get_observe1);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code, codes::content);
    EXPECT_FALSE(r->observe);  // the device no longer observes
    const auto cancel =
        device->wait_received([](const auto& q) { return q.path == "/3/0/13" && q.observe == 1u; });
    ASSERT_TRUE(cancel);
    EXPECT_EQ(cancel->method, Method::get);
    EXPECT_EQ(cancel->token, obs->token);  // same token as the registration

    // No more notifications (the device has no observer left). A bounded negative wait.
    device->set_value("/3/0/13", to_bytes("8"));
    EXPECT_FALSE(core.wait_notification(*obs, Millis{300}));
}

TEST_F(DownlinkTest, CancelObserveWithReset) {
    const auto obs = core.observe(kEp, "/3/0/13");
    ASSERT_TRUE(obs && obs->established());
    EXPECT_FALSE(core.cancel_observe(*obs, CancelMode::reset));  // armed, returns at once

    device->set_value("/3/0/13", to_bytes("9"));
    EXPECT_TRUE(core.wait_reset_sent(*obs));
    EXPECT_TRUE(device->wait_resets(1));
    EXPECT_FALSE(core.wait_notification(*obs, Millis{0}));  // the reset one is not queued
    EXPECT_EQ(core.notifications(*obs).size(), 1u);         // but it is in the record

    // The device dropped its observer on the RST: nothing more arrives (not even something we
    // would reset again). A bounded negative wait.
    device->set_value("/3/0/13", to_bytes("10"));
    EXPECT_FALSE(core.wait_reset_sent(*obs, 2, Millis{300}));
    EXPECT_EQ(core.notifications(*obs).size(), 1u);
}

TEST_F(DownlinkTest, SeparateResponseIsDelivered) {
    const auto r = core.read(kEp, "/3/0/2");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code, codes::content);
    EXPECT_EQ(r->text(), "later");
}

TEST_F(DownlinkTest, UnansweredRequestTimesOutAndUnknownEndpointFailsAtOnce) {
    const auto start = SteadyClock::now();
    EXPECT_FALSE(core.read(kEp, "/3/0/3", std::nullopt, Millis{300}));
    EXPECT_GE(SteadyClock::now() - start, Millis{300});
    const auto t0 = SteadyClock::now();
    EXPECT_FALSE(core.read("no-such-endpoint", "/3/0/0"));
    EXPECT_LT(SteadyClock::now() - t0, Millis{1'000});
    // Still fine afterwards.
    EXPECT_TRUE(core.read(kEp, "/3/0/0"));
}

TEST_F(DownlinkTest, DownlinkFollowsTheLastUpdateAddress) {
    // Another socket updates the same registration (NAT rebinding): downlink goes there.
    UdpDevice moved(core.port(), device_resources());
    Request update;
    update.method = Method::post;
    update.uri_path = "/rd/" + registration.id;
    update.uri_query = {"lt=300"};
    const auto u = moved.send(update);
    ASSERT_TRUE(u);
    EXPECT_EQ(u->code, codes::changed);
    ASSERT_TRUE(core.wait_update(kEp, 1, Millis{2'000}));
    EXPECT_EQ(core.last_source(kEp), moved.local_address());

    ASSERT_TRUE(core.read(kEp, "/3/0/0"));
    EXPECT_TRUE(
        moved.wait_received([](const auto& q) { return q.path == "/3/0/0"; }, Millis{1'000}));
    EXPECT_TRUE(device->received().empty());
}

TEST_F(DownlinkTest, DeregisteredDeviceGetsNoDownlink) {
    Request dereg;
    dereg.method = Method::delete_;
    dereg.uri_path = "/rd/" + registration.id;
    const auto r = device->send(dereg);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code, codes::deleted);
    ASSERT_TRUE(core.wait_deregistration(kEp, Millis{2'000}));
    EXPECT_FALSE(core.read(kEp, "/3/0/0", std::nullopt, Millis{500}));
}

TEST(BootstrapTest, BootstrapRequestThenWriteAndFinish) {
    CoreSimulator core;
    core.start();
    auto res = device_resources();
    res["/bs"] = {{}, content_format::text_plain};
    res["/0/1"] = {{}, content_format::lwm2m_tlv};
    UdpDevice device(core.port(), res);
    Request bs;
    bs.method = Method::post;
    bs.uri_path = "/bs";
    bs.uri_query = {"ep=boot-dev", "pct=11543"};
    const auto r = device.send(bs);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code, codes::changed);
    ASSERT_TRUE(core.wait_event([](const Event& e) { return e.kind == EventKind::bootstrap; }));
    EXPECT_EQ(core.last_source("boot-dev"), device.local_address());

    const auto w = core.write("boot-dev", "/0/1", content_format::lwm2m_tlv, {0xc1, 0x00, 0x01});
    ASSERT_TRUE(w);
    EXPECT_EQ(w->code, codes::changed);
    const auto fin = core.bootstrap_finish("boot-dev");
    ASSERT_TRUE(fin);
    EXPECT_EQ(fin->code, codes::changed);
    const auto got = device.received();
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].path, "/0/1");
    EXPECT_EQ(got[1].method, Method::post);
    EXPECT_EQ(got[1].path, "/bs");
    EXPECT_TRUE(core.registrations().empty());
}

TEST(DownlinkNonTest, NonConfirmableNotificationsAreResetToo) {
    CoreSimulator core;
    core.start();
    auto res = device_resources();
    res["/3/0/13"].confirmable_notifications = false;
    UdpDevice device(core.port(), res);
    ASSERT_TRUE(device.register_("non", "lt=60", "</3/0>"));
    ASSERT_TRUE(core.wait_registration("non", Millis{2'000}));
    const auto obs = core.observe("non", "/3/0/13");
    ASSERT_TRUE(obs && obs->established());
    device.set_value("/3/0/13", to_bytes("1"));
    ASSERT_TRUE(core.wait_notification(*obs));
    core.cancel_observe(*obs, CancelMode::reset);
    device.set_value("/3/0/13", to_bytes("2"));
    EXPECT_TRUE(core.wait_reset_sent(*obs));  // libcoap sends RST for a NON too
    EXPECT_FALSE(core.wait_notification(*obs, Millis{0}));
    EXPECT_EQ(core.notifications(*obs).size(), 2u);
}

TEST(DownlinkDtlsTest, RegisterAndReadOverDtlsPsk) {
    CoreSimulator core;
    Options opts;
    opts.udp = false;
    opts.dtls = true;
    opts.psk_keys["dtls-dev"] = to_bytes("0123456789abcdef");
    core.start(opts);
    EXPECT_EQ(core.port(), 0);
    UdpDevice device(core.dtls_port(), device_resources(),
                     UdpDevice::Psk{"dtls-dev", to_bytes("0123456789abcdef")});
    const auto r = device.register_("dtls-ep", "lt=60&b=U", "</3/0>");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code, codes::created);
    const auto reg = core.wait_registration("dtls-ep", Millis{2'000});
    ASSERT_TRUE(reg);
    EXPECT_EQ(reg->dtls_identity, "dtls-dev");
    EXPECT_EQ(reg->source, device.local_address());

    const auto read = core.read("dtls-ep", "/19/0/0");  // 64 KiB over DTLS, Block2
    ASSERT_TRUE(read);
    EXPECT_TRUE(read->payload == random_body(64 * 1024, 7));
    const auto obs = core.observe("dtls-ep", "/3/0/13");
    ASSERT_TRUE(obs && obs->established());
    device.set_value("/3/0/13", to_bytes("42"));
    const auto n = core.wait_notification(*obs);
    ASSERT_TRUE(n);
    EXPECT_EQ(n->text(), "42");
}

TEST(CoreSimulatorLifetimeTest, StopWithPendingWorkAndRepeatedSimulators) {
    for (int i = 0; i < 3; ++i) {
        CoreSimulator core;
        core.start();
        UdpDevice device(core.port(), device_resources());
        ASSERT_TRUE(device.register_("ep" + std::to_string(i), "lt=60", "</3/0>"));
        ASSERT_TRUE(core.wait_registration("ep" + std::to_string(i), Millis{2'000}));
        auto obs = core.observe("ep" + std::to_string(i), "/3/0/13");
        ASSERT_TRUE(obs);
        core.stop();
        // After stop every call returns at once, empty.
        EXPECT_FALSE(core.read("ep" + std::to_string(i), "/3/0/0"));
        EXPECT_FALSE(core.wait_notification(*obs, Millis{5'000}));
        if (i == 0) {
            // A core that goes away does not cancel its observations (libcoap would, by
            // default, when the session is freed). A bounded negative wait.
            EXPECT_FALSE(
                device.wait_received([](const auto& q) { return q.observe == 1u; }, Millis{300}));
        }
    }
}

}  // namespace
}  // namespace lwgate::coresim
