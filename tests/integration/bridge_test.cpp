// The LwM2M bridge end to end: the real lwgate between the core simulator (libcoap, UDP/DTLS,
// tools/coresim) and device simulators (our codec, TCP/TLS, tools/devsim).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <set>

#include "bridge_fixture.hpp"
#include "lwgate/coap/block.hpp"
#include "lwgate/harness/admin_client.hpp"
#include "lwgate/harness/test_certificates.hpp"
#include "lwgate/harness/udp_relay.hpp"

namespace lwgate::integration {
namespace {

TEST_F(BridgeTest, RegisterReachesCoreWithUdpBindingAndEverythingElseUnchanged) {
    start_all();
    auto o = device_options("urn:imei:100");
    o.queue_mode = true;
    DeviceSimulator device(o);
    auto r = device.register_device(5s);
    ASSERT_TRUE(r.ok()) << r.detail;
    EXPECT_EQ(r.code(), code::created);
    auto reg = core.wait_registration("urn:imei:100", 5s);
    ASSERT_TRUE(reg);
    EXPECT_EQ(reg->binding, "U");
    EXPECT_TRUE(reg->queue_mode);
    EXPECT_EQ(reg->lifetime, 300u);
    EXPECT_EQ(reg->lwm2m_version, "1.1");
    EXPECT_EQ(reg->query,
              (std::vector<std::string>{"ep=urn:imei:100", "lt=300", "lwm2m=1.1", "b=U", "Q"}));
    EXPECT_EQ(text(reg->object_links), device.model().register_links());
    // The device got the core's location.
    EXPECT_EQ(device.registration_location(), "/rd/" + reg->id);
}

TEST_F(BridgeTest, Lwm2m10QueueBindingAndRejectionPassThrough) {
    start_all();
    core.set_register_response(coresim::Code(4, 12));
    auto o = device_options("old-device");
    o.lwm2m_version = "1.0";
    o.queue_mode = true;
    DeviceSimulator device(o);
    auto r = device.register_device(5s);
    ASSERT_TRUE(r.ok()) << r.detail;
    EXPECT_EQ(r.code(), coap::code::precondition_failed) << "4.12 comes back unchanged";
    auto events = core.events(coresim::EventKind::register_);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].query_value("b"), "UQ");
}

TEST_F(BridgeTest, UpdateAndDeregisterAreRelayedAndKeepOneUpstreamAddress) {
    start_all();
    auto device = registered_device("urn:imei:101");
    const auto first_source = core.last_source("urn:imei:101");
    ASSERT_TRUE(first_source);
    auto u = device->update(devsim::UpdateParams{120, std::nullopt, std::nullopt, false});
    ASSERT_TRUE(u.ok()) << u.detail;
    EXPECT_EQ(u.code(), code::changed);
    ASSERT_TRUE(core.wait_update("urn:imei:101", 1, 5s));
    EXPECT_EQ(core.registration("urn:imei:101")->lifetime, 120u);
    // A reconnection keeps the upstream address: the core sees one client.
    ASSERT_TRUE(device->reconnect().ok());
    auto u2 = device->update();
    ASSERT_TRUE(u2.ok()) << u2.detail;
    EXPECT_EQ(u2.code(), code::changed) << coap::describe(u2.response);
    ASSERT_TRUE(core.wait_update("urn:imei:101", 2, 5s));
    EXPECT_EQ(core.last_source("urn:imei:101"), first_source);
    auto d = device->deregister();
    ASSERT_TRUE(d.ok()) << d.detail;
    EXPECT_EQ(d.code(), code::deleted);
    EXPECT_TRUE(core.wait_deregistration("urn:imei:101", 5s));
    EXPECT_TRUE(gateway.wait_for_log("endpoint=urn:imei:101 registration ended", 5s));
}

TEST_F(BridgeTest, CoreOperationsReachTheDevice) {
    start_all();
    auto device = registered_device("urn:imei:102");
    const std::string ep = "urn:imei:102";

    auto read = core.read(ep, "/3/0/0");
    ASSERT_TRUE(read);
    EXPECT_EQ(read->code.raw, code::content);
    EXPECT_EQ(read->text(), "lwgate");

    auto write = core.write(ep, "/3/0/13", 0, coresim::Bytes{'4', '2'});
    ASSERT_TRUE(write);
    EXPECT_EQ(write->code.raw, code::changed);
    EXPECT_EQ(text(device->resource("/3/0/13")->bytes()), "42");

    auto exec = core.execute(ep, "/3/0/4", "5='x'");
    ASSERT_TRUE(exec);
    EXPECT_EQ(exec->code.raw, code::changed);
    ASSERT_EQ(device->executions().size(), 1u);

    auto discover = core.discover(ep, "/3/0");
    ASSERT_TRUE(discover);
    EXPECT_EQ(discover->code.raw, code::content);
    EXPECT_NE(discover->text().find("</3/0/0>"), std::string::npos) << discover->text();

    auto attrs = core.write_attributes(ep, "/3/0/13", "pmin=1&pmax=5");
    ASSERT_TRUE(attrs);
    EXPECT_EQ(attrs->code.raw, code::changed);

    auto create = core.create(ep, "/5", 0, {});
    ASSERT_TRUE(create);
    EXPECT_EQ(coap::code_class(create->code.raw), 2u) << create->code.str();

    auto del = core.delete_(ep, "/5/0");
    ASSERT_TRUE(del);
    EXPECT_EQ(del->code.raw, code::deleted);

    auto missing = core.read(ep, "/77/0/0");
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->code.raw, code::not_found);

    // The Read reached the device with a token of the gateway's, not the core's.
    auto at_device = device->wait_for_request(DeviceSimulator::path_is("/3/0/0"), 1s);
    ASSERT_TRUE(at_device);
    const auto device_token = at_device->token().bytes();
    EXPECT_NE(coresim::Bytes(device_token.begin(), device_token.end()), read->token);
}

