// Running as a service: systemd notifications (READY/STOPPING/WATCHDOG over NOTIFY_SOCKET) and
// SIGHUP reload (what is applied, what needs a restart, connections kept, new credentials).
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gmock/gmock.h>

#include <fstream>

#include "gateway_fixture.hpp"
#include "lwgate/coresim/core_simulator.hpp"
#include "lwgate/devsim/device_simulator.hpp"

namespace lwgate::integration {
namespace {

// The systemd side of sd_notify(3): a unix datagram socket the test owns.
class NotifySocket {
  public:
    NotifySocket() : dir_("lwgate-notify-") {
        path_ = (dir_ / "notify").string();
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        path_.copy(addr.sun_path, sizeof addr.sun_path - 1);
        EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    }
    ~NotifySocket() { ::close(fd_); }
    const std::string& path() const { return path_; }

    // Waits for a datagram containing the line `line` (e.g. "READY=1"); returns the datagram.
    std::optional<std::string> wait_for(const std::string& line, Millis timeout) {
        const auto deadline = SteadyClock::now() + timeout;
        for (;;) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(until(deadline).count())) <= 0) return std::nullopt;
            char buffer[4096];
            const auto n = ::recv(fd_, buffer, sizeof buffer, 0);
            if (n <= 0) return std::nullopt;
            std::string datagram(buffer, static_cast<std::size_t>(n));
            received_.push_back(datagram);
            if (("\n" + datagram + "\n").find("\n" + line + "\n") != std::string::npos)
                return datagram;
        }
    }
    const std::vector<std::string>& received() const { return received_; }

  private:
    harness::TempDir dir_;
    std::string path_;
    int fd_ = -1;
    std::vector<std::string> received_;
};

class ServiceTest : public GatewayTest {
  protected:
    void start_with_notify(std::vector<std::string> env) {
        env.push_back("NOTIFY_SOCKET=" + notify.path());
        harness::GatewayOptions options;
        options.extra_env = std::move(env);
        gateway.start(LWGATE_BINARY, config.yaml(), options);
    }
    NotifySocket notify;
};

TEST_F(ServiceTest, ReadyAfterListenersAndStoppingOnSigterm) {
    start_with_notify({});
    auto ready = notify.wait_for("READY=1", 5s);
    ASSERT_TRUE(ready) << "no READY=1";
    EXPECT_THAT(*ready, ::testing::HasSubstr("STATUS=serving: 1 listener(s)"));
    // READY means serving: a device can connect right away.
    auto device = connect_ready();
    EXPECT_FALSE(notify.wait_for("WATCHDOG=1", 300ms)) << "no watchdog unless WATCHDOG_USEC";
    ASSERT_TRUE(gateway.signal(SIGTERM));
    auto stopping = notify.wait_for("STOPPING=1", 5s);
    ASSERT_TRUE(stopping);
    EXPECT_THAT(*stopping, ::testing::HasSubstr("STATUS=draining"));
    device.close();
    EXPECT_EQ(gateway.wait_exit(10s), 0);
}

// SIGPIPE is ignored: a write into a socket whose peer went (Redis restarting under hiredis,
// which writes without MSG_NOSIGNAL) must be an error, not the end of the process.
TEST_F(ServiceTest, SigpipeIsIgnored) {
    gateway.start(LWGATE_BINARY, config.yaml());
    std::ifstream status("/proc/" + std::to_string(gateway.pid()) + "/status");
    std::string line;
    std::uint64_t ignored = 0;
    while (std::getline(status, line))
        if (line.rfind("SigIgn:", 0) == 0) ignored = std::stoull(line.substr(7), nullptr, 16);
    EXPECT_NE(ignored & (std::uint64_t{1} << (SIGPIPE - 1)), 0u)
        << "SigIgn: " << std::hex << ignored;
}

TEST_F(ServiceTest, WatchdogPetsAtHalfThePeriod) {
    start_with_notify({"WATCHDOG_USEC=400000"});  // 400 ms: pet every 200 ms
    ASSERT_TRUE(notify.wait_for("READY=1", 5s));
    const auto start = SteadyClock::now();
    auto device = connect_ready();
    for (int i = 0; i < 4; ++i)
        ASSERT_TRUE(notify.wait_for("WATCHDOG=1", 2s)) << "pet " << i;
    // The pets refresh systemctl's STATUS line with the live connection count.
    EXPECT_THAT(notify.received().back(),
                ::testing::HasSubstr("STATUS=serving: 1 listener(s), 1 connection(s)"));
    // 4 pets (the first one right after READY) take about 3 half periods, never 4 full ones.
    EXPECT_LT(ms_since(start), 1600ms);
    EXPECT_TRUE(gateway.wait_for_log("systemd watchdog: WATCHDOG=1 every 200 ms", 1s))
        << gateway.log();
}

