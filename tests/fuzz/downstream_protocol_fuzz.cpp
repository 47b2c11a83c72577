// Drives DownstreamProtocol with arbitrary input chunks and clock ticks. Checks that nothing
// crashes, that every byte the gateway would send decodes as valid frames, and that nothing is
// processed after a close was decided.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "lwgate/coap/tcp_codec.hpp"
#include "session/downstream_protocol.hpp"

using namespace lwgate;

namespace {

void check_output(const coap::Bytes& out) {
    coap::TcpDecoder decoder(1 << 24);
    coap::ByteView in(out);
    while (!in.empty()) {
        auto step = decoder.feed(in);
        in = in.subspan(step.consumed);
        if (step.result && !std::holds_alternative<coap::Message>(*step.result)) std::abort();
        if (step.consumed == 0 && !step.result) std::abort();
    }
    if (!decoder.idle()) std::abort();  // we never emit a partial frame
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    session::ProtocolParams params;
    params.max_message_size = 1152 + data[0] * 16;
    params.keepalive.csm_strict = (data[1] & 1) != 0;
    params.keepalive.idle = std::chrono::milliseconds(1000);
    params.keepalive.pong_timeout = std::chrono::milliseconds(500);
    params.keepalive.max_missed = 1 + (data[1] >> 6);
    TimePoint now{};
    session::DownstreamProtocol protocol(params, now);
    protocol.start(now);
    std::span<const std::uint8_t> in(data + 2, size - 2);
    while (!in.empty()) {
        // Each chunk: one control byte (chunk length / tick), then that many bytes.
        const std::uint8_t control = in[0];
        in = in.subspan(1);
        now += std::chrono::milliseconds(control & 0x80 ? 700 : 1);
        protocol.on_tick(now);
        const std::size_t n = std::min<std::size_t>(in.size(), (control & 0x7f) + 1);
        const bool closed_before = protocol.close_decision().has_value();
        protocol.on_bytes(in.first(n), now);
        if (closed_before && protocol.has_inbound()) std::abort();
        in = in.subspan(n);
        for (auto& m : protocol.take_inbound()) {
            if (coap::is_request(m.code())) {
                coap::Message response(coap::code::service_unavailable, m.token());
                protocol.send(response);
            }
        }
        check_output(protocol.take_output());
    }
    return 0;
}
