// A cluster of real lwgate instances on one real redis-server: a device registered on one
// instance reconnects to another one, which takes its endpoint over. The core (the simulator)
// must see what a moved device looks like and nothing else: no new Register, one Update from the
// new instance's address, its observation fed on its own token with growing Observe numbers,
// and its requests reaching the device through the new instance.
#include <csignal>
#include <future>

#include <nlohmann/json.hpp>

#include "cluster_fixture.hpp"
#include "haproxy_front.hpp"
#include "lwgate/harness/admin_client.hpp"

namespace lwgate::integration {
namespace {

class ClusterTest : public ClusterFixture {
  protected:
    // An instance named `name` on the shared Redis.
    // `behind_proxy`: its listener reads HAProxy's PROXY header.
    // `connections`: further connections.* keys ("key: value").
    harness::GatewayProcess& start(const std::string& name, bool behind_proxy = false,
                                   std::vector<std::string> connections = {}) {
        auto config = cluster_config(name);
        if (behind_proxy)
            config.listener_uris = {"coap+tcp://127.0.0.1:0\n    proxy_protocol: true"};
        config.connections_extra = std::move(connections);
        return launch(config);
    }

    DeviceOptions options(const std::string& endpoint, std::uint16_t port) {
        DeviceOptions o;
        o.endpoint = endpoint;
        o.port = port;
        o.lifetime = 300;
        return o;
    }

    std::size_t registers(const std::string& endpoint) {
        std::size_t n = 0;
        for (const auto& e : core.events(coresim::EventKind::register_))
            n += e.endpoint == endpoint ? 1 : 0;
        return n;
    }

    // The instance wrote `needle` ("stored: ...") for the `count`-th time and its store committed
    // a batch after that.
    static bool wait_stored(harness::GatewayProcess& g, const std::string& needle,
                            std::size_t count = 1) {
        if (!g.wait_for_log(needle, 15s, count)) return false;
        const auto log = g.log();
        std::size_t at = 0;
        for (std::size_t i = 0; i < count; ++i)
            at = log.find(needle, i == 0 ? 0 : at + 1);
        std::size_t commits = 0;
        for (auto p = log.find("store: committed"); p != std::string::npos && p < at;
             p = log.find("store: committed", p + 1)) {
            ++commits;
        }
        return g.wait_for_log("store: committed", 15s, commits + 1);
    }

    // The next notification of `obs` carrying `expected` (re-observation answers may come first).
    std::optional<coresim::Response> notification_with(const coresim::Observation& obs,
                                                       const std::string& expected) {
        for (int i = 0; i < 5; ++i) {
            auto n = core.wait_notification(obs, 10s);
            if (!n || n->text() == expected) return n;
        }
        return std::nullopt;
    }

    struct Registered {
        std::unique_ptr<DeviceSimulator> device;
        coresim::Observation obs;
        std::uint32_t observe = 0;
        std::string source;
        std::size_t requests = 0;  // the device's requests so far
    };
    // Registers `endpoint` on `g`, observed by the core, and waits until its record is stored.
    Registered register_observed(harness::GatewayProcess& g, const std::string& endpoint) {
        Registered r;
        r.device = register_at(core, options(endpoint, g.port()));
        if (!core.wait_registration(endpoint, 0s)) ADD_FAILURE() << g.log();
        auto obs = core.observe(endpoint, "/3/0/13");
        EXPECT_TRUE(obs && obs->established());
        if (!obs) return r;
        r.obs = *obs;
        r.device->set_resource("/3/0/13", "before");
        auto before = notification_with(r.obs, "before");
        EXPECT_TRUE(before && before->observe);
        r.observe = before && before->observe ? *before->observe : 0;
        r.source = core.last_source(endpoint).value_or("");
        EXPECT_TRUE(wait_stored(g, "endpoint=" + endpoint + " stored: observations=1"));
        r.requests = r.device->request_count();
        return r;
    }

