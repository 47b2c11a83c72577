// Persistence end to end: the real lwgate with `store.uri: sqlite://` in the test's
// TempDir, between the core simulator and device simulators, killed with SIGKILL and started
// again with the same configuration. The core must notice nothing but the silence: the same
// source port per device, Updates (no new Register), its observations fed with its own tokens
// and growing Observe numbers, each acknowledged held request delivered and answered once.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <future>
#include <memory>
#include <thread>

#include "bridge_fixture.hpp"
#include "lwgate/harness/admin_client.hpp"
#include "redis/open_redis_store.hpp"
#include "redis_server.hpp"
#include "store/sqlite_store.hpp"

namespace lwgate::integration {
namespace {

class PersistenceTest : public ::testing::Test {
  protected:
    void SetUp() override {
        core.start();
        config.log_level = "debug";
        config.store_uri = "sqlite://" + (dir / "state" / "lwgate.db").string();
        config.extra_yaml = "upstream:\n  uri: " + core.uri() + "\n";
    }

    // Starts a new lwgate run (on the first run's port after the first).
    harness::GatewayProcess& start(std::vector<std::string> env = {}) {
        if (!runs.empty()) {
            config.listener_uris = {"coap+tcp://127.0.0.1:" + std::to_string(port)};
        }
        auto run = std::make_unique<harness::GatewayProcess>();
        harness::GatewayOptions options;
        options.extra_env = std::move(env);
        run->start(LWGATE_BINARY, config.yaml(), options);
        port = run->port();
        runs.push_back(std::move(run));
        return *runs.back();
    }
    harness::GatewayProcess& gateway() { return *runs.back(); }

    void kill9() {
        ASSERT_TRUE(gateway().signal(SIGKILL));
        auto status = gateway().wait_exit(5s);
        ASSERT_TRUE(status);
        EXPECT_EQ(*status, 128 + SIGKILL);
    }

    // Waits until the gateway logged `needle` (a "stored:" line of persist()) and the store
    // committed a batch after it: the state is on disk.
    bool wait_stored(const std::string& needle, std::size_t count = 1) {
        auto& g = gateway();
        if (!g.wait_for_log(needle, 5s, count)) return false;
        const auto log = g.log();
        std::size_t pos = 0;
        for (std::size_t i = 0; i < count; ++i)
            pos = log.find(needle, i == 0 ? 0 : pos + 1);
        std::size_t commits = 0;
        for (auto p = log.find("store: committed"); p != std::string::npos && p < pos;
             p = log.find("store: committed", p + 1)) {
            ++commits;
        }
        return g.wait_for_log("store: committed", 5s, commits + 1);
    }

    DeviceOptions device_options(std::string endpoint) {
        DeviceOptions o;
        o.endpoint = std::move(endpoint);
        o.port = port;
        o.lifetime = 300;
        return o;
    }

    std::unique_ptr<DeviceSimulator> registered(DeviceOptions o) { return register_at(core, o); }

    // The device reconnects and sends an Update without parameters: the code it got (0 if the
    // reconnection or the exchange failed, which is reported).
    std::uint8_t reconnect_and_update(DeviceSimulator& device) {
        const auto connected = device.reconnect(5s);
        EXPECT_TRUE(connected.ok()) << connected.detail;
        const auto u = device.update({}, 5s);
        EXPECT_TRUE(u.ok()) << u.detail;
        return u.ok() ? u.code() : 0;
    }

    std::size_t registers(const std::string& endpoint) {
        std::size_t n = 0;
        for (const auto& e : core.events(coresim::EventKind::register_))
            n += e.endpoint == endpoint ? 1 : 0;
        return n;
    }

    // The store as the last run left it (no lwgate may hold it).
    std::vector<store::DeviceRecord> stored(std::string* problems = nullptr) {
        if (redis) return stored_in_redis();
        auto opened = store::SqliteStore::open(dir / "state" / "lwgate.db");
        if (!opened) {
            ADD_FAILURE() << opened.error().message();
            return {};
        }
        auto& s = **opened;
        if (problems) *problems = s.check();
        auto loaded = s.load_all();
        if (!loaded) {
            ADD_FAILURE() << loaded.error().message();
            return {};
        }
        return std::move(loaded).value();
    }