TEST_F(BridgeTest, ObserveNotifyAndCancelBothWays) {
    start_all();
    auto device = registered_device("urn:imei:103");
    auto obs = core.observe("urn:imei:103", "/3/0/13");
    ASSERT_TRUE(obs);
    ASSERT_TRUE(obs->established()) << obs->first.code.str();
    device->set_resource("/3/0/13", "1");
    auto n1 = core.wait_notification(*obs, 5s);
    ASSERT_TRUE(n1);
    EXPECT_EQ(n1->text(), "1");
    device->set_resource("/3/0/13", "2");
    auto n2 = core.wait_notification(*obs, 5s);
    ASSERT_TRUE(n2);
    EXPECT_EQ(n2->text(), "2");
    EXPECT_EQ(n1->token, obs->token);
    EXPECT_EQ(n2->token, obs->token);
    EXPECT_GT(*n2->observe, *n1->observe);

    // Cancel with GET Observe=1: it reaches the device.
    auto cancel = core.cancel_observe(*obs, coresim::CancelMode::get_observe1);
    ASSERT_TRUE(cancel);
    EXPECT_TRUE(device_got_observe(*device, "/3/0/13", 1));
    EXPECT_TRUE(device->observations().empty());

    // Cancel with RST.
    auto obs2 = core.observe("urn:imei:103", "/3/0/9");
    ASSERT_TRUE(obs2 && obs2->established());
    core.cancel_observe(*obs2, coresim::CancelMode::reset);
    device->set_resource("/3/0/9", "50");  // the core answers this notification with RST
    EXPECT_TRUE(core.wait_reset_sent(*obs2, 1, 5s));
    EXPECT_TRUE(device_got_observe(*device, "/3/0/9", 1)) << "lwgate cancels toward the device";
}

TEST_F(BridgeTest, ReconnectReObservesTransparently) {
    start_all();
    auto device = registered_device("urn:imei:104");
    auto obs = core.observe("urn:imei:104", "/3/0/13");
    ASSERT_TRUE(obs && obs->established());
    device->set_resource("/3/0/13", "before");
    auto before = core.wait_notification(*obs, 5s);
    ASSERT_TRUE(before);

    device->drop();  // RST: RFC 8323 drops the observation with the connection
    const auto from = device->request_count();
    ASSERT_TRUE(device->reconnect().ok());
    ASSERT_TRUE(device->update().ok());  // binds the new connection to the endpoint
    // lwgate re-observes by itself on the new connection.
    ASSERT_TRUE(device_got_observe(*device, "/3/0/13", 0, from));
    device->set_resource("/3/0/13", "after");
    std::optional<coresim::Response> after;
    for (int i = 0; i < 5 && (!after || after->text() != "after"); ++i) {
        after = core.wait_notification(*obs, 5s);  // the re-observe answer may come first
    }
    ASSERT_TRUE(after);
    EXPECT_EQ(after->text(), "after");
    EXPECT_EQ(after->token, obs->token) << "the core's original token keeps being fed";
    EXPECT_GT(*after->observe, *before->observe);
    EXPECT_EQ(core.observations().size(), 1u) << "the core never re-observed";
}

TEST_F(BridgeTest, QueueModeHoldsRequestsAndFlushesInOrder) {
    start_all();
    auto device = registered_device("urn:imei:105", true);
    device->sleep();
    ASSERT_TRUE(gateway.wait_for_log("closed reason=peer_closed", 5s));
    auto a = std::async(std::launch::async,
                        [&] { return core.read("urn:imei:105", "/3/0/0", {}, 10s); });
    auto b = std::async(std::launch::async,
                        [&] { return core.read("urn:imei:105", "/3/0/1", {}, 10s); });
    // Both are acknowledged and held; nothing reaches the sleeping device.
    ASSERT_EQ(a.wait_for(300ms), std::future_status::timeout);
    const auto before = device->request_count();
    ASSERT_TRUE(device->wake().ok());
    auto ra = a.get();
    auto rb = b.get();
    ASSERT_TRUE(ra && rb);
    EXPECT_EQ(ra->text(), "lwgate");
    EXPECT_EQ(rb->text(), "lwm2m-device-sim");
    auto reqs = device->requests();
    std::vector<std::string> paths;
    for (const auto& r : reqs) {
        if (r.index >= before) paths.push_back(r.path);
    }
    ASSERT_EQ(paths.size(), 2u);
}

TEST_F(BridgeTest, QueueOverflowAndExpiry) {
    config.extra_yaml += "queue_mode: { max_queued: 1, max_age: 1s }\n";
    start_all();
    auto device = registered_device("urn:imei:106", true);
    device->sleep();
    ASSERT_TRUE(gateway.wait_for_log("closed reason=peer_closed", 5s));
    auto held = std::async(std::launch::async,
                           [&] { return core.read("urn:imei:106", "/3/0/0", {}, 10s); });
    ASSERT_EQ(held.wait_for(200ms), std::future_status::timeout);
    auto overflow = core.read("urn:imei:106", "/3/0/1", {}, 5s);
    ASSERT_TRUE(overflow);
    EXPECT_EQ(overflow->code.raw, code::service_unavailable);
    EXPECT_TRUE(overflow->has_option(coap::option::max_age));
    auto expired = held.get();
    ASSERT_TRUE(expired);
    EXPECT_EQ(expired->code.raw, code::gateway_timeout);
}

