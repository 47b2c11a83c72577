// Interoperability with a real third-party peer: Debian's libcoap 4.3.1 `coap-client-openssl`
// over coap+tcp (a coap+tcp:// URI implies reliable transport; -r is not needed).
//
// With -v 7 coap-client logs every PDU it sends and receives:
//   ... DEBG *  127.0.0.1:36705 <-> 127.0.0.1:40469 TCP : received 33 bytes
//   v:1 t:CON c:Pong i:0000 {} [ ]
//   v:1 t:CON c:4.03 i:0000 {03} [ ] :: 'no LwM2M registration on this connection'
// parse_pdus() attributes each PDU line to the last "sent"/"received" log line before it.
#include <sstream>

#include "gateway_fixture.hpp"

namespace lwgate::integration {
namespace {

constexpr const char* kCoapClient = "coap-client-openssl";

struct Pdus {
    std::vector<std::string> sent;
    std::vector<std::string> received;
};

Pdus parse_pdus(const std::string& output) {
    Pdus pdus;
    enum { other, sent, received } mode = other;
    std::istringstream lines(output);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.rfind("v:1 ", 0) == 0) {
            if (mode == sent) pdus.sent.push_back(line);
            if (mode == received) pdus.received.push_back(line);
        } else if (line.find(" : received ") != std::string::npos) {
            mode = received;
        } else if (line.find(" : sent ") != std::string::npos) {
            mode = sent;
        } else if (!line.empty()) {
            mode = other;  // e.g. "PDU presented by app": not on the wire yet
        }
    }
    return pdus;
}

std::size_t count_code(const std::vector<std::string>& pdus, std::string_view code_text) {
    const std::string needle = "c:" + std::string(code_text) + " ";
    std::size_t n = 0;
    for (const auto& p : pdus)
        n += p.find(needle) != std::string::npos;
    return n;
}

// PDUs that are responses (class 2..5), whatever the code: which code a plain CoAP GET gets is
// the bridge's business; here it only matters that every request is answered.
std::size_t count_responses(const std::vector<std::string>& pdus) {
    std::size_t n = 0;
    for (const auto& p : pdus) {
        const auto at = p.find(" c:");
        if (at == std::string::npos || at + 5 >= p.size()) continue;
        const char cls = p[at + 3];
        n += cls >= '2' && cls <= '5' && p[at + 4] == '.';
    }
    return n;
}

std::string dump(const harness::ProcessResult& r) {
    return "exit=" + std::to_string(r.exit_code) + "\n--- stdout ---\n" + r.out +
           "--- stderr ---\n" + r.err;
}

class CoapClientTest : public GatewayTest {
  protected:
    void SetUp() override {
        if (!harness::program_exists(kCoapClient)) {
            GTEST_SKIP() << kCoapClient << " not installed (Debian package libcoap3-bin)";
        }
        config.max_message_size = "2048";
    }

    std::string uri() const {
        return "coap+tcp://127.0.0.1:" + std::to_string(gateway.port()) + "/x";
    }
};

// Every GET is answered (an error response: a plain CoAP client carries no LwM2M registration);
// coap-client sees our CSM with the configured Max-Message-Size, and its Pings (-K 1) get our
// Pongs.
TEST_F(CoapClientTest, GetIsAnsweredAndClientSeesOurCsmAndPongs) {
    start_gateway();
    // -G 3 repeats the GET once a second, keeping the connection up for ~2 s; -K 1 makes the
    // client Ping after 1 s without traffic. Whether libcoap's Ping timer or its repeat timer
    // fires first at each 1 s mark is a millisecond race inside coap-client, so a run in which
    // the client sent no Ping says nothing about us and is repeated (at most 4 runs). Every
    // Ping that was sent must have been answered.
    harness::ProcessResult r;
    Pdus pdus;
    for (int attempt = 0; attempt < 4; ++attempt) {
        r = harness::run_process({kCoapClient, "-v", "7", "-K", "1", "-G", "3", uri()}, 15s);
        ASSERT_FALSE(r.timed_out) << dump(r);
        ASSERT_EQ(r.exit_code, 0) << dump(r);
        pdus = parse_pdus(r.out + r.err);
        if (count_code(pdus.sent, "Ping") > 0) break;
    }
    const std::string output = dump(r);
    EXPECT_EQ(count_responses(pdus.received), 3u) << output;

    ASSERT_GE(count_code(pdus.received, "CSM"), 1u) << output;
    EXPECT_NE(pdus.received.front().find("c:CSM"), std::string::npos)
        << "our CSM must be the first PDU the client receives\n"
        << output;
    EXPECT_NE(pdus.received.front().find("Max-Message-Size:2048"), std::string::npos) << output;
    EXPECT_NE(pdus.received.front().find("Block-Wise-Transfer"), std::string::npos) << output;

    const auto pings_sent = count_code(pdus.sent, "Ping");
    ASSERT_GE(pings_sent, 1u) << "coap-client never sent a Ping in 4 runs\n" << output;
    EXPECT_EQ(count_code(pdus.received, "Pong"), pings_sent) << output;
    EXPECT_EQ(gateway.count_in_log("reason=half_open"), 0u);
}

// The gateway's idle is short: it Pings the client between its requests; libcoap answers (its
// Pongs lack the token, any received byte is life) and the connection is never declared
// half-open.
TEST_F(CoapClientTest, GatewayPingsIdleClientWhichStaysConnected) {
    config.keepalive_idle = "300ms";
    config.pong_timeout = "300ms";
    config.max_missed = 1;
    config.log_level = "debug";
    start_gateway();
    const auto r = harness::run_process({kCoapClient, "-v", "7", "-G", "3", uri()}, 15s);
    const std::string output = dump(r);
    ASSERT_FALSE(r.timed_out) << output;
    EXPECT_EQ(r.exit_code, 0) << output;
    const auto pdus = parse_pdus(r.out + r.err);
    EXPECT_EQ(count_responses(pdus.received), 3u) << "all requests answered on one connection\n"
                                                  << output;
    // ~1 s gaps between requests, 300 ms idle: at least one Ping per gap.
    const auto pings = count_code(pdus.received, "Ping");
    EXPECT_GE(pings, 2u) << output;
    EXPECT_EQ(count_code(pdus.sent, "Pong"), pings) << "libcoap answers every Ping\n" << output;

    // The client closed the connection itself at the end.
    EXPECT_TRUE(gateway.wait_for_log("reason=peer_closed", 2s));
    EXPECT_EQ(gateway.count_in_log("reason=half_open"), 0u);
    EXPECT_EQ(gateway.count_in_log("closed reason="), 1u) << "exactly one connection, one close";
}

}  // namespace
}  // namespace lwgate::integration