    std::vector<store::DeviceRecord> stored_in_redis() {
        auto opened = redis::open_any_store(config.store_uri);
        if (!opened) {
            ADD_FAILURE() << opened.error().message();
            return {};
        }
        auto loaded = (*opened)->load_all();
        if (!loaded) {
            ADD_FAILURE() << loaded.error().message();
            return {};
        }
        return std::move(loaded).value();
    }

    // Scenarios run against each kind of store (the tests below name them).
    void kill_nine_and_restart();
    void graceful_restart();

    void TearDown() override {
        if (!runs.empty() && gateway().running()) {
            const auto status = gateway().stop(10s);
            EXPECT_EQ(status, 0) << "the last run exits cleanly on SIGTERM";
        }
        for (auto& run : runs) {
            EXPECT_TRUE(run->sanitizer_reports().empty()) << run->log();
            if (HasFailure()) {
                std::cerr << "---- gateway log (" << run->log_path().string() << ") ----\n"
                          << run->log() << "---- end ----\n";
            }
        }
    }

    std::unique_ptr<RedisServer> redis;  // started first, stopped last
    harness::TempDir dir{"lwgate-persist-"};
    harness::GatewayConfig config;
    std::vector<std::unique_ptr<harness::GatewayProcess>> runs;
    std::uint16_t port = 0;
    CoreSimulator core;
};

bool device_got(const DeviceSimulator& d, const std::string& path, std::optional<std::uint32_t> obs,
                std::size_t from) {
    return d
        .wait_for_request(
            [&](const devsim::ReceivedRequest& r) {
                return r.path == path && (!obs || r.observe() == obs);
            },
            10s, from)
        .has_value();
}

// The next notification of `obs` whose payload is `expected` (re-observation answers may come
// first).
std::optional<coresim::Response> notification_with(CoreSimulator& core,
                                                   const coresim::Observation& obs,
                                                   const std::string& expected) {
    for (int i = 0; i < 5; ++i) {
        auto n = core.wait_notification(obs, 10s);
        if (!n || n->text() == expected) return n;
    }
    return std::nullopt;
}

void PersistenceTest::kill_nine_and_restart() {
    start();
    // A: always reachable, observed. B: queue mode, observed, asleep with two held requests.
    // C: a short registration that expires while lwgate is down.
    auto a = registered(device_options("urn:imei:p-a"));
    auto ob = device_options("urn:imei:p-b");
    ob.queue_mode = true;
    auto b = registered(ob);

    const auto source_a = core.last_source("urn:imei:p-a");
    const auto source_b = core.last_source("urn:imei:p-b");
    ASSERT_TRUE(source_a && source_b);

    auto obs_a = core.observe("urn:imei:p-a", "/3/0/13");
    ASSERT_TRUE(obs_a && obs_a->established());
    auto obs_b = core.observe("urn:imei:p-b", "/3/0/13");
    ASSERT_TRUE(obs_b && obs_b->established());
    a->set_resource("/3/0/13", "a-before");
    auto before_a = notification_with(core, *obs_a, "a-before");
    ASSERT_TRUE(before_a && before_a->observe);

    b->sleep();
    ASSERT_TRUE(gateway().wait_for_log("closed reason=peer_closed", 5s));
    auto read_b = std::async(std::launch::async,
                             [&] { return core.read("urn:imei:p-b", "/3/0/0", {}, 40s); });
    auto write_b = std::async(std::launch::async, [&] {
        return core.write("urn:imei:p-b", "/3/0/14", 0, coresim::to_bytes("+02:00"),
                          coresim::WriteMode::replace, 40s);
    });
    // Both acknowledged by libcoap, held, and on disk.
    ASSERT_TRUE(wait_stored("endpoint=urn:imei:p-b stored: observations=1 held=2"));
    ASSERT_EQ(read_b.wait_for(0s), std::future_status::timeout);
    // C registers last, for 2 s, and is on disk before the kill.
    auto oc = device_options("urn:imei:p-c");
    oc.lifetime = 2;
    const auto c_registered_at = SteadyClock::now();
    auto c = registered(oc);
    ASSERT_TRUE(wait_stored("endpoint=urn:imei:p-c stored"));

    kill9();
    const auto b_requests_before = b->request_count();

    // While lwgate is down, the core asks A for something: libcoap retransmits it toward A's
    // port, which the restarted lwgate binds again, and holds it until A is back.
    auto read_a = std::async(std::launch::async,
                             [&] { return core.read("urn:imei:p-a", "/3/0/1", {}, 40s); });
    // C's registration (lifetime 2 s) ends while lwgate is down.
    while (SteadyClock::now() < c_registered_at + 2500ms) {
        std::this_thread::sleep_for(50ms);  // the scenario needs time to pass, not a sync point
    }

    auto& g2 = start();
    ASSERT_TRUE(
        g2.wait_for_log("endpoint=urn:imei:p-c registration expired while lwgate was down", 5s));
    ASSERT_TRUE(g2.wait_for_log("endpoint=urn:imei:p-a restored", 5s));
    // C's registration is also ended at the core (for cores with a grace period), once.
    ASSERT_TRUE(core.wait_deregistration("urn:imei:p-c", 5s));
    ASSERT_TRUE(g2.wait_for_log("endpoint=urn:imei:p-b restored", 5s));

    // A comes back and updates: an Update, no Register, from the same source port.
    const auto a_requests_before = a->request_count();
    EXPECT_EQ(reconnect_and_update(*a), code::changed);
    ASSERT_TRUE(core.wait_update("urn:imei:p-a", 1, 5s));
    EXPECT_EQ(registers("urn:imei:p-a"), 1u) << "no new Register toward the core";
    EXPECT_EQ(core.last_source("urn:imei:p-a"), source_a) << "same upstream address";
    // The observation is re-established on the device and keeps the core's token.
    ASSERT_TRUE(device_got(*a, "/3/0/13", 0u, a_requests_before));
    a->set_resource("/3/0/13", "a-after");
    auto after_a = notification_with(core, *obs_a, "a-after");
    ASSERT_TRUE(after_a && after_a->observe);
    EXPECT_EQ(after_a->token, obs_a->token);
    EXPECT_GT(*after_a->observe, *before_a->observe);
    // The request the core made while lwgate was down reached A and was answered.
    auto ra = read_a.get();
    ASSERT_TRUE(ra);
    EXPECT_EQ(ra->code.raw, code::content);

    // B wakes: its held requests are delivered once each and answered to the core.
    auto ub = b->wake(5s);
    ASSERT_TRUE(ub.ok()) << ub.detail;
    EXPECT_EQ(ub.code(), code::changed);
    auto rb = read_b.get();
    auto wb = write_b.get();
    ASSERT_TRUE(rb);
    ASSERT_TRUE(wb);
    EXPECT_EQ(rb->code.raw, code::content);
    EXPECT_EQ(rb->text(), "lwgate");
    EXPECT_EQ(wb->code.raw, code::changed);
    EXPECT_EQ(text(b->resource("/3/0/14")->bytes()), "+02:00");
    ASSERT_TRUE(device_got(*b, "/3/0/13", 0u, b_requests_before));
    std::size_t reads = 0, writes = 0;
    for (const auto& r : b->requests()) {
        if (r.index < b_requests_before) continue;
        reads += r.path == "/3/0/0" ? 1 : 0;
        writes += r.path == "/3/0/14" ? 1 : 0;
    }
    EXPECT_EQ(reads, 1u);
    EXPECT_EQ(writes, 1u);
    EXPECT_EQ(registers("urn:imei:p-b"), 1u);
    EXPECT_EQ(core.last_source("urn:imei:p-b"), source_b);
    b->set_resource("/3/0/13", "b-after");
    auto after_b = notification_with(core, *obs_b, "b-after");
    ASSERT_TRUE(after_b);
    EXPECT_EQ(after_b->token, obs_b->token);
    EXPECT_EQ(core.observations().size(), 2u) << "the core never re-observed";

    // C: its registration is gone, so its Update is refused and it would register again.
    EXPECT_EQ(reconnect_and_update(*c), code::not_found);
    std::size_t deregisters = 0;
    for (const auto& e : core.events(coresim::EventKind::deregister))
        deregisters += e.endpoint == "urn:imei:p-c" ? 1 : 0;
    EXPECT_EQ(deregisters, 1u);

    ASSERT_EQ(gateway().stop(10s), 0);
    std::string problems;
    const auto records = stored(&problems);
    EXPECT_EQ(problems, "");
    ASSERT_EQ(records.size(), 2u);
    EXPECT_EQ(records[0].endpoint, "urn:imei:p-a");
    EXPECT_EQ(records[1].endpoint, "urn:imei:p-b");
    EXPECT_TRUE(records[1].queued.empty()) << "delivered requests leave the store";
    EXPECT_EQ(records[1].observations.size(), 1u);
}

TEST_F(PersistenceTest, KillNineAndRestartTheCoreNoticesNothingButTheSilence) {
    kill_nine_and_restart();
}

// The stored upstream port is taken by another program when lwgate restarts: the device gets a
// new port, and an Update on its behalf tells the core the new address before the device is back.
TEST_F(PersistenceTest, ATakenStoredPortMovesTheDeviceAndTellsTheCore) {
    start();
    auto d = registered(device_options("urn:imei:moved-1"));
    const auto source = core.last_source("urn:imei:moved-1");
    ASSERT_TRUE(source);
    ASSERT_TRUE(wait_stored("endpoint=urn:imei:moved-1 stored"));
    kill9();

    const auto port = static_cast<std::uint16_t>(std::stoi(source->substr(source->rfind(':') + 1)));
    const int squatter = ::socket(AF_INET, SOCK_DGRAM, 0);
    ASSERT_GE(squatter, 0);
    sockaddr_in any{};
    any.sin_family = AF_INET;
    any.sin_port = htons(port);
    ASSERT_EQ(::bind(squatter, reinterpret_cast<sockaddr*>(&any), sizeof any), 0)
        << "port " << port << ": " << std::strerror(errno);

    auto& g2 = start();
    ASSERT_TRUE(g2.wait_for_log("endpoint=urn:imei:moved-1 cannot re-open upstream port", 5s));
    auto update = core.wait_update("urn:imei:moved-1", 1, 10s);
    ::close(squatter);
    ASSERT_TRUE(update) << "an Update on the device's behalf";
    const auto moved = core.last_source("urn:imei:moved-1");
    ASSERT_TRUE(moved);
    EXPECT_NE(*moved, *source);
    EXPECT_EQ(registers("urn:imei:moved-1"), 1u);

    EXPECT_EQ(reconnect_and_update(*d), code::changed);
    auto read = core.read("urn:imei:moved-1", "/3/0/0");
    ASSERT_TRUE(read);
    EXPECT_EQ(read->code.raw, code::content);
}

// With several upstream.bind addresses, a restart binds each device's stored address and port.
TEST_F(PersistenceTest, RestartKeepsTheUpstreamAddressAmongSeveral) {
    config.threads = 1;  // one shard hands out the addresses in turn
    config.extra_yaml += "  bind: { address: [127.0.0.2, 127.0.0.3] }\n";
    start();
    auto d1 = registered(device_options("urn:imei:addr-1"));
    auto d2 = registered(device_options("urn:imei:addr-2"));
    const auto s1 = core.last_source("urn:imei:addr-1");
    const auto s2 = core.last_source("urn:imei:addr-2");
    ASSERT_TRUE(s1 && s2);
    EXPECT_EQ(s1->substr(0, 10), "127.0.0.2:");
    EXPECT_EQ(s2->substr(0, 10), "127.0.0.3:");
    ASSERT_TRUE(wait_stored("endpoint=urn:imei:addr-2 stored"));
    kill9();
    start();
    for (auto* d : {d1.get(), d2.get()}) {
        EXPECT_EQ(reconnect_and_update(*d), code::changed);
    }
    ASSERT_TRUE(core.wait_update("urn:imei:addr-2", 1, 5s));
    EXPECT_EQ(core.last_source("urn:imei:addr-1"), s1);
    EXPECT_EQ(core.last_source("urn:imei:addr-2"), s2);
    EXPECT_EQ(registers("urn:imei:addr-1") + registers("urn:imei:addr-2"), 2u);
}

// DTLS toward a core that ignores a new ClientHello from an address it still holds a session
// for (the core simulator is libcoap 4.3.1, which does): the restored session cannot resume on
// the stored port. After upstream.dtls_resume_timeout lwgate moves it to a new port and sends an
// Update on the device's behalf; the core (matching by DTLS identity, as Leshan does) keeps the
// registration and its observation, and reaches the device at the new address.
class PersistenceDtlsTest : public PersistenceTest {
  protected:
    void SetUp() override {
        coresim::Options options;
        options.dtls = true;
        options.psk_keys = {{"lwgate-gw", coresim::Bytes{1, 2, 3, 4}}};
        core.start(options);
        config.log_level = "debug";
        config.store_uri = "sqlite://" + (dir / "state" / "lwgate.db").string();
        config.extra_yaml = "upstream:\n  uri: " + core.dtls_uri() +
                            "\n  dtls: { psk_identity: lwgate-gw, psk_key_hex: '01020304' }\n"
                            "  dtls_resume_timeout: 1s\n";
    }
};

TEST_F(PersistenceDtlsTest, SessionMovesToANewPortWhenTheCoreIgnoresTheNewHandshake) {
    start();
    auto d = registered(device_options("urn:imei:dtls-1"));
    const auto source = core.last_source("urn:imei:dtls-1");
    ASSERT_TRUE(source);
    auto obs = core.observe("urn:imei:dtls-1", "/3/0/13");
    ASSERT_TRUE(obs && obs->established());
    d->set_resource("/3/0/13", "before");
    auto before = notification_with(core, *obs, "before");
    ASSERT_TRUE(before && before->observe);
    ASSERT_TRUE(wait_stored("endpoint=urn:imei:dtls-1 stored: observations=1"));

    kill9();
    const auto device_requests = d->request_count();
    auto& g2 = start();
    ASSERT_TRUE(g2.wait_for_log("endpoint=urn:imei:dtls-1 restored", 5s));
    ASSERT_TRUE(g2.wait_for_log("endpoint=urn:imei:dtls-1 upstream session moved from port", 10s));
    // The Update on the device's behalf tells the core the new address; no new Register.
    auto update = core.wait_update("urn:imei:dtls-1", 1, 10s);
    ASSERT_TRUE(update);
    EXPECT_EQ(registers("urn:imei:dtls-1"), 1u);
    const auto moved = core.last_source("urn:imei:dtls-1");
    ASSERT_TRUE(moved);
    EXPECT_NE(*moved, *source);
    ASSERT_TRUE(wait_stored("endpoint=urn:imei:dtls-1 stored"));  // with the new port

    // The device comes back: its own Update works, its observation keeps the core's token.
    EXPECT_EQ(reconnect_and_update(*d), code::changed);
    ASSERT_TRUE(device_got(*d, "/3/0/13", 0u, device_requests));
    d->set_resource("/3/0/13", "after");
    auto after = notification_with(core, *obs, "after");
    ASSERT_TRUE(after && after->observe);
    EXPECT_EQ(after->token, obs->token);
    EXPECT_GT(*after->observe, *before->observe);
    auto read = core.read("urn:imei:dtls-1", "/3/0/0");
    ASSERT_TRUE(read);
    EXPECT_EQ(read->code.raw, code::content);
    EXPECT_EQ(registers("urn:imei:dtls-1"), 1u) << "the core never saw a new Register";

    // The next restart starts from the new port.
    ASSERT_EQ(gateway().stop(10s), 0);
    const auto records = stored();
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(":" + std::to_string(records[0].local_port), moved->substr(moved->rfind(':')));
}

// Kill -9 right after bursts of writes, several times: every restart finds a consistent store,
// and no registration that was acknowledged long enough to be committed is ever lost.
TEST_F(PersistenceTest, RepeatedKillsAfterWriteBurstsKeepTheStoreConsistent) {
    start();
    constexpr int count = 12;
    std::vector<std::unique_ptr<DeviceSimulator>> devices;
    for (int i = 0; i < count; ++i)
        devices.push_back(registered(device_options("urn:imei:k-" + std::to_string(i))));
    ASSERT_TRUE(wait_stored("endpoint=urn:imei:k-" + std::to_string(count - 1) + " stored"));

    for (int round = 0; round < 3; ++round) {
        // A burst of Updates (each one a write), and the kill right behind it.
        std::vector<std::future<devsim::Result>> updates;
        for (auto& d : devices) {
            if (round > 0) {
                ASSERT_TRUE(d->reconnect(5s).ok());
            }
            devsim::UpdateParams params;
            params.lifetime = 300 + round;
            updates.push_back(d->update_async(params));
        }
        for (auto& u : updates) {
            auto r = u.get();
            ASSERT_TRUE(r.ok()) << r.detail;
            EXPECT_EQ(r.code(), code::changed) << "round " << round << ": nothing was lost";
        }
        kill9();
        std::string problems;
        EXPECT_EQ(stored(&problems).size(), static_cast<std::size_t>(count));
        EXPECT_EQ(problems, "") << "round " << round;
        start();
    }
    for (int i = 0; i < count; ++i) {
        EXPECT_EQ(registers("urn:imei:k-" + std::to_string(i)), 1u) << "never a new Register";
    }
}

// Fault injection: lwgate SIGKILLs itself inside the store's third transaction (the third
// device's registration). The restart finds the first two devices; the third must register
// again (its Update gets 4.04): the documented window between acknowledging and committing.
TEST_F(PersistenceTest, CrashInsideATransactionLosesOnlyThatTransaction) {
    start({"LWGATE_STORE_CRASH_IN_BATCH=3"});
    auto d1 = registered(device_options("urn:imei:f-1"));
    ASSERT_TRUE(wait_stored("endpoint=urn:imei:f-1 stored"));
    auto d2 = registered(device_options("urn:imei:f-2"));
    ASSERT_TRUE(wait_stored("endpoint=urn:imei:f-2 stored"));
    auto d3 = std::make_unique<DeviceSimulator>(device_options("urn:imei:f-3"));
    d3->register_device(5s);  // lwgate may die before or after answering
    auto status = gateway().wait_exit(10s);
    ASSERT_TRUE(status) << "the injected crash happened";
    EXPECT_EQ(*status, 128 + SIGKILL);
    EXPECT_GE(gateway().count_in_log("SIGKILL inside a transaction"), 1u);

    std::string problems;
    const auto records = stored(&problems);
    EXPECT_EQ(problems, "");
    ASSERT_EQ(records.size(), 2u);
    EXPECT_EQ(records[0].endpoint, "urn:imei:f-1");
    EXPECT_EQ(records[1].endpoint, "urn:imei:f-2");

    start();
    for (auto* d : {d1.get(), d2.get()}) {
        EXPECT_EQ(reconnect_and_update(*d), code::changed);
    }
    if (d3->is_registered()) {
        EXPECT_EQ(reconnect_and_update(*d3), code::not_found) << "lost with the killed transaction";
    }
}

// store.ack_after_commit: a request held for a sleeping device is acknowledged only once it is on
// disk. lwgate dies inside the transaction that writes it: the core, never acknowledged,
// retransmits it into the restarted lwgate, which delivers it once when the device wakes. (With
// the default, the ACK goes out before the commit and the crash loses the request.)
TEST_F(PersistenceTest, AckAfterCommitLosesNothingToACrashBeforeTheCommit) {
    config.store_extra = {"ack_after_commit: true"};
    start({"LWGATE_STORE_CRASH_IN_BATCH=2"});
    auto o = device_options("urn:imei:c-1");
    o.queue_mode = true;
    auto d = registered(o);
    ASSERT_TRUE(wait_stored("endpoint=urn:imei:c-1 stored"));  // batch 1
    d->sleep();
    ASSERT_TRUE(gateway().wait_for_log("closed reason=peer_closed", 5s));
    auto read = std::async(std::launch::async,
                           [&] { return core.read("urn:imei:c-1", "/3/0/0", {}, 60s); });
    auto status = gateway().wait_exit(10s);  // batch 2 holds the Read: killed inside it
    ASSERT_TRUE(status) << "the injected crash happened";
    EXPECT_EQ(*status, 128 + SIGKILL);

    start();
    ASSERT_TRUE(gateway().wait_for_log("urn:imei:c-1 stored: observations=0 held=1", 30s))
        << "the core's retransmission reached the restarted lwgate";
    const auto before = d->request_count();
    auto woke = d->wake(5s);
    ASSERT_TRUE(woke.ok()) << woke.detail;
    EXPECT_EQ(woke.code(), code::changed);
    auto answer = read.get();
    ASSERT_TRUE(answer) << "the core's Read was lost";
    EXPECT_EQ(text(answer->payload), "lwgate");
    std::size_t reads = 0;
    for (const auto& r : d->requests())
        reads += r.index >= before && r.path == "/3/0/0";
    EXPECT_EQ(reads, 1u) << "delivered once";
}

// A graceful stop (SIGTERM: drain, exit 0) commits whatever was still pending: the store's
// destructor writes it before the process exits.
void PersistenceTest::graceful_restart() {
    start();
    auto o = device_options("urn:imei:g-1");
    o.queue_mode = true;
    auto d = registered(o);
    auto obs = core.observe("urn:imei:g-1", "/3/0/13");
    ASSERT_TRUE(obs && obs->established());
    ASSERT_EQ(gateway().stop(10s), 0);  // right away: no wait for the store
    const auto records = stored();
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].observations.size(), 1u);
    EXPECT_EQ(records[0].register_query, "ep=urn:imei:g-1&lt=300&lwm2m=1.1&b=U&Q")
        << "the Register as the core saw it";