TEST_F(BridgeTest, BlockWise64KiBWriteAndSend) {
    start_all();
    auto device = registered_device("urn:imei:107");
    coresim::Bytes big(64 * 1024);
    for (std::size_t i = 0; i < big.size(); ++i)
        big[i] = static_cast<std::uint8_t>(i % 251);
    // Core -> device: libcoap sends Block1 blocks, each relayed to the device, which reassembles.
    auto write = core.write("urn:imei:107", "/5/0/0", 42, big, coresim::WriteMode::replace, 20s);
    ASSERT_TRUE(write);
    EXPECT_EQ(write->code.raw, code::changed) << write->code.str();
    EXPECT_EQ(device->resource("/5/0/0")->bytes(), big);

    // Device -> core: a 64 KiB Send, in Block1 blocks that fit lwgate's Max-Message-Size.
    auto sent = device->send(coap::Bytes(big.begin(), big.end()), 42, 20s);
    ASSERT_TRUE(sent.ok()) << sent.detail;
    EXPECT_EQ(coap::code_class(sent.code()), 2u) << coap::describe(sent.response);
    auto recorded = core.wait_send(1, 5s);
    ASSERT_TRUE(recorded);
    EXPECT_EQ(recorded->payload, big);
}

// Reads go NON here: Debian's libcoap 4.3.1 (the core simulator) drops a Block2 response that
// arrives as a separate response to a CON request (libcoap issue #1595, fixed in 4.3.5), and
// lwgate must answer the core separately because the device is one network round trip away.
// With NON the same client follows Block2 (cores such as Leshan/Californium do it either way).
std::optional<coresim::Response> read_non(CoreSimulator& core, const std::string& endpoint,
                                          const std::string& path) {
    coresim::Request req;
    req.uri_path = path;
    req.confirmable = false;
    return core.request(endpoint, req, 20s);
}

std::size_t requests_for(const DeviceSimulator& device, const std::string& path) {
    std::size_t n = 0;
    for (const auto& r : device.requests())
        n += r.path == path;
    return n;
}

TEST_F(BridgeTest, BlockWise64KiBReadDeviceSlices) {
    // 64 KiB is more than lwgate's Max-Message-Size (16 KiB): the device answers in Block2
    // blocks, which lwgate relays untouched, one core request per block.
    start_all();
    auto device = registered_device("urn:imei:110");
    auto read = read_non(core, "urn:imei:110", "/5/0/0");
    ASSERT_TRUE(read);
    EXPECT_EQ(read->code.raw, code::content);
    EXPECT_EQ(read->payload, *devsim::ObjectModel::large_blob());
    EXPECT_GT(requests_for(*device, "/5/0/0"), 1u);
}

TEST_F(BridgeTest, BlockWise64KiBReadLwgateSlicesOneTcpMessage) {
    // With a 128 KiB Max-Message-Size the device answers in one TCP message; one UDP datagram
    // cannot carry it, so lwgate serves it to the core in Block2 blocks from its cache: the
    // device is asked once.
    config.max_message_size = "128KiB";
    start_all();
    auto o = device_options("urn:imei:111");
    o.max_message_size = 128 * 1024;
    DeviceSimulator device(o);
    auto r = device.register_device(5s);
    ASSERT_TRUE(r.ok()) << r.detail;
    auto read = read_non(core, "urn:imei:111", "/5/0/0");
    ASSERT_TRUE(read);
    EXPECT_EQ(read->code.raw, code::content);
    EXPECT_EQ(read->payload, *devsim::ObjectModel::large_blob());
    EXPECT_EQ(requests_for(device, "/5/0/0"), 1u);
    EXPECT_FALSE(read->option_values(coap::option::etag).empty());
}

TEST_F(BridgeTest, BlockWise64KiBUplinkInOneTcpMessageGoesBlock1ToTheCore) {
    // A device may send up to lwgate's Max-Message-Size in one message: lwgate uploads it to
    // the core in Block1 blocks. A Register with a large link-format payload takes the same way.
    config.max_message_size = "128KiB";
    start_all();
    auto o = device_options("urn:imei:112");
    o.max_message_size = 128 * 1024;
    std::string links;
    for (int i = 0; links.size() < 3000; ++i)
        links += (links.empty() ? "" : ",") + ("</" + std::to_string(10000 + i) + "/0>");
    o.object_links = links;
    DeviceSimulator device(o);
    auto r = device.register_device(5s);
    ASSERT_TRUE(r.ok()) << r.detail;
    EXPECT_EQ(r.code(), code::created) << coap::describe(r.response);
    auto reg = core.wait_registration("urn:imei:112", 5s);
    ASSERT_TRUE(reg);
    EXPECT_EQ(reg->object_links_text(), links);

    coap::Bytes big(64 * 1024);
    for (std::size_t i = 0; i < big.size(); ++i)
        big[i] = static_cast<std::uint8_t>(i % 253);
    auto sent = device.send(coap::Bytes(big), 42, 20s);
    ASSERT_TRUE(sent.ok()) << sent.detail;
    EXPECT_EQ(coap::code_class(sent.code()), 2u) << coap::describe(sent.response);
    auto recorded = core.wait_send(1, 5s);
    ASSERT_TRUE(recorded);
    EXPECT_EQ(recorded->payload, big);
}

TEST_F(BridgeTest, TlsIdentityMismatchIsRefusedAndNothingReachesTheCore) {
    // A TLS-PSK listener: dev-a's identity may not register as dev-b.
    // GatewayConfig writes "- uri: X" per listener; the TLS block continues that entry.
    config.listener_uris = {"coaps+tcp://127.0.0.1:0\n    tls: { psk: true }"};
    config.extra_yaml +=
        "credentials:\n"
        "  - { endpoint: dev-a, psk_identity: id-a, psk_key_hex: 0102030405060708 }\n"
        "  - { endpoint: dev-b, psk_identity: id-b, psk_key_hex: 1112131415161718 }\n";
    start_all();
    auto o = device_options("dev-b");
    o.transport = devsim::Transport::tls;
    o.tls.psk_identity = "id-a";
    o.tls.psk_key = {1, 2, 3, 4, 5, 6, 7, 8};
    DeviceSimulator impostor(o);
    auto r = impostor.register_device(5s);
    ASSERT_TRUE(r.ok()) << r.detail;
    EXPECT_EQ(r.code(), code::forbidden);
    EXPECT_EQ(core.messages_received(), 0u);

    auto good = device_options("dev-a");
    good.transport = devsim::Transport::tls;
    good.tls.psk_identity = "id-a";
    good.tls.psk_key = {1, 2, 3, 4, 5, 6, 7, 8};
    DeviceSimulator honest(good);
    auto ok = honest.register_device(5s);
    ASSERT_TRUE(ok.ok()) << ok.detail;
    EXPECT_EQ(ok.code(), code::created);
}

