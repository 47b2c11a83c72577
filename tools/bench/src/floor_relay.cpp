#include "floor_relay.hpp"

#include <algorithm>

#include "lwgate/coap/code.hpp"

namespace lwgate::bench {

namespace {

namespace code = coap::code;

// One scratch buffer per thread for the message being built: a frame or a datagram is never
// larger than max_frame plus its header, and the sink consumes it before the next one is built.
std::uint8_t* scratch() {
    thread_local std::uint8_t buffer[FloorRelay::max_frame + 32];
    return buffer;
}
constexpr std::size_t scratch_size = FloorRelay::max_frame + 32;

bool is_request(std::uint8_t c) {
    return coap::code_class(c) == 0 && c != code::empty;
}

}  // namespace

bool FloorRelay::from_device(lite::Span bytes, Sink& sink) {
    if (partial_.empty()) {
        const long used = consume(bytes, sink);
        if (used < 0) return false;
        partial_.assign(bytes.begin() + used, bytes.end());
        return true;
    }
    partial_.insert(partial_.end(), bytes.begin(), bytes.end());
    const long used = consume(partial_, sink);
    if (used < 0) return false;
    partial_.erase(partial_.begin(), partial_.begin() + used);
    return true;
}

long FloorRelay::consume(lite::Span bytes, Sink& sink) {
    std::size_t off = 0;
    for (;;) {
        const long n = lite::tcp_frame_length(bytes.subspan(off), max_frame);
        if (n < 0) return -1;
        if (n == 0) return static_cast<long>(off);
        if (!frame_from_device(bytes.subspan(off, static_cast<std::size_t>(n)), sink)) return -1;
        off += static_cast<std::size_t>(n);
    }
}

bool FloorRelay::frame_from_device(lite::Span frame, Sink& sink) {
    const auto m = lite::parse_tcp(frame);
    if (!m) return false;
    lite::Builder b(scratch(), scratch_size);
    if (coap::code_class(m->code) == 7) {
        if (m->code == code::csm) {
            b.tcp(code::csm, lite::Span{});
        } else if (m->code == code::ping) {
            b.tcp(code::pong, m->token);
        } else if (m->code == code::abort) {
            return false;
        } else {
            return true;  // Pong, Release: nothing to answer
        }
        sink.to_device(lite::Span(scratch(), b.finish()));
        return true;
    }
    if (m->code == code::empty) return true;
    lite::Type type = lite::Type::con;
    std::uint16_t mid = 0;
    if (is_request(m->code)) {
        mid = next_mid_++;
    } else {
        const auto it = std::find_if(pending_.begin(), pending_.end(), [&](const Pending& p) {
            return std::equal(m->token.begin(), m->token.end(), p.token, p.token + p.token_len);
        });
        if (it != pending_.end()) {
            type = lite::Type::ack;
            mid = it->mid;
            pending_.erase(it);
        } else {
            type = lite::Type::non;
            mid = next_mid_++;
        }
    }
    b.udp(type, m->code, mid, m->token);
    b.encoded_body(m->body);
    const std::size_t n = b.finish();
    if (n > 0) sink.to_core(lite::Span(scratch(), n));
    return true;
}

void FloorRelay::from_core(lite::Span datagram, Sink& sink) {
    const auto m = lite::parse_udp(datagram);
    if (!m || m->type == lite::Type::rst) return;
    if (m->code == code::empty) {
        if (m->type == lite::Type::con) reply_to_core(lite::Type::rst, m->mid, sink);
        return;
    }
    if (m->type == lite::Type::con) {
        if (is_request(m->code)) {
            if (pending_.size() >= max_pending) pending_.erase(pending_.begin());
            Pending p;
            p.token_len = static_cast<std::uint8_t>(m->token.size());
            std::copy(m->token.begin(), m->token.end(), p.token);
            p.mid = m->mid;
            pending_.push_back(p);
        } else {
            reply_to_core(lite::Type::ack, m->mid, sink);  // a separate response
        }
    }
    lite::Builder b(scratch(), scratch_size);
    b.tcp(m->code, m->token);
    b.encoded_body(m->body);
    const std::size_t n = b.finish();
    if (n > 0) sink.to_device(lite::Span(scratch(), n));
}

void FloorRelay::reply_to_core(lite::Type type, std::uint16_t mid, Sink& sink) {
    std::uint8_t empty[4];
    lite::Builder b(empty, sizeof empty);
    b.udp(type, code::empty, mid, lite::Span{});
    sink.to_core(lite::Span(empty, b.finish()));
}

}  // namespace lwgate::bench
