// Which connection speaks for which endpoint, end to end (lwm2m/admission.hpp, DeviceRelay): a
// connection is bound to an endpoint's registration only when the core accepted its Register
// or Update; what a connection has not proven changes nothing for the endpoint; and no device
// can update, take over or delete another device's registration. Each rule is tested with the
// attack it stops, while a well-behaved device keeps working.
#include "bridge_fixture.hpp"
#include "lwgate/harness/admin_client.hpp"

namespace lwgate::integration {
namespace {

const coap::Bytes key_x{0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28};
const coap::Bytes key_y{0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38};

class DeviceIdentityTest : public BridgeTest {
  protected:
    // Listener 0: plain TCP; listener 1: TLS-PSK. dev-x and dev-y have credentials.
    void start_mixed() {
        config.listener_uris = {"coap+tcp://127.0.0.1:0",
                                "coaps+tcp://127.0.0.1:0\n    tls: { psk: true }"};
        config.extra_yaml +=
            "credentials:\n"
            "  - { endpoint: dev-x, psk_identity: id-x, psk_key_hex: 2122232425262728 }\n"
            "  - { endpoint: dev-y, psk_identity: id-y, psk_key_hex: 3132333435363738 }\n";
        start_all();
    }
    DeviceOptions tls_x(std::string endpoint = "dev-x") {
        return psk_device_options(std::move(endpoint), "id-x", key_x, 1);
    }

    long long metric(const std::string& sample) {
        return metric_value(harness::AdminClient(gateway.admin_url()).get("/metrics").body, sample);
    }

    // A request on `device` with this method and path; the answer's code (0: none).
    static std::uint8_t send_raw_request(DeviceSimulator& device, std::uint8_t method,
                                         const std::string& path, const std::string& query = {}) {
        coap::Message m(method);
        std::string segment;
        for (const char ch : path.substr(1) + "/") {
            if (ch != '/') {
                segment += ch;
                continue;
            }
            m.add_option(coap::option::uri_path, segment);
            segment.clear();
        }
        if (!query.empty()) m.add_option(coap::option::uri_query, query);
        return device.request(std::move(m), 5s).code();
    }