TEST_F(BridgeTest, CertificateIdentityIsTheCnOrASubjectAltName) {
    harness::TempDir dir;
    const auto certs = harness::make_test_certificates(dir, "dev-cert");
    config.listener_uris = {std::string("coaps+tcp://127.0.0.1:0\n    tls: { certificate: ") +
                            certs.server_certificate.string() +
                            ", private_key: " + certs.server_key.string() +
                            ", ca: " + certs.ca.string() + ", require_client_certificate: true }"};
    start_all();
    auto with_cert = [&](std::string endpoint) {
        auto o = device_options(std::move(endpoint));
        o.transport = devsim::Transport::tls;
        o.tls.certificate_file = certs.client_certificate.string();
        o.tls.private_key_file = certs.client_key.string();
        return std::make_unique<DeviceSimulator>(o);
    };
    for (const char* name : {"dev-cert", "urn:san:dev-cert", "dev-cert.example"}) {
        auto device = with_cert(name);
        auto r = device->register_device(5s);
        ASSERT_TRUE(r.ok()) << name << ": " << r.detail;
        EXPECT_EQ(r.code(), code::created) << name << ": " << coap::describe(r.response);
    }
    auto impostor = with_cert("urn:san:someone-else");
    auto r = impostor->register_device(5s);
    ASSERT_TRUE(r.ok()) << r.detail;
    EXPECT_EQ(r.code(), code::forbidden);
    EXPECT_FALSE(core.registration("urn:san:someone-else"));
}

TEST_F(BridgeTest, PlainRegistrationRefusedWhereTheListenerForbidsIt) {
    config.listener_uris = {"coap+tcp://127.0.0.1:0\n    allow_plain_registration: false"};
    start_all();
    DeviceSimulator device(device_options("urn:imei:111"));
    auto r = device.register_device(5s);
    ASSERT_TRUE(r.ok()) << r.detail;
    EXPECT_EQ(r.code(), code::forbidden);
    EXPECT_EQ(core.messages_received(), 0u);
}

// upstream.bind: the device's upstream socket uses the configured address and port.
TEST_F(BridgeTest, UpstreamBindAddressAndPortRange) {
    const auto port = free_udp_port();
    ASSERT_NE(port, 0);

    config.threads = 1;
    upstream_extra = "  bind: { address: 127.0.0.1, ports: " + std::to_string(port) + "-" +
                     std::to_string(port) + " }\n";
    start_all();
    auto device = registered_device("urn:imei:112");
    EXPECT_EQ(core.last_source("urn:imei:112"), "127.0.0.1:" + std::to_string(port));
    // The range is exhausted: a second device gets 5.02 with the reason, nothing else breaks.
    DeviceSimulator second(device_options("urn:imei:113"));
    auto r = second.register_device(5s);
    ASSERT_TRUE(r.ok()) << r.detail;
    EXPECT_EQ(r.code(), code::bad_gateway);
    // After the first device leaves, its port is free again.
    ASSERT_TRUE(device->deregister().ok());
    ASSERT_TRUE(gateway.wait_for_log("endpoint=urn:imei:112 registration ended", 5s));
    auto again = second.register_device(5s);
    ASSERT_TRUE(again.ok()) << again.detail;
    EXPECT_EQ(again.code(), code::created);
    EXPECT_EQ(core.last_source("urn:imei:113"), "127.0.0.1:" + std::to_string(port));
}

// Without upstream.bind the kernel picks each device's upstream port. It must never hand out a
// port that another device's socket toward the same core already has: with SO_REUSEADDR (which
// libcoap sets on sockets it binds) Linux does, here about 1 in 7 sockets at 9,000, and the two
// devices' sessions collide ("session duplicate" in libcoap, a failed registration).
TEST_F(BridgeTest, KernelChosenUpstreamPortsNeverCollide) {
    config.threads = 1;
    config.extra_yaml += "registration:\n  burst_per_address: 1000\n";  // all from 127.0.0.1
    start_all();
    constexpr int count = 800;
    auto loop = std::make_shared<devsim::EventLoop>("devices");
    std::vector<std::unique_ptr<DeviceSimulator>> devices;
    std::vector<std::future<devsim::Result>> registers;
    for (int i = 0; i < count; ++i) {
        auto o = device_options("urn:imei:k" + std::to_string(i));
        o.loop = loop;
        devices.push_back(std::make_unique<DeviceSimulator>(o));
        registers.push_back(devices.back()->register_device_async());
    }
    int created = 0;
    for (auto& r : registers) {
        auto result = r.get();
        created += result.ok() && result.code() == code::created ? 1 : 0;
    }
    EXPECT_EQ(created, count);
    std::set<std::string> sources;
    for (int i = 0; i < count; ++i) {
        if (auto s = core.last_source("urn:imei:k" + std::to_string(i))) sources.insert(*s);
    }
    EXPECT_EQ(sources.size(), static_cast<std::size_t>(count)) << "one address per device";
    EXPECT_EQ(gateway.count_in_log("duplicate"), 0u);

    // One shard's sessions fill several libcoap contexts (CoreLink::sessions_per_context):
    // devices on both sides of every boundary are reachable from the core.
    const auto reachable = [&](int i) {
        auto read = core.read("urn:imei:k" + std::to_string(i), "/3/0/0", {}, 5s);
        return read && read->code.raw == code::content && read->text() == "lwgate";
    };
    for (int i = 0; i < count; i += 127)
        EXPECT_TRUE(reachable(i)) << i;
    EXPECT_TRUE(reachable(count - 1));
    // Sessions that close leave room that new ones take (the first contexts): they work too.
    for (int i = 0; i < 10; ++i) {
        auto d = devices[static_cast<std::size_t>(i)]->deregister(5s);
        ASSERT_TRUE(d.ok()) << d.detail;
    }
    for (int i = 0; i < 10; ++i) {
        auto r = devices[static_cast<std::size_t>(i)]->register_device(5s);
        ASSERT_TRUE(r.ok()) << r.detail;
        EXPECT_EQ(r.code(), code::created);
        EXPECT_TRUE(reachable(i)) << i;
    }
}