    // What the core sees of the device `r` once it moved to another instance.
    void expect_moved(const Registered& r, const std::string& endpoint) {
        auto& device = *r.device;
        const auto& obs = r.obs;
        ASSERT_TRUE(core.wait_update(endpoint, 1, 5s)) << "an Update from the new instance";
        EXPECT_EQ(registers(endpoint), 1u) << "no new Register toward the core";
        const auto source_after = core.last_source(endpoint);
        ASSERT_TRUE(source_after);
        EXPECT_NE(*source_after, r.source) << "the new instance's upstream address";
        // Re-observed on the device with the core's token; the numbers keep growing.
        ASSERT_TRUE(device
                        .wait_for_request(
                            [](const devsim::ReceivedRequest& r) {
                                return r.path == "/3/0/13" && r.observe() == 0u;
                            },
                            10s, r.requests)
                        .has_value());
        device.set_resource("/3/0/13", "after");
        auto after = notification_with(obs, "after");
        ASSERT_TRUE(after && after->observe);
        EXPECT_EQ(after->token, obs.token);
        EXPECT_GT(*after->observe, r.observe);
        // A request of the core reaches the device through the new instance.
        auto read = core.read(endpoint, "/3/0/0", {}, 10s);
        ASSERT_TRUE(read);
        EXPECT_EQ(read->code.raw, code::content);
        EXPECT_EQ(core.observations().size(), 1u) << "the core never re-observed";
    }

    // Sends the device to `to`, as a balancer would, and has it send an Update there.
    void move_to(DeviceSimulator& device, harness::GatewayProcess& to) {
        device.set_server_port(to.port());
        ASSERT_TRUE(device.reconnect(5s).ok());
        auto update = device.update({}, 10s);
        ASSERT_TRUE(update.ok()) << update.detail;
        EXPECT_EQ(update.code(), code::changed) << to.log();
    }