    start();
    EXPECT_EQ(reconnect_and_update(*d), code::changed);
    EXPECT_EQ(registers("urn:imei:g-1"), 1u);
    d->set_resource("/3/0/13", "g-after");
    auto n = notification_with(core, *obs, "g-after");
    ASSERT_TRUE(n);
    EXPECT_EQ(n->token, obs->token);
}

TEST_F(PersistenceTest, GracefulRestartKeepsEverything) {
    graceful_restart();
}

// The same scenarios with `store.uri: redis+unix://` (a redis-server of the test's own).
class PersistenceRedisTest : public PersistenceTest {
  protected:
    void SetUp() override {
        if (!RedisServer::available()) GTEST_SKIP() << "redis-server is not installed";
        redis = std::make_unique<RedisServer>();
        ASSERT_TRUE(redis->start());
        PersistenceTest::SetUp();
        config.store_uri = redis->uri();
    }
};

TEST_F(PersistenceRedisTest, KillNineAndRestartTheCoreNoticesNothingButTheSilence) {
    kill_nine_and_restart();
}

TEST_F(PersistenceRedisTest, GracefulRestartKeepsEverything) {
    graceful_restart();
}

TEST_F(PersistenceRedisTest, UnreachableRedisIsAStartupErrorNamingStoreUri) {
    redis->stop();
    harness::GatewayProcess g;
    harness::GatewayOptions options;
    options.ready_timeout = Millis{8000};
    try {
        g.start(LWGATE_BINARY, config.yaml(), options);
        FAIL() << "lwgate started without its store";
    } catch (const harness::HarnessError&) {
    }
    EXPECT_GE(g.count_in_log("store.uri " + config.store_uri), 1u) << g.log();
}