// The tokens lwgate uses toward the core are what an off-path attacker on plain UDP would need
// to forge a response (RFC 7252 §5.3.1): each device's start at a random 64-bit value.
TEST_F(BridgeTest, UpstreamTokensAreUnpredictable) {
    start_all();
    std::vector<std::unique_ptr<DeviceSimulator>> devices;
    for (int i = 0; i < 4; ++i)
        devices.push_back(registered_device("urn:imei:tok" + std::to_string(i)));
    std::vector<std::uint64_t> tokens;
    for (const auto& e : core.events(coresim::EventKind::register_)) {
        EXPECT_GE(e.token.size(), 4u) << "at least 32 random bits";
        std::uint64_t v = 0;
        for (auto b : e.token)
            v = (v << 8) | b;
        tokens.push_back(v);
    }
    ASSERT_EQ(tokens.size(), 4u);
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        for (std::size_t j = i + 1; j < tokens.size(); ++j) {
            const auto gap = tokens[i] > tokens[j] ? tokens[i] - tokens[j] : tokens[j] - tokens[i];
            EXPECT_GT(gap, std::uint64_t{1} << 32) << "devices " << i << " and " << j;
        }
    }
}

// upstream.bind with several addresses: each adds the whole port range (how one lwgate goes past
// 64k devices toward one core).
TEST_F(BridgeTest, UpstreamBindSeveralAddressesEachAddTheRange) {
    const auto free_port = free_udp_port();
    ASSERT_NE(free_port, 0);
    const auto port = std::to_string(free_port);

    config.threads = 1;
    upstream_extra =
        "  bind: { address: [127.0.0.1, 127.0.0.2], ports: " + port + "-" + port + " }\n";
    start_all();
    auto first = registered_device("urn:imei:121");
    auto second = registered_device("urn:imei:122");
    EXPECT_EQ(core.last_source("urn:imei:121"), "127.0.0.1:" + port);
    EXPECT_EQ(core.last_source("urn:imei:122"), "127.0.0.2:" + port);
    auto read = core.read("urn:imei:122", "/3/0/0");
    ASSERT_TRUE(read);
    EXPECT_EQ(read->text(), "lwgate");
    // Both addresses' single port are taken: a third device gets 5.02.
    DeviceSimulator third(device_options("urn:imei:123"));
    auto r = third.register_device(5s);
    ASSERT_TRUE(r.ok()) << r.detail;
    EXPECT_EQ(r.code(), code::bad_gateway);
}

// A TLS handshake proves the identity but continues nothing: held requests go out once the
// device's Update on the new connection is accepted, never to a connection that only connected
// (another holder of the same credentials could be behind it).
TEST_F(BridgeTest, TlsQueueModeDeviceGetsHeldRequestsOnceItsUpdateIsAccepted) {
    config.listener_uris = {"coaps+tcp://127.0.0.1:0\n    tls: { psk: true }"};
    config.extra_yaml +=
        "credentials:\n"
        "  - { endpoint: dev-q, psk_identity: id-q, psk_key_hex: 2122232425262728 }\n";
    start_all();
    auto o = device_options("dev-q");
    o.transport = devsim::Transport::tls;
    o.tls.psk_identity = "id-q";
    o.tls.psk_key = {0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28};
    o.queue_mode = true;
    DeviceSimulator device(o);
    auto r = device.register_device(5s);
    ASSERT_TRUE(r.ok()) << r.detail;
    ASSERT_EQ(r.code(), code::created);
    device.sleep();
    ASSERT_TRUE(gateway.wait_for_log("closed reason=peer_closed", 5s));
    auto held =
        std::async(std::launch::async, [&] { return core.read("dev-q", "/3/0/0", {}, 10s); });
    ASSERT_EQ(held.wait_for(300ms), std::future_status::timeout);
    ASSERT_TRUE(device.reconnect().ok());  // connects; sends its CSM but no LwM2M request
    // Round trips on the new connection: had the held Read gone to it, it would be there now.
    ASSERT_TRUE(device.ping(2s).ok());
    ASSERT_TRUE(device.ping(2s).ok());
    EXPECT_EQ(device.request_count(), 0u) << "nothing before the Update";
    auto update = device.update({}, 5s);
    ASSERT_TRUE(update.ok()) << update.detail;
    EXPECT_EQ(update.code(), code::changed);
    auto read = held.get();
    ASSERT_TRUE(read);
    EXPECT_EQ(read->text(), "lwgate");
}

TEST_F(BridgeTest, SilentCoreGivesDevice504InBoundedTimeOthersUnaffected) {
    upstream_extra = "  ack_timeout: 1s\n  max_retransmit: 1\n";
    start_all();
    auto healthy = registered_device("urn:imei:108");
    core.set_silent(true);
    DeviceSimulator device(device_options("urn:imei:109"));
    const auto start = SteadyClock::now();
    auto r = device.register_device(10s);
    ASSERT_TRUE(r.ok()) << r.detail;
    EXPECT_EQ(r.code(), code::gateway_timeout);
    EXPECT_LT(ms_since(start), 6s);  // (1s + 2s) x 1.5 at most, plus slack
    core.set_silent(false);
    auto read = core.read("urn:imei:108", "/3/0/0");
    ASSERT_TRUE(read);
    EXPECT_EQ(read->text(), "lwgate");
}

