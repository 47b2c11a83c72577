// Beside lwgate's codec (include/lwgate/coap) because the load generator must not allocate.
#include "coap_lite.hpp"

#include <algorithm>
#include <cstring>

#include "lwgate/coap/message.hpp"

namespace lwgate::bench::lite {

namespace detail {

bool next_option(const std::uint8_t*& p, const std::uint8_t* end, std::uint16_t& number,
                 Span& value) {
    if (p >= end || *p == 0xff) return false;
    const unsigned delta_nibble = *p >> 4;
    const unsigned len_nibble = *p & 0x0f;
    ++p;
    auto extended = [&](unsigned nibble, std::uint32_t& out) {
        if (nibble < 13) {
            out = nibble;
        } else if (nibble == 13) {
            if (p >= end) return false;
            out = 13u + *p++;
        } else if (nibble == 14) {
            if (end - p < 2) return false;
            out = 269u + ((static_cast<std::uint32_t>(p[0]) << 8) | p[1]);
            p += 2;
        } else {
            return false;
        }
        return true;
    };
    std::uint32_t delta = 0;
    std::uint32_t length = 0;
    if (!extended(delta_nibble, delta) || !extended(len_nibble, length)) return false;
    if (static_cast<std::uint32_t>(end - p) < length || number + delta > 0xffff) return false;
    number = static_cast<std::uint16_t>(number + delta);
    value = Span(p, length);
    p += length;
    return true;
}

}  // namespace detail

bool parse_body(Span body, MessageView& out) {
    out.body = body;
    const std::uint8_t* p = body.data();
    const std::uint8_t* end = p + body.size();
    std::uint16_t number = 0;
    Span value;
    while (p < end && *p != 0xff) {
        if (!detail::next_option(p, end, number, value)) return false;
    }
    out.options = Span(body.data(), static_cast<std::size_t>(p - body.data()));
    if (p < end) {  // payload marker
        ++p;
        if (p == end) return false;  // a marker without payload is a format error
        out.payload = Span(p, static_cast<std::size_t>(end - p));
    } else {
        out.payload = {};
    }
    return true;
}

std::optional<OptionView> MessageView::find(std::uint16_t wanted) const {
    std::optional<OptionView> found;
    for_each_option([&](const OptionView& o) {
        if (!found && o.number == wanted) found = o;
    });
    return found;
}

std::optional<std::uint32_t> MessageView::uint_option(std::uint16_t number) const {
    auto o = find(number);
    if (!o || o->value.size() > 4) return std::nullopt;
    std::uint32_t v = 0;
    for (auto b : o->value)
        v = (v << 8) | b;
    return v;
}

std::uint64_t MessageView::token_u64() const {
    std::uint64_t v = 0;
    for (auto b : token)
        v = (v << 8) | b;
    return v;
}

std::optional<MessageView> parse_udp(Span d) {
    if (d.size() < 4 || (d[0] >> 6) != 1) return std::nullopt;
    MessageView m;
    m.type = static_cast<Type>((d[0] >> 4) & 3);
    const unsigned tkl = d[0] & 0x0f;
    m.code = d[1];
    m.mid = static_cast<std::uint16_t>((d[2] << 8) | d[3]);
    if (tkl > 8 || d.size() < 4 + tkl) return std::nullopt;
    m.token = d.subspan(4, tkl);
    if (!parse_body(d.subspan(4 + tkl), m)) return std::nullopt;
    return m;
}

namespace {
struct TcpHeader {
    std::size_t header = 0;  // bytes before the token (length byte, ext length, code)
    std::uint64_t len = 0;   // options + marker + payload
    unsigned tkl = 0;
};
// 0: need more, -1: broken, 1: ok.
int tcp_header(Span in, TcpHeader& h) {
    if (in.empty()) return 0;
    const unsigned nibble = in[0] >> 4;
    h.tkl = in[0] & 0x0f;
    if (h.tkl > 8) return -1;
    const std::size_t ext = nibble < 13 ? 0 : nibble == 13 ? 1 : nibble == 14 ? 2 : 4;
    if (in.size() < 1 + ext + 1) return 0;
    std::uint64_t e = 0;
    for (std::size_t i = 0; i < ext; ++i)
        e = (e << 8) | in[1 + i];
    h.len = nibble < 13 ? nibble : nibble == 13 ? e + 13 : nibble == 14 ? e + 269 : e + 65805;
    h.header = 1 + ext + 1;
    return 1;
}
}  // namespace

long tcp_frame_length(Span in, std::size_t max_size) {
    TcpHeader h;
    const int r = tcp_header(in, h);
    if (r <= 0) return r;
    const std::uint64_t total = h.header + h.tkl + h.len;
    if (total > max_size) return -1;
    return in.size() >= total ? static_cast<long>(total) : 0;
}

std::optional<MessageView> parse_tcp(Span frame) {
    TcpHeader h;
    if (tcp_header(frame, h) != 1 || frame.size() < h.header + h.tkl + h.len) return std::nullopt;
    MessageView m;
    m.code = frame[h.header - 1];
    m.token = frame.subspan(h.header, h.tkl);
    if (!parse_body(frame.subspan(h.header + h.tkl, h.len), m)) return std::nullopt;
    return m;
}

// ---- Builder ----------------------------------------------------------------------------------

namespace {
constexpr std::size_t tcp_header_reserve = 6 + 8;  // len byte + 4 ext + code, token

unsigned token_bytes(std::uint64_t token, std::uint8_t out[8]) {
    unsigned n = 0;
    for (std::uint64_t t = token; t != 0; t >>= 8)
        ++n;
    for (unsigned i = 0; i < n; ++i)
        out[i] = static_cast<std::uint8_t>(token >> (8 * (n - 1 - i)));
    return n;
}
}  // namespace

void Builder::put(const void* data, std::size_t size) {
    if (len_ + size > cap_) {
        overflow_ = true;
        return;
    }
    if (size > 0) std::memcpy(buf_ + len_, data, size);  // data may be null when size is 0
    len_ += size;
}

void Builder::udp(Type type, std::uint8_t code, std::uint16_t mid, std::uint64_t token) {
    std::uint8_t t[8];
    udp(type, code, mid, Span(t, token_bytes(token, t)));
}

void Builder::tcp(std::uint8_t code, std::uint64_t token) {
    std::uint8_t t[8];
    tcp(code, Span(t, token_bytes(token, t)));
}

void Builder::udp(Type type, std::uint8_t code, std::uint16_t mid, Span token) {
    tcp_ = false;
    len_ = 0;
    last_option_ = 0;
    overflow_ = false;
    token_len_ = static_cast<std::uint8_t>(std::min<std::size_t>(token.size(), 8));
    std::copy_n(token.data(), token_len_, token_);  // an empty span's data() may be null
    const std::uint8_t head[4] = {
        static_cast<std::uint8_t>(0x40 | (static_cast<unsigned>(type) << 4) | token_len_), code,
        static_cast<std::uint8_t>(mid >> 8), static_cast<std::uint8_t>(mid)};
    put(head, 4);
    put(token_, token_len_);
    body_start_ = len_;
}

void Builder::tcp(std::uint8_t code, Span token) {
    tcp_ = true;
    overflow_ = cap_ < tcp_header_reserve;
    len_ = tcp_header_reserve;
    body_start_ = len_;
    last_option_ = 0;
    code_ = code;
    token_len_ = static_cast<std::uint8_t>(std::min<std::size_t>(token.size(), 8));
    std::copy_n(token.data(), token_len_, token_);  // an empty span's data() may be null
}

void Builder::option(std::uint16_t number, Span value) {
    std::uint8_t head[5];
    std::size_t n = 1;
    auto nibble = [&](std::uint32_t v, unsigned shift) {
        if (v < 13) {
            head[0] |= static_cast<std::uint8_t>(v << shift);
        } else if (v < 269) {
            head[0] |= static_cast<std::uint8_t>(13u << shift);
            head[n++] = static_cast<std::uint8_t>(v - 13);
        } else {
            head[0] |= static_cast<std::uint8_t>(14u << shift);
            head[n++] = static_cast<std::uint8_t>((v - 269) >> 8);
            head[n++] = static_cast<std::uint8_t>(v - 269);
        }
    };
    head[0] = 0;
    nibble(number - last_option_, 4);
    nibble(static_cast<std::uint32_t>(value.size()), 0);
    put(head, n);
    put(value.data(), value.size());
    last_option_ = number;
}

void Builder::option(std::uint16_t number, std::string_view value) {
    option(number, Span(reinterpret_cast<const std::uint8_t*>(value.data()), value.size()));
}

void Builder::uint_option(std::uint16_t number, std::uint32_t value) {
    std::uint8_t b[4];
    std::size_t n = 0;
    for (int shift = 24; shift >= 0; shift -= 8) {
        const auto byte = static_cast<std::uint8_t>(value >> shift);
        if (n == 0 && byte == 0) continue;
        b[n++] = byte;
    }
    option(number, Span(b, n));
}

void Builder::payload(Span bytes) {
    if (bytes.empty()) return;
    const std::uint8_t marker = 0xff;
    put(&marker, 1);
    put(bytes.data(), bytes.size());
}

void Builder::body(const coap::Message& message) {
    for (const auto& o : message.options())
        option(o.number, o.value.bytes());
    payload(message.payload());
}

void Builder::encoded_body(Span body) {
    put(body.data(), body.size());
}

std::size_t Builder::finish() {
    if (overflow_) return 0;
    if (!tcp_) return len_;
    // Write the TCP header right before the body and move the frame to the buffer's start.
    const std::uint64_t len = len_ - body_start_;
    std::uint8_t head[14];
    std::size_t n = 1;
    unsigned nibble;
    if (len < 13) {
        nibble = static_cast<unsigned>(len);
    } else if (len < 269) {
        nibble = 13;
        head[n++] = static_cast<std::uint8_t>(len - 13);
    } else if (len < 65805) {
        nibble = 14;
        head[n++] = static_cast<std::uint8_t>((len - 269) >> 8);
        head[n++] = static_cast<std::uint8_t>(len - 269);
    } else {
        nibble = 15;
        const std::uint64_t e = len - 65805;
        for (int shift = 24; shift >= 0; shift -= 8)
            head[n++] = static_cast<std::uint8_t>(e >> shift);
    }
    head[0] = static_cast<std::uint8_t>((nibble << 4) | token_len_);
    head[n++] = code_;
    std::memcpy(head + n, token_, token_len_);
    n += token_len_;
    const std::size_t start = body_start_ - n;
    std::memcpy(buf_ + start, head, n);
    std::memmove(buf_, buf_ + start, len_ - start);
    return len_ - start;
}

}  // namespace lwgate::bench::lite
