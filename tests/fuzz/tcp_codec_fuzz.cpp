// libFuzzer target for the RFC 8323 codec.
//
// Input layout: byte 0 selects the chunk pattern, the rest is the TCP byte stream. The stream is
// decoded twice, once in chunks and once whole; both must agree, so split handling is checked on
// every input. Every decoded message must survive encode -> decode unchanged, and class-7
// messages go through the signaling parser.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "lwgate/coap/signaling.hpp"
#include "lwgate/coap/tcp_codec.hpp"

namespace {

using namespace lwgate::coap;

constexpr std::size_t max_message = 4096;
constexpr std::uint64_t skip_limit = 1u << 20;

void require(bool condition) {
    if (!condition) std::abort();
}

struct Outcome {
    std::vector<DecodeResult> results;
    std::size_t consumed = 0;
    bool failed = false;
    bool idle = false;
};

// chunk_pattern selects chunk sizes cycling through 1, 2, 3 ... so that splits land everywhere;
// 0 means the whole stream at once.
Outcome decode(ByteView stream, std::uint8_t chunk_pattern) {
    TcpDecoder decoder(max_message, skip_limit);
    Outcome out;
    std::size_t pos = 0;
    std::size_t turn = 0;
    while (pos < stream.size()) {
        std::size_t chunk = stream.size() - pos;
        if (chunk_pattern != 0) {
            const unsigned bits = (chunk_pattern >> (2 * (turn++ % 4))) & 3;
            chunk = std::min<std::size_t>(chunk, bits == 3 ? 64 + chunk_pattern : bits + 1);
        }
        ByteView piece = stream.subspan(pos, chunk);
        pos += chunk;
        while (!piece.empty()) {
            DecodeStep step = decoder.feed(piece);
            require(step.consumed <= piece.size());
            out.consumed += step.consumed;
            if (step.result) out.results.push_back(std::move(*step.result));
            if (step.consumed == 0) {
                require(!step.result && decoder.failed());
                break;
            }
            piece = piece.subspan(step.consumed);
        }
    }
    out.failed = decoder.failed();
    out.idle = decoder.idle();
    return out;
}

void check_round_trip(const Message& message) {
    const Bytes wire = encode(message);
    require(wire.size() == encoded_size(message));
    Bytes appended{0x5a};
    encode_into(message, appended);
    require(appended.size() == wire.size() + 1 &&
            std::equal(wire.begin(), wire.end(), appended.begin() + 1));

    TcpDecoder decoder(wire.size(), skip_limit);
    const DecodeStep step = decoder.feed(wire);
    require(step.consumed == wire.size() && step.result.has_value() && decoder.idle());
    const Message* again = std::get_if<Message>(&*step.result);
    require(again != nullptr && *again == message);
}

void check_signal(const Message& message) {
    const auto parsed = parse_signal(message);
    if (const auto* signal = std::get_if<Signal>(&parsed)) {
        if (const auto* csm = std::get_if<Csm>(signal)) {
            PeerCapabilities caps;
            caps.apply(*csm);
            require(caps.block_wise_transfer == csm->block_wise_transfer);
            const auto rebuilt =
                parse_signal(make_csm(caps.max_message_size, caps.block_wise_transfer));
            require(std::holds_alternative<Signal>(rebuilt));
        } else if (std::holds_alternative<Ping>(*signal)) {
            const Message pong = make_pong(message);
            require(pong.token() == message.token());
            const auto parsed_pong = parse_signal(pong);
            require(std::holds_alternative<Signal>(parsed_pong));
        }
    } else {
        const auto& error = std::get<SignalError>(parsed);
        require(error.error.category() == codec_category());
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const ByteView stream(data + 1, size - 1);

    const Outcome chunked = decode(stream, data[0]);
    const Outcome whole = decode(stream, 0);
    require(chunked.results == whole.results);
    require(chunked.consumed == whole.consumed && chunked.failed == whole.failed &&
            chunked.idle == whole.idle);
    require(whole.failed || whole.consumed == stream.size());

    for (const DecodeResult& result : whole.results) {
        if (const auto* failure = std::get_if<DecodeFailure>(&result)) {
            require(failure->fatal != failure->has_header);
            continue;
        }
        const Message& message = std::get<Message>(result);
        check_round_trip(message);
        if (is_signaling(message.code())) check_signal(message);
    }
    return 0;
}