TEST_F(BridgeTest, DtlsUpstreamWithDevicePsk) {
    coresim::Options core_options;
    core_options.dtls = true;
    core_options.psk_keys = {{"dev-dtls", coresim::Bytes{9, 8, 7, 6, 5, 4, 3, 2}}};
    config.listener_uris = {"coaps+tcp://127.0.0.1:0\n    tls: { psk: true }"};
    config.extra_yaml +=
        "credentials:\n"
        "  - { endpoint: urn:dtls:1, psk_identity: dev-dtls, psk_key_hex: 0908070605040302 }\n";
    start_all(core_options);
    auto device =
        registered(psk_device_options("urn:dtls:1", "dev-dtls", {9, 8, 7, 6, 5, 4, 3, 2}));
    auto reg = core.registration("urn:dtls:1");
    ASSERT_TRUE(reg);
    EXPECT_EQ(reg->dtls_identity, "dev-dtls");
    auto read = core.read("urn:dtls:1", "/3/0/0");
    ASSERT_TRUE(read);
    EXPECT_EQ(read->text(), "lwgate");
}

TEST_F(BridgeTest, DtlsUpstreamWithTheGatewayIdentityForDevicesWithoutCredentials) {
    coresim::Options core_options;
    core_options.dtls = true;
    core_options.psk_keys = {{"dev-dtls", coresim::Bytes{9, 8, 7, 6, 5, 4, 3, 2}},
                             {"lwgate-gw", coresim::Bytes{1, 2, 3, 4}}};
    upstream_extra = "  dtls: { psk_identity: lwgate-gw, psk_key_hex: '01020304' }\n";
    config.listener_uris = {"coap+tcp://127.0.0.1:0",
                            "coaps+tcp://127.0.0.1:0\n    tls: { psk: true }"};
    config.extra_yaml +=
        "credentials:\n"
        "  - { endpoint: urn:dtls:2, psk_identity: dev-dtls, psk_key_hex: 0908070605040302 }\n";
    start_all(core_options);
    auto anonymous = registered_device("urn:plain:1");  // no credentials entry: gateway identity
    auto known = registered(                            // its own PSK wins
        psk_device_options("urn:dtls:2", "dev-dtls", {9, 8, 7, 6, 5, 4, 3, 2}, 1));
    ASSERT_TRUE(core.registration("urn:plain:1"));
    EXPECT_EQ(core.registration("urn:plain:1")->dtls_identity, "lwgate-gw");
    EXPECT_EQ(core.registration("urn:dtls:2")->dtls_identity, "dev-dtls");
    auto read = core.read("urn:plain:1", "/3/0/0");
    ASSERT_TRUE(read);
    EXPECT_EQ(read->text(), "lwgate");
}

TEST_F(BridgeTest, BootstrapIsRelayedToTheBootstrapServerThenTheDeviceRegisters) {
    CoreSimulator bootstrap_server;
    bootstrap_server.start();
    upstream_extra = "  bootstrap_uri: " + bootstrap_server.uri() + "\n";
    start_all();
    DeviceSimulator device(device_options("urn:imei:120"));
    ASSERT_TRUE(device.connect(5s).ok());
    auto bs = device.bootstrap_request(5s);
    ASSERT_TRUE(bs.ok()) << bs.detail;
    EXPECT_EQ(bs.code(), code::changed) << coap::describe(bs.response);
    ASSERT_TRUE(bootstrap_server.wait_event(
        [](const coresim::Event& e) { return e.kind == coresim::EventKind::bootstrap; }, 5s));
    EXPECT_EQ(core.messages_received(), 0u);  // the bootstrap went to the bootstrap server only

    // The bootstrap server configures the device through lwgate.
    auto write = bootstrap_server.write(
        "urn:imei:120", "/1/0/1", coresim::content_format::text_plain, coresim::to_bytes("600"));
    ASSERT_TRUE(write);
    EXPECT_EQ(write->code.raw, code::changed) << write->code.str();
    EXPECT_EQ(device.resource("/1/0/1")->text(), "600");
    auto discover = bootstrap_server.discover("urn:imei:120", "/");
    ASSERT_TRUE(discover);
    EXPECT_EQ(discover->code.raw, code::content);
    auto finish = bootstrap_server.bootstrap_finish("urn:imei:120");
    ASSERT_TRUE(finish);
    EXPECT_EQ(finish->code.raw, code::changed) << finish->code.str();
    EXPECT_TRUE(device.wait_for_request(
        [](const devsim::ReceivedRequest& r) { return r.path == "/bs"; }, 5s));

    // Then it registers with the core, on the same connection.
    auto r = device.register_device(5s);
    ASSERT_TRUE(r.ok()) << r.detail;
    EXPECT_EQ(r.code(), code::created);
    EXPECT_TRUE(core.wait_registration("urn:imei:120", 5s));
    EXPECT_TRUE(gateway.wait_for_log("endpoint=urn:imei:120 bootstrap ended", 10s));
}