    harness::TempDir dir{"lwgate-cluster-"};
};

TEST_F(ClusterTest, ADeviceMovesToAnotherInstanceWhileTheFirstIsAlive) {
    auto& a = start("gw-a");
    auto& b = start("gw-b");
    const std::string ep = "urn:imei:move-1";
    auto r = register_observed(a, ep);
    ASSERT_TRUE(r.device);

    move_to(*r.device, b);

    EXPECT_TRUE(a.wait_for_log("endpoint=" + ep + " handed over to instance gw-b", 5s)) << a.log();
    EXPECT_TRUE(b.wait_for_log("endpoint=" + ep + " adopted from the cluster", 5s)) << b.log();
    expect_moved(r, ep);
    EXPECT_EQ(b.count_in_log("endpoint=" + ep + " owned by instance gw-a"), 1u);
}

TEST_F(ClusterTest, ADeviceMovesWhenItsInstanceWasKilled) {
    auto& a = start("gw-a");
    auto& b = start("gw-b");
    const std::string ep = "urn:imei:move-2";
    auto r = register_observed(a, ep);
    ASSERT_TRUE(r.device);

    ASSERT_TRUE(a.signal(SIGKILL));
    ASSERT_TRUE(a.wait_exit(5s));
    // B waits for A's lease (2 s) to run out, then takes the endpoint over.
    move_to(*r.device, b);
    EXPECT_TRUE(b.wait_for_log("endpoint=" + ep + " adopted from the cluster", 5s)) << b.log();
    expect_moved(r, ep);
}

// A stopped (SIGSTOP) longer than its lease loses the endpoint to B; once it runs again it finds
// its lease had lapsed, learns that it no longer owns the endpoint and closes it without
// writing: the record stays B's.
TEST_F(ClusterTest, AStaleInstanceThatComesBackCannotWrite) {
    auto& a = start("gw-a");
    auto& b = start("gw-b");
    const std::string ep = "urn:imei:stale-1";
    auto r = register_observed(a, ep);
    ASSERT_TRUE(r.device);

    ASSERT_TRUE(a.signal(SIGSTOP));
    move_to(*r.device, b);
    ASSERT_TRUE(b.wait_for_log("endpoint=" + ep + " adopted from the cluster", 5s)) << b.log();
    ASSERT_TRUE(wait_stored(b, "endpoint=" + ep + " stored"));
    const auto source_b = core.last_source(ep);

    ASSERT_TRUE(a.signal(SIGCONT));
    EXPECT_TRUE(a.wait_for_log("endpoint=" + ep + " lost to another lwgate instance", 10s))
        << a.log();
    // B still relays it: a request of the core reaches the device from B's address.
    auto read = core.read(ep, "/3/0/0", {}, 10s);
    ASSERT_TRUE(read);
    EXPECT_EQ(read->code.raw, code::content);
    EXPECT_EQ(core.last_source(ep), source_b);
    EXPECT_EQ(registers(ep), 1u);
}

// Redis is killed and comes back empty (no persistence): the instance goes on relaying its
// device from memory meanwhile, then finds its lease gone, claims its endpoint again and writes
// its record and location hint anew, so that the device can still move without a Register.
TEST_F(ClusterTest, RedisRestartedWithoutItsDataIsWrittenAgain) {
    auto& a = start("gw-a");
    auto& b = start("gw-b");
    const std::string ep = "urn:imei:redis-restart-1";
    auto r = register_observed(a, ep);
    ASSERT_TRUE(r.device);
    const auto stored_before = a.count_in_log("endpoint=" + ep + " stored:");

    redis.stop(SIGKILL);
    auto read = core.read(ep, "/3/0/0", {}, 10s);
    ASSERT_TRUE(read) << "relayed from memory while Redis is away";
    EXPECT_EQ(read->code.raw, code::content);

    ASSERT_TRUE(redis.start());
    EXPECT_TRUE(a.wait_for_log("lease had run out", 15s)) << a.log();
    ASSERT_TRUE(wait_stored(a, "endpoint=" + ep + " stored:", stored_before + 1)) << a.log();

    move_to(*r.device, b);
    EXPECT_TRUE(b.wait_for_log("endpoint=" + ep + " adopted from the cluster", 5s)) << b.log();
    expect_moved(r, ep);
}

// A queue-mode device asleep while its instance holds two requests of the core for it: it wakes
// on another instance, which delivers each once and answers the core.
TEST_F(ClusterTest, RequestsHeldForASleepingDeviceAreDeliveredOnceThroughTheNewInstance) {
    auto& a = start("gw-a");
    auto& b = start("gw-b");
    const std::string ep = "urn:imei:queue-1";
    auto o = options(ep, a.port());
    o.queue_mode = true;
    auto device = register_at(core, o);
    device->sleep();
    ASSERT_TRUE(a.wait_for_log("closed reason=peer_closed", 5s));
    auto read = std::async(std::launch::async, [&] { return core.read(ep, "/3/0/0", {}, 40s); });
    auto write = std::async(std::launch::async, [&] {
        return core.write(ep, "/3/0/14", 0, coresim::to_bytes("+02:00"),
                          coresim::WriteMode::replace, 40s);
    });
    ASSERT_TRUE(wait_stored(a, "endpoint=" + ep + " stored: observations=0 held=2")) << a.log();
    const auto requests_before = device->request_count();

    device->set_server_port(b.port());
    auto woke = device->wake(10s);
    ASSERT_TRUE(woke.ok()) << woke.detail;
    EXPECT_EQ(woke.code(), code::changed) << b.log();
    EXPECT_TRUE(b.wait_for_log("endpoint=" + ep + " adopted from the cluster", 5s)) << b.log();
    auto r = read.get();
    auto w = write.get();
    ASSERT_TRUE(r) << b.log();
    ASSERT_TRUE(w);
    EXPECT_EQ(r->code.raw, code::content);
    EXPECT_EQ(w->code.raw, code::changed);
    std::size_t reads = 0, writes = 0;
    for (const auto& q : device->requests()) {
        if (q.index < requests_before) continue;
        reads += q.path == "/3/0/0" ? 1 : 0;
        writes += q.path == "/3/0/14" ? 1 : 0;
    }
    EXPECT_EQ(reads, 1u);
    EXPECT_EQ(writes, 1u);
    EXPECT_EQ(registers(ep), 1u);
}

// Three instances behind HAProxy (round robin, PROXY v2): each reconnection of the device lands
// on the next instance, which takes its endpoint over; the admin API of the instance holding it
// shows the device's own address, not HAProxy's.
TEST_F(ClusterTest, ThreeInstancesBehindHaproxyShowTheDevicesOwnAddress) {
    if (!haproxy_installed()) GTEST_SKIP() << "haproxy is not installed";
    std::vector<harness::GatewayProcess*> gateways;
    for (const char* name : {"gw-a", "gw-b", "gw-c"})
        gateways.push_back(&start(name, true));
    HaproxyFront haproxy(dir, {gateways[0]->port(), gateways[1]->port(), gateways[2]->port()},
                         "roundrobin");
    const std::string ep = "urn:imei:behind-haproxy-1";
    auto device = register_at(core, options(ep, haproxy.port()));  // HAProxy runs: it answered
    ASSERT_TRUE(core.wait_registration(ep, 0s)) << haproxy.log();

    // The instance whose connections list the device's own address (polled: the admin API is
    // sampled, bounded by 5 s).
    auto holder = [&]() -> harness::GatewayProcess* {
        const auto remote = "127.0.0.1:" + std::to_string(device->local_port());
        const auto deadline = SteadyClock::now() + 5s;
        do {
            for (auto* g : gateways) {
                harness::AdminClient admin(g->admin_url(), "");
                const auto j =
                    nlohmann::json::parse(admin.get("/v1/connections").body, nullptr, false);
                if (j.is_discarded()) continue;
                for (const auto& row : j["connections"])
                    if (row["remote"] == remote) return g;
            }
            std::this_thread::sleep_for(20ms);
        } while (SteadyClock::now() < deadline);
        return nullptr;
    };
    auto* first = holder();
    ASSERT_TRUE(first) << "no instance shows the device's address";

    ASSERT_TRUE(device->reconnect(5s).ok());
    auto update = device->update({}, 10s);
    ASSERT_TRUE(update.ok()) << update.detail;
    EXPECT_EQ(update.code(), code::changed);
    auto* second = holder();
    ASSERT_TRUE(second);
    EXPECT_NE(second, first) << "round robin sent the reconnection to another instance";
    EXPECT_TRUE(second->wait_for_log("endpoint=" + ep + " adopted from the cluster", 5s));
    ASSERT_TRUE(core.wait_update(ep, 1, 5s));
    EXPECT_EQ(registers(ep), 1u);
}

// An attacker's view: Updates for locations nobody holds cost one lookup in Redis per
// connection, not one per message, and are answered 4.04 like on a single instance.
TEST_F(ClusterTest, AnUnknownLocationIsLookedUpOncePerConnection) {
    auto& b = start("gw-b");
    const auto gets = [&] {
        const auto stats = redis.command({"INFO", "commandstats"});
        const auto at = stats.find("cmdstat_get:calls=");
        return at == std::string::npos ? 0 : std::stoul(stats.substr(at + 18));
    };
    const auto before = gets();
    DeviceClient device;
    device.connect(kLoopback, b.port());
    ASSERT_TRUE(device.handshake_csm(5s).has_value());
    for (std::uint64_t token = 1; token <= 20; ++token) {
        auto update = request(code::post, token, "rd");
        update.add_option(coap::option::uri_path, "guess-" + std::to_string(token));
        ASSERT_TRUE(device.send(update));
        auto answer = device.receive(5s);
        ASSERT_TRUE(answer && is_answer_to(*answer, token));
        EXPECT_EQ(answer->code(), code::not_found);
    }
    EXPECT_EQ(gets() - before, 1u) << "one lookup for the connection";
}

// Two running instances under one name would take each other's endpoints: the second one
// refuses to start, naming the key. A crashed instance's successor under the same name starts
// (its predecessor's lease is not renewed).
TEST_F(ClusterTest, ASecondRunningInstanceUnderTheSameNameDoesNotStart) {
    auto& a = start("gw-a");
    const auto config = cluster_config("gw-a");
    harness::GatewayProcess twin;
    harness::GatewayOptions options;
    options.ready_timeout = Millis{8000};
    EXPECT_THROW(twin.start(LWGATE_BINARY, config.yaml(), options), harness::HarnessError);
    EXPECT_GE(twin.count_in_log("cluster.instance gw-a: another running lwgate instance"), 1u)
        << twin.log();

    ASSERT_TRUE(a.signal(SIGKILL));
    ASSERT_TRUE(a.wait_exit(5s));
    auto& successor = start("gw-a");
    EXPECT_TRUE(successor.running());
}

// A gracefully stopped instance writes everything and removes its lease: the others take its
// devices over at once, without asking it or waiting for the lease to run out.
TEST_F(ClusterTest, AfterAGracefulStopTheOthersTakeOverAtOnce) {
    auto& a = start("gw-a");
    auto& b = start("gw-b");
    const std::string ep = "urn:imei:graceful-1";
    auto r = register_observed(a, ep);
    ASSERT_TRUE(r.device);
    EXPECT_EQ(a.stop(10s), 0);
    EXPECT_EQ(a.count_in_log("cluster: instance gw-a left the cluster"), 1u) << a.log();

    move_to(*r.device, b);
    EXPECT_TRUE(b.wait_for_log("endpoint=" + ep + " adopted from the cluster", 5s)) << b.log();
    EXPECT_EQ(b.count_in_log("owned by instance gw-a"), 0u) << "nobody to ask: granted at once";
    expect_moved(r, ep);
}

// A registration that ends (here a De-register) releases its endpoint once the record's erasure
// is stored: the instance does not keep every endpoint it ever served, and the next instance
// the device registers at claims it at once instead of asking the first one to hand it over.
TEST_F(ClusterTest, AnEndedRegistrationReleasesItsEndpoint) {
    auto& a = start("gw-a");
    auto& b = start("gw-b");
    const std::string ep = "urn:imei:ended-1";
    auto device = register_at(core, options(ep, a.port()));
    ASSERT_TRUE(core.wait_registration(ep, 0s)) << a.log();
    auto dereg = device->deregister(10s);
    ASSERT_TRUE(dereg.ok()) << dereg.detail;
    ASSERT_TRUE(core.wait_deregistration(ep, 5s));
    ASSERT_TRUE(a.wait_for_log("endpoint=" + ep + " cluster: released", 5s)) << a.log();
    const std::string owner_key = "lwgate:owner:{" + ep + "}";
    const auto deadline = SteadyClock::now() + 5s;
    while (redis.command({"HGET", owner_key, "instance"}) != "" && SteadyClock::now() < deadline)
        std::this_thread::sleep_for(20ms);
    EXPECT_EQ(redis.command({"HGET", owner_key, "instance"}), "") << "released in Redis";
    EXPECT_EQ(redis.command({"HGET", owner_key, "epoch"}), "1") << "the epoch stays";
    EXPECT_EQ(redis.command({"EXISTS", "lwgate:dev:{" + ep + "}"}), "0") << "record erased";

    auto again = register_at(core, options(ep, b.port()));
    ASSERT_TRUE(again);
    EXPECT_TRUE(b.wait_for_log("endpoint=" + ep + " cluster: claim granted (epoch 2)", 5s))
        << b.log();
    EXPECT_EQ(b.count_in_log("owned by instance gw-a"), 0u) << "nobody asked: granted at once";
    EXPECT_EQ(a.count_in_log("handed over"), 0u);
}

// An instance at its registration budget does not take a moving device over (it would need
// another upstream socket): the device gets 5.03, and the endpoint stays free for another
// instance, which adopts it without a Register.
TEST_F(ClusterTest, AMoveBeyondTheRegistrationBudgetIsRefusedAndTheEndpointStaysFree) {
    auto& a = start("gw-a");
    auto& b = start("gw-b", false, {"max_registrations: 1"});
    auto other = register_at(core, options("urn:imei:budget-x", b.port()));  // B is full
    const std::string ep = "urn:imei:budget-y";
    auto r = register_observed(a, ep);
    ASSERT_TRUE(r.device);

    r.device->set_server_port(b.port());
    ASSERT_TRUE(r.device->reconnect(5s).ok());
    auto refused = r.device->update({}, 10s);
    ASSERT_TRUE(refused.ok()) << refused.detail;
    EXPECT_EQ(refused.code(), code::service_unavailable) << b.log();
    EXPECT_TRUE(b.wait_for_log("endpoint=" + ep + " not adopted", 5s)) << b.log();

    move_to(*r.device, a);
    EXPECT_TRUE(a.wait_for_log("endpoint=" + ep + " adopted from the cluster", 5s)) << a.log();
    EXPECT_EQ(registers(ep), 1u);
}

}  // namespace
}  // namespace lwgate::integration
