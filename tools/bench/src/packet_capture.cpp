#include "packet_capture.hpp"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "loopback_address.hpp"
#include "lwgate/harness/process.hpp"

namespace lwgate::bench {
namespace {

// A bound UDP socket for the end-of-capture marker (bound, so the marker meets no ICMP answer).
int bind_marker_socket(std::uint16_t& port) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    auto addr = loopback_address(0);
    socklen_t len = sizeof addr;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
        throw std::runtime_error("capture: no marker socket");
    port = ntohs(addr.sin_port);
    return fd;
}

// One line per packet: time, IP length, UDP destination port, DTLS content types ("21,21").
std::vector<std::string> tshark_command(const std::string& filter, std::uint16_t marker_port,
                                        std::uint16_t dtls_port) {
    std::vector<std::string> argv{
        "tshark", "-l", "-i",
        "lo",     "-f", "(" + filter + ") or (udp dst port " + std::to_string(marker_port) + ")"};
    if (dtls_port != 0) {
        argv.push_back("-d");
        argv.push_back("udp.port==" + std::to_string(dtls_port) + ",dtls");
    }
    argv.insert(argv.end(),
                {"-T", "fields", "-E", "occurrence=a", "-e", "frame.time_relative", "-e", "ip.len",
                 "-e", "udp.dstport", "-e", "dtls.record.content_type"});
    return argv;
}

}  // namespace

bool tshark_available() {
    return harness::program_exists("tshark");
}

PacketCapture::PacketCapture(const std::filesystem::path& dir, const std::string& name,
                             const std::string& filter, std::uint16_t dtls_port)
    : marker_fd_(bind_marker_socket(marker_port_)),
      tshark_(tshark_command(filter, marker_port_, dtls_port), dir / (name + ".tshark.log")) {
    tshark_.wait_for_output("Capturing on", std::chrono::seconds(30));
    // tshark says so before its capture filter runs: the first marker says it does.
    send_marker(1);
}

// A datagram of `size` bytes to the marker port, sent until tshark printed it (IP length
// 28 + size): the first may go out before the capture runs.
void PacketCapture::send_marker(std::size_t size) {
    const auto marker = loopback_address(marker_port_);
    const char bytes[2] = {};
    const std::string printed =
        "\t" + std::to_string(28 + size) + "\t" + std::to_string(marker_port_) + "\t";
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (tshark_.log().find(printed) == std::string::npos) {
        if (std::chrono::steady_clock::now() > until)
            throw std::runtime_error("tshark does not capture: " + tshark_.log());
        ::sendto(marker_fd_, bytes, size, 0, reinterpret_cast<const sockaddr*>(&marker),
                 sizeof marker);
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

PacketCapture::~PacketCapture() {
    ::close(marker_fd_);
}

// tshark prints a packet once it has it, but may not have it yet when the traffic ends: a
// second marker, sent last, says every packet before it is in. What came between the markers is
// the capture.
std::vector<CapturedPacket> PacketCapture::stop() {
    send_marker(2);
    tshark_.stop(SIGINT);
    std::vector<CapturedPacket> packets;
    std::istringstream lines(tshark_.log());
    bool started = false;
    for (std::string line; std::getline(lines, line);) {
        std::istringstream fields(line);
        CapturedPacket p;
        std::string port;
        std::string content_types;
        if (!(fields >> p.seconds >> p.ip_bytes)) continue;  // tshark's own messages
        fields >> port >> content_types;
        if (port == std::to_string(marker_port_)) {
            if (p.ip_bytes == 28 + 2) break;  // the end
            started = true;                   // the start, maybe sent more than once
            continue;
        }
        if (!started) continue;
        p.dtls_alert_only = content_types.find("21") != std::string::npos &&
                            content_types.find_first_not_of("21,") == std::string::npos;
        packets.push_back(p);
    }
    return packets;
}

std::vector<std::uint64_t> bytes_per_burst(const std::vector<CapturedPacket>& packets,
                                           double gap_seconds) {
    std::vector<std::uint64_t> bursts;
    double last = 0;
    for (const auto& p : packets) {
        if (bursts.empty() || p.seconds - last > gap_seconds) bursts.push_back(0);
        bursts.back() += p.ip_bytes;
        last = p.seconds;
    }
    return bursts;
}

}  // namespace lwgate::bench