TEST_F(BridgeTest, BertBlock1FromTheDeviceIsReslicedForTheCore) {
    // RFC 8323 §6: over TCP a device may send BERT blocks (SZX 7, several KiB each). UDP has no
    // BERT: lwgate re-slices each into 1 KiB Block1 blocks at the same offsets.
    start_all();
    auto device = connect_ready();
    coap::Message reg(code::post, coap::Token::from_u64(1));
    reg.add_option(coap::option::uri_path, std::string_view("rd"));
    for (std::string_view q : {"ep=urn:bert:1", "lt=300", "lwm2m=1.1", "b=T"})
        reg.add_option(coap::option::uri_query, q);
    reg.add_uint_option(coap::option::content_format, 40);
    reg.set_payload(std::string_view("</1/0>,</3/0>"));
    ASSERT_TRUE(device.send(reg));
    auto registered = device.receive_until(
        [](const coap::Message& m) { return coap::is_response(m.code()); }, 5s);
    ASSERT_TRUE(registered);
    ASSERT_EQ(registered->code(), code::created) << coap::describe(*registered);

    coap::Bytes body(3 * 1024 + 100);
    for (std::size_t i = 0; i < body.size(); ++i)
        body[i] = static_cast<std::uint8_t>(i % 241);
    auto bert_block = [&](std::uint32_t num, std::size_t from, std::size_t to, bool more,
                          std::uint64_t token) {
        coap::Message m(code::post, coap::Token::from_u64(token));
        m.add_option(coap::option::uri_path, std::string_view("dp"));
        m.add_uint_option(coap::option::content_format, 42);
        coap::set_block_option(m, coap::option::block1, coap::BlockOption{num, more, 7});
        // Like libcoap's BERT, the first block announces the total (Size1).
        if (num == 0)
            m.add_uint_option(coap::option::size1, static_cast<std::uint32_t>(body.size()));
        m.set_payload(coap::Bytes(body.begin() + static_cast<std::ptrdiff_t>(from),
                                  body.begin() + static_cast<std::ptrdiff_t>(to)));
        return m;
    };
    ASSERT_TRUE(device.send(bert_block(0, 0, 2048, true, 2)));
    auto cont = device.receive_until(
        [](const coap::Message& m) { return coap::is_response(m.code()); }, 5s);
    ASSERT_TRUE(cont);
    ASSERT_EQ(cont->code(), code::continue_) << coap::describe(*cont);
    EXPECT_EQ(coap::block_option(*cont, coap::option::block1), (coap::BlockOption{0, true, 7}));
    ASSERT_TRUE(device.send(bert_block(2, 2048, body.size(), false, 3)));
    auto done = device.receive_until(
        [](const coap::Message& m) { return coap::is_response(m.code()); }, 5s);
    ASSERT_TRUE(done);
    EXPECT_EQ(coap::code_class(done->code()), 2u) << coap::describe(*done);
    EXPECT_EQ(done->token(), coap::Token::from_u64(3));
    auto recorded = core.wait_send(1, 5s);
    ASSERT_TRUE(recorded);
    EXPECT_EQ(recorded->payload, body);
}

TEST_F(BridgeTest, BootstrapWithoutABootstrapServerIsNotImplemented) {
    start_all();
    DeviceSimulator device(device_options("urn:imei:121"));
    ASSERT_TRUE(device.connect(5s).ok());
    auto bs = device.bootstrap_request(5s);
    ASSERT_TRUE(bs.ok()) << bs.detail;
    EXPECT_EQ(bs.code(), code::not_implemented);
    EXPECT_EQ(text(bs.response.payload()), "no upstream.bootstrap_uri configured");
}

TEST_F(BridgeTest, PlainCoapClientIsRefusedClearly) {
    start_all();
    const auto r =
        harness::run_process({"coap-client-openssl", "-B", "3",
                              "coap+tcp://127.0.0.1:" + std::to_string(gateway.port()) + "/3/0"},
                             10s);
    const auto all = r.out + r.err;
    EXPECT_NE(all.find("4.03 no LwM2M registration"), std::string::npos) << all;
    EXPECT_NE(all.find("no LwM2M registration"), std::string::npos) << all;
    EXPECT_EQ(core.messages_received(), 0u);
}

// The core retransmits its requests while lwgate holds them (a relay on the UDP path delivers
// each confirmable request of the core twice, as when the core's ACK_TIMEOUT ran out before our
// empty ACK arrived): every copy is acknowledged, and the device gets each request once.
class BridgeRetransmissionTest : public BridgeTest {
  protected:
    void start_through_relay() {
        config.log_level = "debug";
        core.start();
        relay.emplace(core.port());
        config.extra_yaml += "upstream:\n  uri: " + relay->uri() + "\n" + upstream_extra;
        start_gateway();
    }
    std::optional<harness::UdpRelay> relay;  // outlives the gateway (stopped in TearDown)
};

TEST_F(BridgeRetransmissionTest, CopiesOfHeldCoreRequestsReachTheDeviceOnce) {
    start_through_relay();
    const std::string ep = "urn:imei:dup";
    auto device = registered_device(ep);
    const auto before = device->request_count();

    relay->set_duplicate_requests(true);
    auto exec = core.execute(ep, "/3/0/4");
    ASSERT_TRUE(exec);
    EXPECT_EQ(exec->code.raw, code::changed);
    auto write = core.write(ep, "/3/0/13", 0, coresim::Bytes{'4', '2'});
    ASSERT_TRUE(write);
    EXPECT_EQ(write->code.raw, code::changed);
    auto read = core.read(ep, "/3/0/0");
    ASSERT_TRUE(read);
    EXPECT_EQ(read->code.raw, code::content);
    EXPECT_EQ(read->text(), "lwgate");
    EXPECT_EQ(relay->duplicated(), 3u);

    // A last request, not copied: the device's requests are relayed in order, so a copy that
    // wrongly reached the bridge would have been relayed before this one is answered.
    relay->set_duplicate_requests(false);
    auto last = core.read(ep, "/3/0/1");
    ASSERT_TRUE(last);
    EXPECT_EQ(last->code.raw, code::content);

    std::vector<std::string> paths;
    for (const auto& r : device->requests()) {
        if (r.index >= before) paths.push_back(r.path);
    }
    EXPECT_EQ(paths, (std::vector<std::string>{"/3/0/4", "/3/0/13", "/3/0/0", "/3/0/1"}));
    EXPECT_EQ(device->executions().size(), 1u) << "the Execute ran once";

    // Each copy is counted in /metrics, whether it came while the answer was pending or after.
    const auto metrics = harness::AdminClient(gateway.admin_url()).get("/metrics").body;
    const auto held = metric_value(metrics, "lwgate_upstream_duplicates_total{state=\"held\"}");
    const auto answered =
        metric_value(metrics, "lwgate_upstream_duplicates_total{state=\"answered\"}");
    ASSERT_GE(held, 0) << metrics;
    ASSERT_GE(answered, 0) << metrics;
    EXPECT_EQ(held + answered, 3);
}