    std::string location_of(const std::string& endpoint) {
        auto reg = core.registration(endpoint);
        return reg ? "/rd/" + reg->id : std::string();
    }
};

// Many clients register anew on every TCP connection. The new Register replaces the
// registration; the observations of the old one must not be left live on the device, which
// would otherwise notify into the void for the whole life of the connection.
TEST_F(DeviceIdentityTest, AClientThatRegistersOnEveryConnectionKeepsNoStaleObservation) {
    start_all();
    auto o = device_options("urn:imei:300");
    o.register_on_connect = true;
    auto device = registered(o);
    auto obs = core.observe("urn:imei:300", "/3/0/13");
    ASSERT_TRUE(obs && obs->established());
    ASSERT_EQ(device->observations().size(), 1u);

    auto again = device->reconnect(5s);
    ASSERT_TRUE(again.ok()) << again.detail;
    EXPECT_EQ(again.code(), code::created);
    // Ordered on the connection: a re-observe sent before the Register's answer is here by now.
    EXPECT_TRUE(device->observations().empty()) << "an observation of the old registration";
    for (const auto& r : device->requests()) {
        EXPECT_FALSE(r.connection == 2 && r.observe() == 0u) << "re-observed on the new one";
    }
    EXPECT_EQ(device->set_resource("/3/0/13", "41"), 0u) << "nobody should be notified";

    // The core observes again on the new registration: that works as usual.
    auto fresh = core.observe("urn:imei:300", "/3/0/13");
    ASSERT_TRUE(fresh && fresh->established());
    device->set_resource("/3/0/13", "42");
    auto n = core.wait_notification(*fresh, 5s);
    ASSERT_TRUE(n);
    EXPECT_EQ(n->text(), "42");
    EXPECT_TRUE(core.notifications(*obs).empty());
}

// A second client holding the same credentials: its handshake, its refused Register and its
// close change nothing for the real device's connection.
TEST_F(DeviceIdentityTest, AnIntruderWithTheSameCredentialsChangesNothing) {
    start_mixed();
    auto real = registered(tls_x());
    auto obs = core.observe("dev-x", "/3/0/13");
    ASSERT_TRUE(obs && obs->established());

    auto intruder_options = tls_x("dev-x-intruder");
    DeviceSimulator intruder(intruder_options);
    ASSERT_TRUE(intruder.connect(5s).ok());  // the handshake alone
    auto read = core.read("dev-x", "/3/0/0");
    ASSERT_TRUE(read) << "the core's Read must reach the real device";
    EXPECT_EQ(read->text(), "lwgate");
    auto refused = intruder.register_device(5s);
    ASSERT_TRUE(refused.ok()) << refused.detail;
    EXPECT_EQ(refused.code(), code::forbidden);

    real->set_resource("/3/0/13", "7");
    auto n = core.wait_notification(*obs, 5s);
    ASSERT_TRUE(n) << "the real device's notifications still reach the core";
    EXPECT_EQ(n->text(), "7");

    auto rows = harness::AdminClient(gateway.admin_url()).get("/v1/connections").json();
    int listed = 0;
    for (const auto& row : rows["connections"])
        listed += row.value("endpoint", nlohmann::json()) == "dev-x";
    EXPECT_EQ(listed, 1) << rows.dump(2);

    intruder.disconnect();
    ASSERT_TRUE(gateway.wait_for_log("closed reason=peer_closed", 5s));
    read = core.read("dev-x", "/3/0/0");
    ASSERT_TRUE(read) << "after the intruder closed, the real connection still carries Reads";
    real->set_resource("/3/0/13", "8");
    n = core.wait_notification(*obs, 5s);
    ASSERT_TRUE(n);
    EXPECT_EQ(n->text(), "8");
    EXPECT_GE(metric("lwgate_refused_total{reason=\"identity_mismatch\"}"), 1);
    EXPECT_TRUE(gateway.wait_for_log("reason=identity_mismatch ep=dev-x-intruder", 5s));
}

TEST_F(DeviceIdentityTest, BootstrapRequestWithoutABootstrapServerIs501OnAnyConnection) {
    start_mixed();
    auto plain = registered_device("urn:imei:301");
    EXPECT_EQ(send_raw_request(*plain, code::post, "/bs", "ep=x"), code::not_implemented);
    // A TLS-PSK device right after its handshake: its identity speaks for dev-x at once.
    DeviceSimulator tls(tls_x());
    ASSERT_TRUE(tls.connect(5s).ok());
    EXPECT_EQ(send_raw_request(tls, code::post, "/bs", "ep=dev-x"), code::not_implemented);
    // lwgate is still there for everybody.
    auto read = core.read("urn:imei:301", "/3/0/0");
    ASSERT_TRUE(read);
    EXPECT_EQ(read->text(), "lwgate");
}

TEST_F(DeviceIdentityTest, NoDeviceCanUpdateOrDeleteAnotherDevicesRegistration) {
    start_mixed();
    auto a = registered(tls_x());
    const auto a_location = location_of("dev-x");
    const auto a_source = core.last_source("dev-x");
    auto b = registered(psk_device_options("dev-y", "id-y", key_y, 1));
    const auto updates_before = core.events(coresim::EventKind::update).size();

    EXPECT_EQ(send_raw_request(*b, code::post, a_location), code::forbidden);
    EXPECT_EQ(send_raw_request(*b, code::del, a_location), code::forbidden);
    // A plain connection that registered nothing, and one that did.
    DeviceSimulator stranger(device_options("urn:imei:302"));
    ASSERT_TRUE(stranger.connect(5s).ok());
    EXPECT_EQ(send_raw_request(stranger, code::post, a_location), code::forbidden);
    auto c = registered_device("urn:imei:303");
    EXPECT_EQ(send_raw_request(*c, code::post, a_location), code::forbidden);
    EXPECT_EQ(send_raw_request(*c, code::del, a_location), code::forbidden);

    EXPECT_EQ(core.events(coresim::EventKind::update).size(), updates_before)
        << "nothing reached the core";
    EXPECT_TRUE(core.events(coresim::EventKind::deregister).empty());
    EXPECT_EQ(core.last_source("dev-x"), a_source);
    auto read = core.read("dev-x", "/3/0/0");
    ASSERT_TRUE(read);
    EXPECT_EQ(stranger.request_count(), 0u) << "the stranger received nothing of dev-x";
    EXPECT_EQ(b->request_count(), 0u);
    // dev-x's own Update still works.
    auto update = a->update({}, 5s);
    ASSERT_TRUE(update.ok());
    EXPECT_EQ(update.code(), code::changed);
    EXPECT_GE(metric("lwgate_refused_total{reason=\"other_endpoint\"}") +
                  metric("lwgate_refused_total{reason=\"identity_mismatch\"}") +
                  metric("lwgate_refused_total{reason=\"credentials_required\"}"),
              5);
}

// Plain TCP carries no identity: it may not register, update or continue an endpoint that
// authenticates (a credentials entry, or a registration made over TLS).
TEST_F(DeviceIdentityTest, PlainTcpCannotActForAnEndpointThatAuthenticates) {
    start_mixed();
    DeviceSimulator impostor(device_options("dev-x"));
    auto r = impostor.register_device(5s);
    ASSERT_TRUE(r.ok()) << r.detail;
    EXPECT_EQ(r.code(), code::forbidden);
    EXPECT_FALSE(core.registration("dev-x"));
    EXPECT_EQ(core.messages_received(), 0u);

    auto real = registered(tls_x());
    DeviceSimulator continuer(device_options("whoever"));
    ASSERT_TRUE(continuer.connect(5s).ok());
    EXPECT_EQ(send_raw_request(continuer, code::post, location_of("dev-x")), code::forbidden);
    EXPECT_EQ(core.events(coresim::EventKind::update).size(), 0u);
    EXPECT_GE(metric("lwgate_refused_total{reason=\"credentials_required\"}"), 2);
    EXPECT_TRUE(gateway.wait_for_log("reason=credentials_required ep=dev-x identity=none", 5s));
}

// The security log: a PSK identity registering an endpoint it does not name is one warning
// with the endpoint, the identity, the remote address and the connection, and one more in
// lwgate_refused_total.
TEST_F(DeviceIdentityTest, AnIdentityRegisteringAnotherEndpointIsLoggedOnceAndCounted) {
    start_mixed();
    const std::string sample = "lwgate_refused_total{reason=\"identity_mismatch\"}";
    EXPECT_EQ(metric(sample), 0);
    DeviceSimulator intruder(tls_x("dev-y"));
    auto r = intruder.register_device(5s);
    ASSERT_TRUE(r.ok()) << r.detail;
    EXPECT_EQ(r.code(), code::forbidden);
    const std::string line =
        "refused: endpoint does not match TLS identity "
        "reason=identity_mismatch ep=dev-y identity=psk:id-x remote=127.0.0.1:" +
        std::to_string(intruder.local_port()) + " conn=";
    ASSERT_TRUE(gateway.wait_for_log(line, 5s)) << gateway.log();
    EXPECT_EQ(gateway.count_in_log("reason=identity_mismatch"), 1u) << gateway.log();
    const auto log = gateway.log();
    const auto at = log.find(line);
    EXPECT_NE(log.substr(log.rfind('\n', at) + 1, at - log.rfind('\n', at) - 1).find(" warning "),
              std::string::npos)
        << "a warning";
    EXPECT_EQ(metric(sample), 1);
    EXPECT_FALSE(core.registration("dev-y"));
}

// A connection that speaks for one endpoint registering another: refused, logged with both the
// endpoint it named and no identity (plain TCP), and counted as other_endpoint.
TEST_F(DeviceIdentityTest, AConnectionRegisteringASecondEndpointIsLoggedAndCounted) {
    start_mixed();
    auto device = registered_device("urn:imei:310");
    coap::Message second(code::post);
    second.add_option(coap::option::uri_path, "rd");
    second.add_option(coap::option::uri_query, "ep=urn:imei:311");
    second.add_option(coap::option::uri_query, "lt=60");
    EXPECT_EQ(device->request(std::move(second), 5s).code(), code::forbidden);
    ASSERT_TRUE(
        gateway.wait_for_log("refused: connection belongs to another endpoint "
                             "reason=other_endpoint ep=urn:imei:311 identity=none remote=",
                             5s))
        << gateway.log();
    EXPECT_EQ(metric("lwgate_refused_total{reason=\"other_endpoint\"}"), 1);
    EXPECT_FALSE(core.registration("urn:imei:311"));
}

// A flood of refusals: every one counted, the log bounded by the budget (a burst of 20, then
// one line a second) and what was held back summed up, so that no refusal goes unaccounted.
TEST_F(DeviceIdentityTest, AFloodOfRefusalsIsCountedInFullAndLoggedWithinABudget) {
    config.threads = 1;  // one shard: one budget
    start_mixed();
    DeviceSimulator impostor(device_options("dev-x"));
    ASSERT_TRUE(impostor.connect(5s).ok());
    constexpr int flood = 300;
    const auto started = SteadyClock::now();
    for (int i = 0; i < flood; ++i) {
        coap::Message reg(code::post);
        reg.add_option(coap::option::uri_path, "rd");
        reg.add_option(coap::option::uri_query, "ep=dev-x");
        reg.add_option(coap::option::uri_query, "lt=60");
        ASSERT_EQ(impostor.request(std::move(reg), 5s).code(), code::forbidden) << i;
    }
    const auto seconds = std::chrono::duration<double>(SteadyClock::now() - started).count();
    EXPECT_EQ(metric("lwgate_refused_total{reason=\"credentials_required\"}"), flood);

    // Every refusal is a line of its own or part of a summary; poll until they add up.
    const std::string summary = "not logged (log rate limit) reason=credentials_required";
    const auto accounted = [&] {
        const auto log = gateway.log();
        long long n = 0;
        for (auto at = log.find("refused: "); at != std::string::npos;
             at = log.find("refused: ", at + 1)) {
            const auto end = log.find('\n', at);
            n += log.substr(at, end - at).find("reason=credentials_required") != std::string::npos;
        }
        for (auto at = log.find(summary); at != std::string::npos; at = log.find(summary, at + 1))
            n += std::stoll(log.substr(log.find("suppressed=", at) + 11));
        return n;
    };
    const auto deadline = SteadyClock::now() + 5s;
    while (accounted() < flood && SteadyClock::now() < deadline) {
        gateway.wait_for_log(summary, until(deadline), gateway.count_in_log(summary) + 1);
    }
    EXPECT_EQ(accounted(), flood) << gateway.log();
    const auto lines = gateway.count_in_log("reason=credentials_required");
    EXPECT_GE(lines, 21u) << "the burst, and at least one summary";
    EXPECT_LE(static_cast<double>(lines), 20 + 2 * (seconds + 2)) << gateway.log();
}

}  // namespace
}  // namespace lwgate::integration
