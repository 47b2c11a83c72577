// Reading a device's byte stream with the project's codec (coap::TcpDecoder).
#pragma once

#include <cstddef>
#include <utility>

#include "lwgate/coap/tcp_codec.hpp"

namespace lwgate::device {

// Feeds `bytes` to `decoder` and hands each completed frame (or failure) to
// `on_frame(coap::DecodeResult&&)`, which returns false to stop there. Returns the bytes consumed;
// the decoder keeps a partial frame itself, so only a stop leaves bytes unconsumed.
template <class OnFrame>
std::size_t decode_frames(coap::TcpDecoder& decoder, coap::ByteView bytes, OnFrame&& on_frame) {
    std::size_t used = 0;
    while (used < bytes.size()) {
        auto step = decoder.feed(bytes.subspan(used));
        used += step.consumed;
        if (step.result) {
            if (!on_frame(std::move(*step.result))) break;
        } else if (step.consumed == 0) {
            break;
        }
    }
    return used;
}

}  // namespace lwgate::device