TEST_F(PersistenceTest, StoreOperationsShowInMetrics) {
    start();
    auto d = registered(device_options("urn:imei:m-1"));
    harness::AdminClient admin(gateway().admin_url());
    long long saves = -1;
    long long commits = -1;
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < deadline) {  // the store commits asynchronously
        const auto text = admin.get("/metrics").body;
        saves = metric_value(text, "lwgate_store_operations_total{op=\"save\"}");
        commits = metric_value(text, "lwgate_store_operations_total{op=\"commit\"}");
        if (saves > 0 && commits > 0) break;
        std::this_thread::sleep_for(50ms);
    }
    EXPECT_GT(saves, 0);
    EXPECT_GT(commits, 0);
}

TEST_F(PersistenceTest, UnusableStoreIsAStartupErrorNamingStoreUri) {
    config.store_uri = "sqlite:///proc/lwgate-cannot-create/state.db";
    harness::GatewayProcess g;
    harness::GatewayOptions options;
    options.ready_timeout = Millis{5000};
    try {
        g.start(LWGATE_BINARY, config.yaml(), options);
        FAIL() << "lwgate started with an unusable store";
    } catch (const harness::HarnessError&) {
    }
    EXPECT_GE(g.count_in_log("store.uri sqlite:///proc/lwgate-cannot-create/state.db"), 1u)
        << g.log();
}

}  // namespace
}  // namespace lwgate::integration
