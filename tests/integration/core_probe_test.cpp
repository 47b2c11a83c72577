// The active check of the core (upstream.probe_interval): the real lwgate pings the core with
// empty CONs and /v1/health and /metrics say whether it answers, before any device relays
// anything. Cores: the core simulator (libcoap: a Reset to each Ping, over UDP and DTLS), a UDP
// socket of the test that answers with empty ACKs or not at all, and a port nothing listens on.
#include <gmock/gmock.h>
#include <poll.h>

#include <atomic>
#include <sstream>
#include <thread>

#include "bridge_fixture.hpp"
#include "lwgate/harness/admin_client.hpp"

namespace lwgate::integration {
namespace {

using harness::AdminClient;
using harness::HttpReply;
using ::testing::HasSubstr;

// Short timers: a verdict within a second or two. One Ping per 300 ms stays below the Resets
// per second a libcoap core sends one peer (4).
constexpr const char* kFastProbe =
    "  probe_interval: 300ms\n  probe_timeout: 200ms\n  probe_max_missed: 2\n";

// A UDP "core" on loopback run by the test: answers every empty CON with an empty ACK, or
// nothing when `silent`.
class UdpPeer {
  public:
    explicit UdpPeer(bool silent) : silent_(silent) {
        fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
            throw std::runtime_error("cannot bind a UDP socket on loopback");
        port_ = ntohs(addr.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~UdpPeer() {
        stop_ = true;
        thread_.join();
        ::close(fd_);
    }
    std::uint16_t port() const { return port_; }
    unsigned pings() const { return pings_; }

  private:
    void serve() {
        while (!stop_) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 50) <= 0) continue;
            std::uint8_t buf[1500];
            sockaddr_in from{};
            socklen_t len = sizeof from;
            const auto n =
                ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
            // An empty CON: version 1, type CON, no token, code 0.00.
            if (n != 4 || buf[0] != 0x40 || buf[1] != 0) continue;
            ++pings_;
            if (silent_) continue;
            const std::uint8_t ack[4] = {0x60, 0x00, buf[2], buf[3]};
            ::sendto(fd_, ack, sizeof ack, 0, reinterpret_cast<sockaddr*>(&from), len);
        }
    }

