// CoAP Pings at the core simulator (lwgate's core check sends them): answered with a Reset,
// counted apart from the LwM2M messages, dropped unanswered while silent.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <thread>

#include "lwgate/coresim/core_simulator.hpp"

namespace lwgate::coresim {
namespace {

using namespace std::chrono_literals;

// A UDP socket connected to the simulator that sends empty CONs and reads what comes back.
class Pinger {
  public:
    explicit Pinger(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_DGRAM, 0)) {
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    }
    ~Pinger() { ::close(fd_); }
    // The answer's first byte (type in bits 4-5), or nullopt after `timeout`.
    std::optional<std::uint8_t> ping(std::uint16_t mid, std::chrono::milliseconds timeout) {
        const std::uint8_t con[4] = {0x40, 0x00, static_cast<std::uint8_t>(mid >> 8),
                                     static_cast<std::uint8_t>(mid)};
        if (::send(fd_, con, sizeof con, 0) != 4) return std::nullopt;
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
        std::uint8_t answer[64];
        const auto n = ::recv(fd_, answer, sizeof answer, 0);
        if (n != 4 || answer[2] != con[2] || answer[3] != con[3]) return std::nullopt;
        return answer[0];
    }

  private:
    int fd_;
};

// The simulator's counters move on its own thread: poll them against a deadline.
template <class F>
bool eventually(F done) {
    const auto deadline = std::chrono::steady_clock::now() + 2s;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(10ms);
    }
    return true;
}

TEST(CoreSimulatorPing, APingGetsAResetAndIsNoLwm2mMessage) {
    CoreSimulator core;
    core.start();
    Pinger pinger(core.port());
    // Sent again when unanswered, as a CoAP client retransmits a CON: on a loaded machine the
    // simulator's thread may not run within the first wait.
    std::optional<std::uint8_t> answer;
    int sent = 0;
    while (!answer && sent < 3) {
        answer = pinger.ping(0x1234, 2s);
        ++sent;
    }
    ASSERT_TRUE(answer);
    EXPECT_EQ(*answer, 0x70) << "version 1, Reset, no token";
    EXPECT_TRUE(eventually([&] { return core.pings_received() >= 1; }));
    EXPECT_LE(core.pings_received(), static_cast<std::uint64_t>(sent));
    EXPECT_EQ(core.messages_received(), 0u);
}

TEST(CoreSimulatorPing, ASilentCoreDropsPingsAndCountsThem) {
    CoreSimulator core;
    core.start();
    core.set_silent(true);
    Pinger pinger(core.port());
    EXPECT_FALSE(pinger.ping(7, 300ms));
    EXPECT_TRUE(eventually([&] { return core.pings_received() == 1; }));
    EXPECT_EQ(core.messages_received(), 0u);
}

}  // namespace
}  // namespace lwgate::coresim
