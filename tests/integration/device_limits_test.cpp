// No device may harm another device or the gateway, end to end: one device's burst of requests
// or notifications, a registration flood, endpoint names that would forge log lines, lifetimes of
// "forever" or zero. A well-behaved device on the same thread is watched the whole time.
#include "bridge_fixture.hpp"
#include "lwgate/coap/tcp_codec.hpp"
#include "lwgate/harness/admin_client.hpp"

namespace lwgate::integration {
namespace {

class DeviceLimitsTest : public BridgeTest {
  protected:
    void start_one_thread(const std::string& yaml = {}) {
        config.threads = 1;  // the flooder and the victim share the thread
        config.extra_yaml += yaml;
        start_all();
    }

    long long metric(const std::string& sample) {
        return metric_value(harness::AdminClient(gateway.admin_url()).get("/metrics").body, sample);
    }

    // `count` frames of `make(i)`, encoded back to back: one burst on the wire.
    template <class Make>
    static coap::Bytes burst(std::size_t count, Make make) {
        coap::Bytes out;
        for (std::size_t i = 0; i < count; ++i) {
            const auto frame = coap::encode(make(i));
            out.insert(out.end(), frame.begin(), frame.end());
        }
        return out;
    }

    // The victim is served promptly: a Read through lwgate, answered.
    void expect_served(const std::string& endpoint, Millis within) {
        const auto start = SteadyClock::now();
        auto read = core.read(endpoint, "/3/0/0", {}, within);
        ASSERT_TRUE(read) << "the other device got nothing within " << within.count() << " ms";
        EXPECT_EQ(read->text(), "lwgate");
        EXPECT_LT(ms_since(start), within);
    }
};

// 50,000 Sends in one burst (2.5 MB): the flooder gets 5.03 beyond its bound, the other device
// of the thread keeps being served, and SIGTERM still ends the process in time (TearDown).
TEST_F(DeviceLimitsTest, ARequestFloodCostsOnlyTheFlooder) {
    start_one_thread();
    auto victim = registered_device("urn:imei:400");
    auto flooder = registered_device("urn:imei:401");
    constexpr std::size_t n = 50'000;
    const auto bytes = burst(n, [](std::size_t i) {
        coap::Message m(code::post, coap::Token::from_u64(0x7000000 + i));
        m.add_option(coap::option::uri_path, "dp");
        m.add_uint_option(coap::option::content_format, 110);
        m.set_payload("[{\"n\":\"/3303/0/5700\",\"v\":21.5}]");
        return m;
    });
    ASSERT_TRUE(flooder->send_raw(bytes));
    expect_served("urn:imei:400", 2s);
    // Every request is answered (2.04 from the core or 5.03 from lwgate), none left hanging.
    ASSERT_TRUE(flooder->wait_for_stats(
        [](const devsim::Stats& s) { return s.unmatched_responses >= n; }, 20s))
        << flooder->stats().unmatched_responses << " answers; decode errors "
        << flooder->stats().decode_errors << ", state " << devsim::to_string(flooder->state());
    EXPECT_GE(metric("lwgate_device_limited_total{what=\"uplinks\"}"), (long long)(n / 2));
    EXPECT_LT(core.sends().size(), n / 2) << "the core saw only what the bound let through";
    expect_served("urn:imei:400", 2s);
    auto own = flooder->send(coap::Bytes{'[', ']'}, 110, 5s);
    ASSERT_TRUE(own.ok()) << own.detail;
    EXPECT_EQ(own.code(), code::changed) << "the flooder itself recovers once its burst is done";
}

// 50,000 notifications of one observation: the core gets a bounded number, the newest last; the
// other device is served meanwhile.
TEST_F(DeviceLimitsTest, ANotificationFloodIsCoalescedToTheNewest) {
    start_one_thread("device_limits:\n  notifications_per_second: 10/s\n  notification_burst: 5\n");
    auto victim = registered_device("urn:imei:402");
    auto flooder = registered_device("urn:imei:403");
    auto obs = core.observe("urn:imei:403", "/3/0/13");
    ASSERT_TRUE(obs && obs->established());
    const auto observations = flooder->observations();
    ASSERT_EQ(observations.size(), 1u);
    const auto token = observations[0].token;
    constexpr std::size_t n = 50'000;
    const auto bytes = burst(n, [&](std::size_t i) {
        coap::Message m(code::content, token);
        m.add_uint_option(coap::option::observe, static_cast<std::uint32_t>(100 + i));
        m.add_uint_option(coap::option::content_format, 0);
        m.set_payload(std::to_string(i));
        return m;
    });
    ASSERT_TRUE(flooder->send_raw(bytes));
    expect_served("urn:imei:402", 2s);
    // The newest value arrives; far fewer than n notifications reached the core.
    bool newest = false;
    for (auto note = core.wait_notification(*obs, 5s); note;
         note = core.wait_notification(*obs, 2s)) {
        if (note->text() == std::to_string(n - 1)) {
            newest = true;
            break;
        }
    }
    EXPECT_TRUE(newest) << "the last state must reach the core";
    EXPECT_LT(core.notifications(*obs).size(), 200u);
    EXPECT_GE(metric("lwgate_device_limited_total{what=\"notifications\"}"), (long long)(n - 200));
}

TEST_F(DeviceLimitsTest, RegistrationsBeyondTheLimitGet503AndTheOthersGoOn) {
    config.connections_extra = {"max_registrations: 2"};
    start_all();
    auto first = registered_device("urn:imei:410");
    auto second = registered_device("urn:imei:411");
    DeviceSimulator third(device_options("urn:imei:412"));
    auto r = third.register_device(5s);
    ASSERT_TRUE(r.ok()) << r.detail;
    EXPECT_EQ(r.code(), code::service_unavailable);
    EXPECT_EQ(r.response.uint_option(coap::option::max_age), 60u);
    EXPECT_FALSE(core.registration("urn:imei:412"));
    expect_served("urn:imei:410", 2s);
    EXPECT_EQ(metric("lwgate_refused_total{reason=\"registration_limit\"}"), 1);
    // A registration that ends makes room.
    auto bye = second->deregister(5s);
    ASSERT_TRUE(bye.ok());
    ASSERT_TRUE(core.wait_deregistration("urn:imei:411", 5s));
    ASSERT_TRUE(gateway.wait_for_log("endpoint=urn:imei:411 registration ended", 5s));
    r = third.register_device(5s);
    ASSERT_TRUE(r.ok()) << r.detail;
    EXPECT_EQ(r.code(), code::created);
}

TEST_F(DeviceLimitsTest, RegistrationsPerAddressAreRateLimited) {
    config.extra_yaml += "registration:\n  rate_per_address: 1/m\n  burst_per_address: 2\n";
    config.threads = 1;  // the budget is per thread
    start_all();
    auto a = registered_device("urn:imei:420");
    auto b = registered_device("urn:imei:421");
    DeviceSimulator c(device_options("urn:imei:422"));
    auto r = c.register_device(5s);
    ASSERT_TRUE(r.ok()) << r.detail;
    EXPECT_EQ(r.code(), code::service_unavailable);
    EXPECT_TRUE(r.response.uint_option(coap::option::max_age).has_value());
    EXPECT_FALSE(core.registration("urn:imei:422"));
    EXPECT_EQ(metric("lwgate_refused_total{reason=\"registration_rate\"}"), 1);
    expect_served("urn:imei:420", 2s);
}

// With a descriptor limit of 400 (prlimit), lwgate derives its budgets from it: registrations
// stop with 5.03 and connections are refused before accept() could fail with EMFILE, and the
// devices already there keep working.
TEST_F(DeviceLimitsTest, DescriptorsNeverRunOut) {
    options.wrapper = {"prlimit", "--nofile=400:400", "--"};
    config.threads = 1;
    start_all();
    std::vector<std::unique_ptr<DeviceSimulator>> devices;
    std::size_t refused = 0;
    for (int i = 0; i < 100 && refused == 0; ++i) {
        auto d = std::make_unique<DeviceSimulator>(device_options("urn:fd:" + std::to_string(i)));
        auto r = d->register_device(5s);
        if (r.ok() && r.code() == code::service_unavailable) ++refused;
        devices.push_back(std::move(d));
    }
    EXPECT_EQ(refused, 1u) << "the registration budget ends before the descriptors";
    EXPECT_GE(devices.size(), 60u);
    expect_served("urn:fd:0", 2s);
    const auto metrics = harness::AdminClient(gateway.admin_url()).get("/metrics").body;
    EXPECT_EQ(metric_value(metrics, "process_max_fds"), 400);
    EXPECT_GT(metric_value(metrics, "process_open_fds"), 100);
    // More bare connections: refused at accept, never EMFILE.
    std::vector<DeviceClient> extra;
    for (int i = 0; i < 150; ++i)
        extra.push_back(connect());
    EXPECT_FALSE(gateway.wait_for_log("Too many open files", 500ms));
    expect_served("urn:fd:1", 2s);
    EXPECT_GE(metric("lwgate_refused_total{reason=\"limit_descriptors\"}"), 1);
}

// libcoap 4.3.1 handles every 5.08 it sends as a proxy's answer and writes past the buffer of one
// with a payload of 256 bytes or more (found by tests/fuzz/bridge_fuzz.cpp): a device's 5.08
// reaches the core as 5.02, and lwgate (under ASan in CI) reports nothing.
TEST_F(DeviceLimitsTest, ADevicesHopLimitAnswerCannotCorruptTheHeap) {
    start_all();
    auto device = registered_device("urn:imei:440");
    const std::string body(300, 'h');
    device->set_request_hook([&](const devsim::ReceivedRequest& r) {
        if (r.path != "/3/0/0") return devsim::HookResult::proceed();
        coap::Message answer((5 << 5) | 8);
        answer.set_payload(body);
        return devsim::HookResult::respond(std::move(answer));
    });
    for (int i = 0; i < 3; ++i) {
        auto read = core.read("urn:imei:440", "/3/0/0");
        ASSERT_TRUE(read);
        EXPECT_EQ(read->code.raw, code::bad_gateway);
        EXPECT_EQ(read->text(), body);
    }
    auto other = registered_device("urn:imei:441");
    expect_served("urn:imei:441", 2s);
}

// A device that asks for a lifetime of "forever" gets registration.max_lifetime, at the core too;
// lt=0 is refused.
TEST_F(DeviceLimitsTest, LifetimesAreCappedAndZeroIsRefused) {
    config.extra_yaml += "registration:\n  max_lifetime: 1h\n";
    start_all();
    auto o = device_options("urn:imei:430");
    o.lifetime = 4294967295u;
    auto device = registered(o);
    auto reg = core.registration("urn:imei:430");
    ASSERT_TRUE(reg);
    EXPECT_EQ(reg->lifetime, 3600u);
    auto zero = device_options("urn:imei:431");
    zero.lifetime = 0;
    DeviceSimulator z(zero);
    auto r = z.register_device(5s);
    ASSERT_TRUE(r.ok()) << r.detail;
    EXPECT_EQ(r.code(), code::bad_request);
    EXPECT_FALSE(core.registration("urn:imei:431"));
}

// An endpoint name with CR/LF would forge a log line; invalid UTF-8 would break every JSON answer
// that lists it.
TEST_F(DeviceLimitsTest, EndpointNamesThatWouldForgeLogLinesAreRefused) {
    start_all();
    for (const std::string& name :
         {std::string("evil\nfake level=error line"), std::string("bad\xff\xfeutf8")}) {
        DeviceSimulator d(device_options(name));
        auto r = d.register_device(5s);
        ASSERT_TRUE(r.ok()) << r.detail;
        EXPECT_EQ(r.code(), code::bad_request);
    }
    EXPECT_EQ(core.messages_received(), 0u);
    EXPECT_EQ(gateway.count_in_log("\nfake level=error line"), 0u);
    auto rows = harness::AdminClient(gateway.admin_url()).get("/v1/connections");
    EXPECT_EQ(rows.status, 200) << rows.body;
}

}  // namespace
}  // namespace lwgate::integration