    bool silent_;
    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<unsigned> pings_{0};
    std::thread thread_;
};

// Polls GET /v1/health until `want` holds for its status code and body, or `timeout` passes.
template <class Want>
nlohmann::json wait_health(const AdminClient& admin, Want want, Millis timeout) {
    const auto deadline = SteadyClock::now() + timeout;
    HttpReply r;
    do {
        r = admin.get("/v1/health");
        if (want(r.status, r.json())) return r.json();
        std::this_thread::sleep_for(20ms);
    } while (SteadyClock::now() < deadline);
    ADD_FAILURE() << "health never as wanted; last: HTTP " << r.status << " " << r.body;
    return r.json();
}

bool probe_in(const nlohmann::json& h, const char* state) {
    return h.is_object() && h["core"]["probe"].is_object() && h["core"]["probe"]["state"] == state;
}

double metric(const AdminClient& admin, const std::string& sample) {
    std::istringstream lines(admin.get("/metrics").body);
    for (std::string line; std::getline(lines, line);)
        if (line.rfind(sample + " ", 0) == 0) return std::stod(line.substr(sample.size() + 1));
    return -1;
}

class CoreProbeTest : public BridgeTest {
  protected:
    void start_with_core(std::uint16_t port, const std::string& extra = kFastProbe) {
        config.extra_yaml +=
            "upstream:\n  uri: coap://127.0.0.1:" + std::to_string(port) + "\n" + extra;
        start_gateway();
        admin = std::make_unique<AdminClient>(gateway.admin_url());
    }
    void start_with_simulator(coresim::Options options = {}) {
        upstream_extra = kFastProbe + upstream_extra;
        start_all(options);
        admin = std::make_unique<AdminClient>(gateway.admin_url());
    }
    std::unique_ptr<AdminClient> admin;
};

TEST_F(CoreProbeTest, ACoreThatDoesNotExistIsFailing) {
    start_with_core(free_udp_port());
    const auto h = wait_health(
        *admin,
        [](int status, const nlohmann::json& j) { return status == 503 && probe_in(j, "failing"); },
        5s);
    EXPECT_EQ(h["status"], "failing");
    EXPECT_EQ(h["core"]["reachable"], false) << "a core that does not exist is not reachable";
    EXPECT_TRUE(h["core"]["last_response_seconds_ago"].is_null());
    ASSERT_FALSE(h["reasons"].empty());
    EXPECT_THAT(h["reasons"][0].get<std::string>(), HasSubstr("core not answering"));
    EXPECT_GE(h["core"]["probe"]["missed_in_a_row"].get<int>(), 2);
    EXPECT_TRUE(h["core"]["probe"]["last_answer_seconds_ago"].is_null());
    EXPECT_EQ(metric(*admin, "lwgate_core_up"), 0);
    EXPECT_EQ(metric(*admin, "lwgate_core_probe_state{state=\"failing\"}"), 1);
    EXPECT_GE(metric(*admin, "lwgate_core_probes_total{result=\"missed\"}"), 2);
    EXPECT_EQ(metric(*admin, "lwgate_health_status{status=\"failing\"}"), 1);
    EXPECT_TRUE(gateway.wait_for_log("not answering", 1s)) << "the change is logged";
}

TEST_F(CoreProbeTest, ACoreThatAnswersWithResetsIsReachableWithoutAnyDevice) {
    start_with_simulator();
    const auto h = wait_health(
        *admin,
        [](int status, const nlohmann::json& j) { return status == 200 && probe_in(j, "ok"); }, 5s);
    EXPECT_EQ(h["status"], "ok");
    EXPECT_EQ(h["core"]["reachable"], true);
    EXPECT_GT(h["core"]["probe"]["last_rtt_seconds"].get<double>(), 0);
    EXPECT_LT(h["core"]["probe"]["last_rtt_seconds"].get<double>(), 0.2);
    EXPECT_TRUE(h["core"]["last_response_seconds_ago"].is_number());
    EXPECT_EQ(metric(*admin, "lwgate_core_up"), 1);
    EXPECT_GE(metric(*admin, "lwgate_core_probe_rtt_seconds_count"), 1);
    EXPECT_GE(metric(*admin, "lwgate_core_probe_rtt_seconds_bucket{le=\"0.25\"}"), 1);
    EXPECT_GE(metric(*admin, "lwgate_core_probes_total{result=\"answered\"}"), 1);
    std::istringstream log(gateway.log());
    for (std::string line; std::getline(log, line);) {
        if (line.find("got RST") == std::string::npos) continue;
        EXPECT_EQ(line.find("error"), std::string::npos) << "a Ping's Reset is no error: " << line;
    }
}

TEST_F(CoreProbeTest, FailingWhileTheCoreIsSilentAndOkWhenItAnswersAgain) {
    start_with_simulator();
    wait_health(
        *admin, [](int, const nlohmann::json& j) { return probe_in(j, "ok"); }, 5s);
    core.set_silent(true);
    auto h = wait_health(
        *admin,
        [](int status, const nlohmann::json& j) { return status == 503 && probe_in(j, "failing"); },
        5s);
    EXPECT_THAT(h["reasons"][0].get<std::string>(), HasSubstr("no answer within 200ms"));
    EXPECT_TRUE(h["core"]["probe"]["last_answer_seconds_ago"].is_number());
    core.set_silent(false);
    h = wait_health(
        *admin,
        [](int status, const nlohmann::json& j) { return status == 200 && probe_in(j, "ok"); }, 5s);
    EXPECT_EQ(h["core"]["probe"]["missed_in_a_row"], 0);
    EXPECT_TRUE(gateway.wait_for_log("answers CoAP Pings", 1s));
}

TEST_F(CoreProbeTest, AnEmptyAckIsAnAnswerToo) {
    UdpPeer peer(false);
    start_with_core(peer.port());
    const auto h = wait_health(
        *admin,
        [](int status, const nlohmann::json& j) { return status == 200 && probe_in(j, "ok"); }, 5s);
    EXPECT_EQ(h["core"]["reachable"], true);
    EXPECT_GE(peer.pings(), 1u);
    EXPECT_TRUE(h["core"]["probe"]["last_rtt_seconds"].is_number());
}

TEST_F(CoreProbeTest, APeerThatReadsButNeverAnswersIsFailing) {
    UdpPeer peer(true);
    start_with_core(peer.port());
    const auto h = wait_health(
        *admin,
        [](int status, const nlohmann::json& j) { return status == 503 && probe_in(j, "failing"); },
        5s);
    EXPECT_GE(peer.pings(), 2u) << "the Pings reached it";
    EXPECT_EQ(h["core"]["probe"]["last_error"], "no answer within 200ms");
}

TEST_F(CoreProbeTest, ProbeIntervalZeroTurnsItOff) {
    UdpPeer peer(false);
    start_with_core(peer.port(), "  probe_interval: 0\n");
    const auto h = admin->get("/v1/health").json();
    EXPECT_TRUE(h["core"]["probe"].is_null());
    EXPECT_EQ(h["status"], "ok");
    EXPECT_EQ(admin->get("/metrics").body.find("lwgate_core_probe"), std::string::npos);
    EXPECT_EQ(peer.pings(), 0u);
}

TEST_F(CoreProbeTest, ADtlsCoreIsPingedOverTheGatewaysOwnSession) {
    coresim::Options o;
    o.dtls = true;
    o.psk_keys["lwgate-gw"] = {1, 2, 3, 4};
    upstream_extra = "  dtls: { psk_identity: lwgate-gw, psk_key_hex: '01020304' }\n";
    start_with_simulator(o);
    const auto h = wait_health(
        *admin,
        [](int status, const nlohmann::json& j) { return status == 200 && probe_in(j, "ok"); }, 5s);
    EXPECT_EQ(h["core"]["reachable"], true);
    EXPECT_LT(h["core"]["probe"]["last_rtt_seconds"].get<double>(), 0.2)
        << "the round trip of the Ping, not of the handshake";
}

TEST_F(CoreProbeTest, ADtlsCoreWithoutAGatewayIdentityIsNotProbed) {
    coresim::Options o;
    o.dtls = true;
    start_with_simulator(o);
    EXPECT_TRUE(admin->get("/v1/health").json()["core"]["probe"].is_null());
    EXPECT_TRUE(gateway.wait_for_log("the core is not probed", 1s));
}

}  // namespace
}  // namespace lwgate::integration
