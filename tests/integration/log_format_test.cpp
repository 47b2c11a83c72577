// The log as operators consume it (log.format, gateway/log): one JSON object per line whose
// fields name the endpoint and the connection, and under systemd (stderr is the journal) the
// syslog priority of every line, which journald keeps so that `journalctl -p warning` filters.
#include <nlohmann/json.hpp>

#include <sstream>

#include "bridge_fixture.hpp"

namespace lwgate::integration {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        out.push_back(line);
    return out;
}

class JsonLogTest : public BridgeTest {};

TEST_F(JsonLogTest, EveryLineIsAnObjectAndACloseNamesItsEndpointAndConnection) {
    config.log_format = "json";
    start_all();
    auto device = registered_device("urn:imei:500");
    const auto port = device->local_port();
    device->disconnect();
    ASSERT_TRUE(gateway.wait_for_log("\"reason\":\"peer_closed\"", 5s)) << gateway.log();

    bool close_seen = false;
    for (const auto& line : lines_of(gateway.log())) {
        const auto j = nlohmann::json::parse(line, nullptr, false);
        ASSERT_FALSE(j.is_discarded()) << "not JSON: " << line;
        ASSERT_TRUE(j.is_object()) << line;
        EXPECT_TRUE(j["ts"].is_string() && j["level"].is_string() && j["msg"].is_string() &&
                    j["thread"].is_number())
            << line;
        if (j["msg"] != "closed" || j.value("reason", "") != "peer_closed") continue;
        close_seen = true;
        EXPECT_EQ(j["endpoint"], "urn:imei:500") << line;
        EXPECT_TRUE(j["conn"].is_number_unsigned()) << line;
        EXPECT_EQ(j["remote"], "127.0.0.1:" + std::to_string(port)) << line;
        EXPECT_EQ(j["transport"], "tcp") << line;
        EXPECT_EQ(j["level"], "debug") << line;
        EXPECT_TRUE(j["shard"].is_number_unsigned()) << "logged on a shard's thread: " << line;
        const auto ts = j["ts"].get<std::string>();
        ASSERT_GE(ts.size(), 29u) << ts;  // 2024-05-01T12:00:00.123+02:00
        EXPECT_EQ(ts[10], 'T') << ts;
        EXPECT_EQ(ts[19], '.') << ts;
        EXPECT_TRUE(ts[23] == '+' || ts[23] == '-') << ts;
        EXPECT_EQ(ts[26], ':') << ts;
    }
    EXPECT_TRUE(close_seen) << gateway.log();
}

class JournalTest : public GatewayTest {
  protected:
    // lwgate with JOURNAL_STREAM naming its stderr, as systemd sets it for a service whose
    // stderr is the journal (StandardError=journal).
    void start_as_journal_service() {
        options.wrapper = {"/bin/sh", "-c",
                           "export JOURNAL_STREAM=$(stat -L -c %d:%i /dev/stderr); exec \"$@\"",
                           "sh"};
        start_gateway();
    }
};

TEST_F(JournalTest, UnderSystemdEveryLineStartsWithItsSyslogPriority) {
    start_as_journal_service();
    DeviceClient device = connect_ready();
    device.close();
    ASSERT_TRUE(gateway.stop(10s).has_value());
    const auto lines = lines_of(gateway.log());
    ASSERT_FALSE(lines.empty());
    std::size_t warnings = 0, infos = 0;
    for (const auto& line : lines) {
        ASSERT_GE(line.size(), 3u) << line;
        ASSERT_EQ(line[0], '<') << "no priority: " << line;
        ASSERT_EQ(line[2], '>') << line;
        if (line.find(" stopping: SIGTERM received") != std::string::npos) {
            EXPECT_EQ(line.substr(0, 3), "<4>") << line;  // warning
            ++warnings;
        }
        if (line.find(" listening on ") != std::string::npos) {
            EXPECT_EQ(line.substr(0, 3), "<6>") << line;  // info
            ++infos;
        }
    }
    EXPECT_EQ(warnings, 1u) << gateway.log();
    EXPECT_GE(infos, 1u) << gateway.log();
}

// The variable alone (inherited by a process whose stderr went elsewhere) changes nothing.
TEST_F(JournalTest, AJournalStreamThatIsNotStderrAddsNoPriority) {
    options.extra_env = {"JOURNAL_STREAM=1:1"};
    start_gateway();
    ASSERT_TRUE(gateway.stop(10s).has_value());
    for (const auto& line : lines_of(gateway.log()))
        EXPECT_NE(line.rfind("<", 0), 0u) << line;
}

}  // namespace
}  // namespace lwgate::integration