// RFC 7252 §5.2.1: a device that answers within upstream.piggyback_window has its answer sent
// on the ACK of the core's request (2 datagrams at the core); a slower one gets an empty ACK once
// the window has passed and a separate response (§5.2.2). The relay on the UDP path counts what
// lwgate sends the core.
using BridgePiggybackTest = BridgeRetransmissionTest;
using Answers = harness::UdpRelay::Answers;

void expect_answers(const Answers& a, std::uint64_t empty_acks, std::uint64_t piggybacked,
                    std::uint64_t separate) {
    EXPECT_EQ(a.empty_acks, empty_acks);
    EXPECT_EQ(a.piggybacked, piggybacked);
    EXPECT_EQ(a.separate, separate);
}

TEST_F(BridgePiggybackTest, AnAnswerWithinTheWindowRidesOnTheAck) {
    start_through_relay();
    auto device = registered_device("urn:imei:pb1");
    const auto saves = [&] {
        const auto m = harness::AdminClient(gateway.admin_url()).get("/metrics").body;
        return metric_value(m, "lwgate_store_operations_total{op=\"save\"}");
    };
    ASSERT_TRUE(gateway.wait_for_log("endpoint=urn:imei:pb1 stored", 5s));
    const auto saves_before = saves();
    ASSERT_GE(saves_before, 1);
    for (int i = 0; i < 3; ++i) {
        auto read = core.read("urn:imei:pb1", "/3/0/0");
        ASSERT_TRUE(read);
        EXPECT_EQ(read->code.raw, code::content);
        EXPECT_EQ(read->text(), "lwgate");
    }
    expect_answers(relay->answers(), 0, 3, 0);
    const auto metrics = harness::AdminClient(gateway.admin_url()).get("/metrics").body;
    EXPECT_EQ(metric_value(metrics, "lwgate_upstream_answers_total{mode=\"piggybacked\"}"), 3)
        << metrics;
    EXPECT_EQ(metric_value(metrics, "lwgate_upstream_answers_total{mode=\"separate\"}"), 0);
    // Never acknowledged before its answer, a request is never state to persist: a restart in
    // between would have the core send it again.
    EXPECT_EQ(saves(), saves_before) << "no store write per relayed request";
}

TEST_F(BridgePiggybackTest, ASlowAnswerFollowsAnEmptyAckSentWhenTheWindowEnds) {
    upstream_extra = "  piggyback_window: 300ms\n";
    start_through_relay();
    auto device = registered_device("urn:imei:pb2");
    device->set_request_hook([](const devsim::ReceivedRequest& r) {
        return r.path == "/3/0/1" ? devsim::HookResult::ignore() : devsim::HookResult::proceed();
    });
    auto pending = std::async(std::launch::async,
                              [&] { return core.read("urn:imei:pb2", "/3/0/1", {}, 10s); });
    auto at_device = device->wait_for_request(DeviceSimulator::path_is("/3/0/1"), 5s);
    ASSERT_TRUE(at_device);
    const auto arrived = SteadyClock::now();
    EXPECT_FALSE(relay->wait_answers([](const Answers& a) { return a.empty_acks > 0; }, 150ms))
        << "no ACK before the window ends";
    ASSERT_TRUE(relay->wait_answers([](const Answers& a) { return a.empty_acks == 1; }, 2s));
    EXPECT_GE(ms_since(arrived).count(), 250);
    // Acknowledged and not answered: now it is held state, stored to survive a restart.
    EXPECT_TRUE(gateway.wait_for_log("endpoint=urn:imei:pb2 stored: observations=0 held=1", 5s));
    coap::Message answer(code::content, at_device->token());
    answer.set_payload(std::string_view("late"));
    ASSERT_TRUE(device->send_message(answer));
    auto read = pending.get();
    ASSERT_TRUE(read);
    EXPECT_EQ(read->code.raw, code::content);
    EXPECT_EQ(read->text(), "late");
    expect_answers(relay->answers(), 1, 0, 1);
}

TEST_F(BridgePiggybackTest, AZeroWindowAcknowledgesAtOnce) {
    upstream_extra = "  piggyback_window: 0s\n";
    start_through_relay();
    auto device = registered_device("urn:imei:pb3");
    auto read = core.read("urn:imei:pb3", "/3/0/0");
    ASSERT_TRUE(read);
    EXPECT_EQ(read->text(), "lwgate");
    expect_answers(relay->answers(), 1, 0, 1);
}

TEST_F(BridgePiggybackTest, ARequestForADeviceWithoutAConnectionIsAcknowledgedAtOnce) {
    upstream_extra = "  piggyback_window: 1s\n";
    start_through_relay();
    auto device = registered_device("urn:imei:pb4", true);
    device->sleep();
    ASSERT_TRUE(gateway.wait_for_log("closed reason=peer_closed", 5s));
    const auto asked = SteadyClock::now();
    auto held = std::async(std::launch::async,
                           [&] { return core.read("urn:imei:pb4", "/3/0/0", {}, 10s); });
    ASSERT_TRUE(relay->wait_answers([](const Answers& a) { return a.empty_acks == 1; }, 5s));
    EXPECT_LT(ms_since(asked).count(), 700) << "not held for the window";
    ASSERT_TRUE(device->wake().ok());  // connect + Update: plain TCP carries no identity
    auto read = held.get();
    ASSERT_TRUE(read);
    EXPECT_EQ(read->text(), "lwgate");
    EXPECT_EQ(relay->answers().separate, 1u);
}

}  // namespace
}  // namespace lwgate::integration