TEST_F(ServiceTest, NoWatchdogForAnotherPid) {
    start_with_notify({"WATCHDOG_USEC=400000", "WATCHDOG_PID=1"});
    ASSERT_TRUE(notify.wait_for("READY=1", 5s));
    EXPECT_FALSE(notify.wait_for("WATCHDOG=1", 600ms));
}

class ReloadTest : public GatewayTest {
  protected:
    void SetUp() override {
        core.start();
        // A TLS-PSK listener; dev-a is known, dev-n only after the reload.
        config.listener_uris = {"coap+tcp://127.0.0.1:0",
                                "coaps+tcp://127.0.0.1:0\n    tls: { psk: true }"};
        credentials =
            "  - { endpoint: dev-a, psk_identity: id-a, psk_key_hex: 0102030405060708 }\n";
        write_extra();
    }
    void write_extra() {
        config.extra_yaml =
            "upstream:\n  uri: " + core.uri() + "\ncredentials:\n" + credentials + more_yaml;
    }
    void rewrite_config() {
        write_extra();
        std::ofstream(gateway.config_path()) << config.yaml();
    }
    devsim::DeviceOptions tls_device(const std::string& endpoint, const std::string& identity,
                                     coap::Bytes key) {
        devsim::DeviceOptions o;
        o.endpoint = endpoint;
        o.port = gateway.port(1);
        o.transport = devsim::Transport::tls;
        o.tls.psk_identity = identity;
        o.tls.psk_key = std::move(key);
        return o;
    }

    std::string credentials;
    std::string more_yaml;  // top-level sections after the credentials
    coresim::CoreSimulator core;
};

TEST_F(ReloadTest, AppliesWhatItCanKeepsConnectionsAndTakesNewCredentials) {
    start_gateway();
    devsim::DeviceSimulator device(tls_device("dev-a", "id-a", {1, 2, 3, 4, 5, 6, 7, 8}));
    auto r = device.register_device(5s);
    ASSERT_TRUE(r.ok()) << r.detail;
    ASSERT_EQ(r.code(), code::created);
    const auto port_before = device.local_port();

    const coap::Bytes key_n{9, 9, 9, 9, 1, 2, 3, 4};
    {
        devsim::DeviceSimulator unknown(tls_device("dev-n", "id-n", key_n));
        EXPECT_FALSE(unknown.connect(3s).ok()) << "id-n is not known before the reload";
    }
    EXPECT_EQ(gateway.count_in_log("] reload"), 0u);

    config.log_level = "debug";
    config.keepalive_idle = "30s";
    config.threads = 3;  // needs a restart
    credentials += "  - { endpoint: dev-n, psk_identity: id-n, psk_key_hex: 0909090901020304 }\n";
    rewrite_config();
    ASSERT_TRUE(gateway.signal(SIGHUP));
    ASSERT_TRUE(gateway.wait_for_log("SIGHUP: reloaded", 5s)) << gateway.log();
    const auto log = gateway.log();
    EXPECT_THAT(log, ::testing::HasSubstr("reload: applied log.level info -> debug"));
    EXPECT_THAT(log, ::testing::HasSubstr("reload: applied keepalive.idle 1m -> 30s"));
    EXPECT_THAT(log, ::testing::HasSubstr(
                         "reload: applied credentials 1 entries -> 2 entries (added dev-n)"));
    EXPECT_THAT(log, ::testing::HasSubstr("reload: needs a restart: threads (still 2)"));
    EXPECT_THAT(log, ::testing::Not(::testing::HasSubstr("0909090901020304")));

    // The device kept its connection and its registration works end to end.
    EXPECT_EQ(device.state(), devsim::ConnectionState::connected);
    EXPECT_EQ(device.local_port(), port_before);
    auto read = core.read("dev-a", "/3/0/0", std::nullopt, 5s);
    ASSERT_TRUE(read);
    EXPECT_EQ(read->code, coresim::Code(2, 5));
    EXPECT_EQ(device.local_port(), port_before);

    // The new TLS-PSK identity works, and maps to its endpoint for the bridge.
    devsim::DeviceSimulator fresh(tls_device("dev-n", "id-n", key_n));
    auto fr = fresh.register_device(5s);
    ASSERT_TRUE(fr.ok()) << fr.detail;
    EXPECT_EQ(fr.code(), code::created);
    EXPECT_TRUE(core.wait_registration("dev-n", 5s));
    // The new level is in force: debug lines appear after the reload.
    EXPECT_TRUE(gateway.wait_for_log(" debug ", 5s));
}

