#include "packet_capture.hpp"

#include <signal.h>

#include <chrono>
#include <sstream>
#include <stdexcept>

#include "lwgate/harness/process.hpp"

namespace lwgate::bench {

bool tshark_available() {
    return harness::program_exists("tshark");
}

PacketCapture::PacketCapture(const std::filesystem::path& dir, const std::string& name,
                             const std::string& filter)
    : file_(dir / (name + ".pcapng")),
      tshark_({"tshark", "-i", "lo", "-f", filter, "-w", file_.string()},
              dir / (name + ".tshark.log")) {
    tshark_.wait_for_output("Capturing on", std::chrono::seconds(30));
}

std::vector<CapturedPacket> PacketCapture::stop() {
    tshark_.stop(SIGINT);  // tshark writes what it holds and ends
    const auto r = harness::run_process({"tshark", "-r", file_.string(), "-T", "fields", "-e",
                                         "frame.time_relative", "-e", "ip.len"},
                                        std::chrono::seconds(60));
    if (r.exit_code != 0) throw std::runtime_error("tshark -r: " + r.err);
    std::vector<CapturedPacket> packets;
    std::istringstream lines(r.out);
    CapturedPacket p;
    while (lines >> p.seconds >> p.ip_bytes)
        packets.push_back(p);
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
