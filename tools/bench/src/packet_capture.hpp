// A capture on the loopback interface with tshark (Debian `tshark`), for measuring what a
// protocol costs on the wire: the IP packets that matched a capture filter, with their times.
// Loopback carries no Ethernet on the wire, so what is counted is each packet's IP length
// (headers included), what a cellular link carries before its own framing.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "background_process.hpp"

namespace lwgate::bench {

struct CapturedPacket {
    double seconds = 0;  // since the first packet
    std::uint32_t ip_bytes = 0;
};

class PacketCapture {
  public:
    // Starts `tshark -i lo -f FILTER -w DIR/NAME.pcapng` and waits until it captures. Throws
    // std::runtime_error (with tshark's output) when it cannot.
    PacketCapture(const std::filesystem::path& dir, const std::string& name,
                  const std::string& filter);

    // Stops the capture (SIGINT: tshark writes what it holds) and reads the packets back.
    std::vector<CapturedPacket> stop();

  private:
    std::filesystem::path file_;
    BackgroundProcess tshark_;
};

// Whether tshark is installed.
bool tshark_available();

// Packets split where the line was silent for longer than `gap`: one group per exchange when the
// exchanges are further apart than `gap` and each is quicker than it.
std::vector<std::uint64_t> bytes_per_burst(const std::vector<CapturedPacket>& packets,
                                           double gap_seconds);

}  // namespace lwgate::bench