TEST_F(ReloadTest, KeepaliveReachesOpenConnections) {
    config.keepalive_idle = "1h";
    write_extra();
    start_gateway();
    auto device = connect_ready();  // silent from here on
    config.keepalive_idle = "1s";
    rewrite_config();
    ASSERT_TRUE(gateway.signal(SIGHUP));
    ASSERT_TRUE(gateway.wait_for_log("reload: applied keepalive.idle 1h -> 1s", 5s))
        << gateway.log();
    // Without the reload the next Ping would be an hour away.
    auto ping = device.receive_code(code::ping, 5s);
    EXPECT_TRUE(ping.has_value()) << "no Ping on the open connection after the reload";
}

TEST_F(ReloadTest, ConfigWithErrorsChangesNothing) {
    start_gateway();
    std::ofstream(gateway.config_path()) << config.yaml() << "keepalive:\n  idle: soon\n"
                                         << "bogus_key: 1\n";
    ASSERT_TRUE(gateway.signal(SIGHUP));
    ASSERT_TRUE(gateway.wait_for_log("error(s); nothing changed", 5s)) << gateway.log();
    EXPECT_THAT(gateway.log(), ::testing::HasSubstr("bogus_key"));
    EXPECT_EQ(gateway.count_in_log("reload: applied"), 0u);
    // Still serving, still at info level.
    auto device = connect_ready();
    EXPECT_TRUE(gateway.running());
    // A second, valid reload after the failed one still works.
    config.keepalive_idle = "45s";
    rewrite_config();
    ASSERT_TRUE(gateway.signal(SIGHUP));
    ASSERT_TRUE(gateway.wait_for_log("reload: applied keepalive.idle 1m -> 45s", 5s))
        << gateway.log();
}

// The per-device limits and the registration rules are applied at run time: a Register after
// the reload is held to the new lifetime ceiling, at the core too.
TEST_F(ReloadTest, RegistrationLimitsApplyToTheNextRegister) {
    start_gateway();
    auto options = [&](const std::string& endpoint) {
        devsim::DeviceOptions o;
        o.endpoint = endpoint;
        o.port = gateway.port(0);
        o.lifetime = 7200;
        return o;
    };
    devsim::DeviceSimulator before(options("dev-before"));
    ASSERT_EQ(before.register_device(5s).code(), code::created);
    auto reg = core.wait_registration("dev-before", 5s);
    ASSERT_TRUE(reg);
    EXPECT_EQ(reg->lifetime, 7200u);

    more_yaml = "registration:\n  max_lifetime: 1h\ndevice_limits:\n  uplinks_queued: 2\n";
    rewrite_config();
    ASSERT_TRUE(gateway.signal(SIGHUP));
    ASSERT_TRUE(gateway.wait_for_log("SIGHUP: reloaded", 5s)) << gateway.log();
    EXPECT_THAT(gateway.log(),
                ::testing::HasSubstr("reload: applied registration.max_lifetime 24h -> 1h"));

    devsim::DeviceSimulator after(options("dev-after"));
    ASSERT_EQ(after.register_device(5s).code(), code::created);
    reg = core.wait_registration("dev-after", 5s);
    ASSERT_TRUE(reg);
    EXPECT_EQ(reg->lifetime, 3600u) << "the new ceiling is in force";
}

TEST_F(ReloadTest, UnchangedFileReportsNothing) {
    start_gateway();
    ASSERT_TRUE(gateway.signal(SIGHUP));
    ASSERT_TRUE(gateway.wait_for_log("SIGHUP: reloaded 0 change(s), 0 need a restart", 5s))
        << gateway.log();
}

}  // namespace
}  // namespace lwgate::integration
