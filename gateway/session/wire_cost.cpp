#include "session/wire_cost.hpp"

#include <chrono>

namespace lwgate::session {

std::uint64_t estimate_wire_bytes(const KeepaliveTraffic& traffic, std::uint32_t record_overhead) {
    const std::uint64_t frames = traffic.frames_in + traffic.frames_out;
    const std::uint64_t exchanges = (frames + 1) / 2;  // a Ping still waiting counts as one
    return traffic.bytes_in + traffic.bytes_out + frames * (tcp_ip_header_bytes + record_overhead) +
           exchanges * tcp_ip_header_bytes;
}

std::uint64_t idle_wire_bytes_per_day(Duration idle, std::uint32_t ping_frame,
                                      std::uint32_t pong_frame, std::uint32_t record_overhead) {
    const auto idle_ms = std::chrono::duration_cast<std::chrono::milliseconds>(idle).count();
    if (idle_ms <= 0) return 0;
    constexpr std::uint64_t day_ms = 86'400'000;
    const KeepaliveTraffic one{1, 1, pong_frame, ping_frame};
    return estimate_wire_bytes(one, record_overhead) * day_ms / static_cast<std::uint64_t>(idle_ms);
}

}  // namespace lwgate::session
