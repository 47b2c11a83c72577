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
    double seconds = 0;  // since tshark's first packet
    std::uint32_t ip_bytes = 0;
    bool dtls_alert_only = false;  // a datagram of DTLS alerts only (a close_notify)
};

class PacketCapture {
  public:
    // Starts `tshark -i lo -f FILTER`, printing each packet's time and IP length into
    // DIR/NAME.tshark.log, and waits until it captures. Throws std::runtime_error (with tshark's
    // output) when it cannot.
    // `dtls_port`: UDP to or from this port is decoded as DTLS (for dtls_alert_only).
    PacketCapture(const std::filesystem::path& dir, const std::string& name,
                  const std::string& filter, std::uint16_t dtls_port = 0);
    ~PacketCapture();
    PacketCapture(const PacketCapture&) = delete;
    PacketCapture& operator=(const PacketCapture&) = delete;

    // Stops the capture (SIGINT: tshark writes what it holds) and reads the packets back.
    std::vector<CapturedPacket> stop();

  private:
    void send_marker(std::size_t size);

    std::uint16_t marker_port_ = 0;  // before marker_fd_: its initialiser sets the port
    int marker_fd_ = -1;
    BackgroundProcess tshark_;  // its log holds the packets, one line each
};

// Whether tshark is installed.
bool tshark_available();

// Packets split where the line was silent for longer than `gap`: one group per exchange when the
// exchanges are further apart than `gap` and each is quicker than it.
std::vector<std::uint64_t> bytes_per_burst(const std::vector<CapturedPacket>& packets,
                                           double gap_seconds);

}  // namespace lwgate::bench
