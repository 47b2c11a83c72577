// Drives the real LwM2M bridge (lwm2m::Bridge with its admission rules, DeviceRelays and the
// libcoap CoreLink) from both sides: fake device connections whose messages come out of the
// RFC 8323 decoder, and a scripted core on a UDP socket of our own that answers lwgate's
// requests and sends requests, retransmissions and raw datagrams of its own. The protocol-layer
// fuzzers stop before the bridge; a remote crash (a Bootstrap-Request on a bound connection
// without upstream.bootstrap_uri reaching a null bootstrap CoreLink) lived right behind it.
//
// Input: one knob byte (configuration), then records: a selector byte and its arguments (see
// Op). After every record the io_context is polled and the core answers until both are quiet,
// so the posts the bridge makes to itself and the datagrams of both sides run in order.
//
// Checked: no crash, no sanitizer report, no exception; a connection that was never admitted
// (every request it sent was refused on the spot) is never marked registered nor sent a request.
//
// Seeds: tests/fuzz/corpus/bridge/, written by tests/fuzz/make_bridge_corpus.py (run it from the
// repository root to regenerate them; it documents the record format byte by byte). One of them,
// crash_device_508_response, is a finding of this fuzzer that crashes until the gateway stops
// handing libcoap 4.3.1 a 5.08 response with a body (see the script).
//
// Cost: ~4 ms of CPU per input with the sanitizers, about half of it libFuzzer's own
// bookkeeping and most of the rest the Bridge's construction, i.e. libcoap's coap_new_context(),
// which builds OpenSSL DTLS and TLS contexts even for coap://.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include <spdlog/spdlog.h>
#include <asio/io_context.hpp>

#include "bridge/bridge.hpp"
#include "connection/session_host.hpp"
#include "lwgate/coap/tcp_codec.hpp"
#include "config/config.hpp"
#include "lwm2m/directory.hpp"

using namespace lwgate;
using namespace std::chrono_literals;

namespace {

// Bounds that keep one input cheap: records per input, wall-clock advances, poll/answer rounds
// after a record. A record carries at most 255 bytes (4095 for Op::device_bytes_big).
constexpr std::size_t max_records = 256;
constexpr std::size_t max_advances = 3;
constexpr std::size_t max_settle_rounds = 32;

// BRIDGE_FUZZ_TRACE=1: lwgate's log at debug level and what each side receives, on stderr, to
// check that an input does what it was written for (e.g. a seed). Off while fuzzing: too slow.
bool trace = false;

class Input {
  public:
    Input(const std::uint8_t* data, std::size_t size) : rest_(data, size) {}
    bool empty() const { return rest_.empty(); }
    std::uint8_t byte() {
        if (rest_.empty()) return 0;
        const std::uint8_t b = rest_[0];
        rest_ = rest_.subspan(1);
        return b;
    }
    std::span<const std::uint8_t> take(std::size_t n) {
        n = std::min(n, rest_.size());
        auto out = rest_.first(n);
        rest_ = rest_.subspan(n);
        return out;
    }
    std::string take_string(std::size_t n) {
        auto b = take(n);
        return {b.begin(), b.end()};
    }

  private:
    std::span<const std::uint8_t> rest_;
};

// ---- CoAP over UDP (RFC 7252 §3), just what the scripted core needs ------------------------

enum : std::uint8_t { con = 0, non = 1, ack = 2, rst = 3 };

struct UdpMessage {
    std::uint8_t type = con;
    std::uint8_t code = 0;
    std::uint16_t mid = 0;
    std::string token;
    std::vector<std::pair<std::uint16_t, std::string>> options;  // sorted by number
    std::string payload;

    std::vector<std::string> path() const {
        std::vector<std::string> out;
        for (const auto& [n, v] : options)
            if (n == coap::option::uri_path) out.push_back(v);
        return out;
    }
    bool has(std::uint16_t number) const {
        for (const auto& o : options)
            if (o.first == number) return true;
        return false;
    }
};

// Option delta / length nibble and its extension bytes (RFC 7252 §3.1).
void put_nibble_ext(std::string& ext, unsigned value, unsigned& nibble) {
    if (value < 13) {
        nibble = value;
    } else if (value < 269) {
        nibble = 13;
        ext.push_back(static_cast<char>(value - 13));
    } else {
        nibble = 14;
        ext.push_back(static_cast<char>((value - 269) >> 8));
        ext.push_back(static_cast<char>((value - 269) & 0xff));
    }
}

std::string encode_udp(const UdpMessage& m) {
    std::string out;
    out.push_back(static_cast<char>(0x40 | (m.type << 4) | (m.token.size() & 0x0f)));
    out.push_back(static_cast<char>(m.code));
    out.push_back(static_cast<char>(m.mid >> 8));
    out.push_back(static_cast<char>(m.mid & 0xff));
    out += m.token;
    unsigned last = 0;
    for (const auto& [number, value] : m.options) {
        std::string ext;
        unsigned delta_nibble = 0;
        unsigned length_nibble = 0;
        put_nibble_ext(ext, number - last, delta_nibble);
        std::string ext_len;
        put_nibble_ext(ext_len, static_cast<unsigned>(value.size()), length_nibble);
        out.push_back(static_cast<char>((delta_nibble << 4) | length_nibble));
        out += ext + ext_len + value;
        last = number;
    }
    if (!m.payload.empty()) out += '\xff' + m.payload;
    return out;
}

// Reads an extended delta/length (RFC 7252 §3.1); false if the datagram ends or uses 15.
bool read_nibble_ext(std::span<const std::uint8_t>& in, unsigned nibble, unsigned& value) {
    if (nibble < 13) {
        value = nibble;
    } else if (nibble == 13 && !in.empty()) {
        value = 13u + in[0];
        in = in.subspan(1);
    } else if (nibble == 14 && in.size() >= 2) {
        value = 269u + ((unsigned{in[0]} << 8) | in[1]);
        in = in.subspan(2);
    } else {
        return false;
    }
    return true;
}

std::optional<UdpMessage> decode_udp(std::span<const std::uint8_t> in) {
    if (in.size() < 4 || (in[0] >> 6) != 1) return std::nullopt;
    UdpMessage m;
    m.type = (in[0] >> 4) & 3;
    const std::size_t tkl = in[0] & 0x0f;
    m.code = in[1];
    m.mid = static_cast<std::uint16_t>((in[2] << 8) | in[3]);
    if (tkl > 8 || in.size() < 4 + tkl) return std::nullopt;
    m.token.assign(in.begin() + 4, in.begin() + 4 + static_cast<std::ptrdiff_t>(tkl));
    in = in.subspan(4 + tkl);
    unsigned number = 0;
    while (!in.empty() && in[0] != 0xff) {
        const unsigned delta_nibble = in[0] >> 4;
        const unsigned length_nibble = in[0] & 0x0f;
        in = in.subspan(1);
        unsigned delta = 0;
        unsigned length = 0;
        if (!read_nibble_ext(in, delta_nibble, delta) ||
            !read_nibble_ext(in, length_nibble, length))
            return std::nullopt;
        if (in.size() < length) return std::nullopt;
        number += delta;
        m.options.emplace_back(static_cast<std::uint16_t>(number),
                               std::string(in.begin(), in.begin() + length));
        in = in.subspan(length);
    }
    if (!in.empty()) m.payload.assign(in.begin() + 1, in.end());
    return m;
}

// ---- the scripted core -----------------------------------------------------------------------

// How the core answers lwgate's confirmable requests (Op::core_mode).
enum class Style : std::uint8_t { piggyback, separate, reset, hold };

class ScriptedCore {
  public:
    // One socket for the whole run (a socket per input costs as much as the rest); reset()
    // drops what the previous input's sessions left in it.
    ScriptedCore() {
        fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
            std::abort();  // the harness cannot work at all
        }
        port_ = ntohs(addr.sin_port);
    }
    std::uint16_t port() const { return port_; }

    void reset() {
        std::uint8_t buf[2048];
        while (::recv(fd_, buf, sizeof buf, 0) >= 0) {
        }
        peers_.clear();
        held_.clear();
        last_request_.clear();
        next_mid_ = 0x1000;
        next_location_ = 1;
        style_ = Style::piggyback;
        code_override_ = 0;
        reject_notifications_ = false;
    }

    // Reads and answers every datagram waiting; true if there was any.
    bool pump() {
        bool any = false;
        std::uint8_t buf[2048];
        sockaddr_in from{};
        socklen_t len = sizeof from;
        for (ssize_t n; (n = ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from),
                                        &len)) >= 0;
             len = sizeof from) {
            any = true;
            remember_peer(from);
            if (trace) std::fprintf(stderr, "core <- :%u %zd bytes\n", ntohs(from.sin_port), n);
            if (auto m = decode_udp({buf, static_cast<std::size_t>(n)})) on_datagram(from, *m);
        }
        return any;
    }

    void set_mode(Input& in);
    void release_held();
    void send_request(Input& in);
    void retransmit() {
        if (!last_request_.empty()) send(last_peer_, last_request_);
    }
    // Records read all their arguments before they may turn out to do nothing (no peer yet),
    // so a mutation of one record never shifts how the following ones are read.
    void send_raw(Input& in) {
        const std::uint8_t peer = in.byte();
        const std::string bytes = in.take_string(in.byte());
        if (!peers_.empty()) send(peers_[peer % peers_.size()], bytes);
    }

  private:
    void remember_peer(const sockaddr_in& from) {
        for (const auto& p : peers_)
            if (p.sin_port == from.sin_port && p.sin_addr.s_addr == from.sin_addr.s_addr) return;
        if (peers_.size() < 16) peers_.push_back(from);
    }
    void send(const sockaddr_in& to, const std::string& bytes) {
        ::sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&to),
                 sizeof to);
    }
    void on_datagram(const sockaddr_in& from, const UdpMessage& m);
    void answer(const sockaddr_in& to, const UdpMessage& request, Style style);
    UdpMessage scripted_response(const UdpMessage& request);

    struct Held {
        sockaddr_in from;
        UdpMessage request;
    };
    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::vector<sockaddr_in> peers_;  // lwgate's upstream sessions, as first heard from
    std::vector<Held> held_;          // Style::hold: answered by Op::core_release
    std::string last_request_;        // the core's last request, for a retransmission
    sockaddr_in last_peer_{};
    std::uint16_t next_mid_ = 0;
    unsigned next_location_ = 1;
    Style style_ = Style::piggyback;
    std::uint8_t code_override_ = 0;
    bool reject_notifications_ = false;
};

void ScriptedCore::on_datagram(const sockaddr_in& from, const UdpMessage& m) {
    if (m.type == con && m.code == coap::code::empty) {  // CoAP ping: RST (RFC 7252 §4.3)
        send(from, encode_udp({rst, 0, m.mid, {}, {}, {}}));
    } else if (m.type == con && coap::is_request(m.code)) {
        answer(from, m, style_);
    } else if (m.type == con || (m.type == non && coap::is_response(m.code))) {
        // A separate response or a notification: acknowledged, or rejected when the core no
        // longer wants notifications (lwgate then cancels the observation on the device).
        const bool reject = reject_notifications_ && m.has(coap::option::observe);
        if (m.type == con || reject)
            send(from, encode_udp({reject ? rst : ack, 0, m.mid, {}, {}, {}}));
    }
}

// The answers of a well-behaved LwM2M server (or the code the input forces).
UdpMessage ScriptedCore::scripted_response(const UdpMessage& request) {
    UdpMessage r{ack, coap::code::content, request.mid, request.token, {}, {}};
    const auto path = request.path();
    const bool rd = !path.empty() && path[0] == "rd";
    if (request.code == coap::code::post && rd && path.size() == 1) {
        r.code = coap::code::created;
        r.options = {{coap::option::location_path, "rd"},
                     {coap::option::location_path, std::to_string(next_location_++)}};
    } else if (request.code == coap::code::post && rd) {
        r.code = coap::code::changed;
    } else if (request.code == coap::code::del) {
        r.code = coap::code::deleted;
    } else if (request.code == coap::code::post && path.size() == 1 &&
               (path[0] == "dp" || path[0] == "bs")) {
        r.code = coap::code::changed;
    }
    // A Block1 upload (lwgate slices large device bodies): 2.31 Continue for every block but
    // the last (RFC 7959 §2.3), echoing its Block1 option.
    for (const auto& [number, value] : request.options) {
        if (number == coap::option::block1 && !value.empty() && (value.back() & 0x08)) {
            r.code = coap::code::continue_;
            r.options = {{coap::option::block1, value}};
        }
    }
    if (code_override_ != 0) r.code = code_override_;
    return r;
}

void ScriptedCore::answer(const sockaddr_in& to, const UdpMessage& request, Style style) {
    switch (style) {
        case Style::piggyback:
            send(to, encode_udp(scripted_response(request)));
            break;
        case Style::separate: {  // empty ACK now, the response as a CON of its own
            send(to, encode_udp({ack, 0, request.mid, {}, {}, {}}));
            UdpMessage r = scripted_response(request);
            r.type = con;
            r.mid = next_mid_++;
            send(to, encode_udp(r));
            break;
        }
        case Style::reset:
            send(to, encode_udp({rst, 0, request.mid, {}, {}, {}}));
            break;
        case Style::hold:
            if (held_.size() < 32) held_.push_back({to, request});
            break;
    }
}

void ScriptedCore::release_held() {
    for (auto& h : std::exchange(held_, {}))
        answer(h.from, h.request, Style::piggyback);
}

// Args: style, code override index, flags (bit 0: reject notifications with RST).
void ScriptedCore::set_mode(Input& in) {
    static constexpr std::array<std::uint8_t, 8> overrides{0,
                                                           coap::code::not_found,
                                                           coap::code::bad_request,
                                                           coap::code::forbidden,
                                                           coap::code::internal_server_error,
                                                           coap::code::service_unavailable,
                                                           coap::code::created,
                                                           coap::code::changed};
    style_ = static_cast<Style>(in.byte() % 4);
    code_override_ = overrides[in.byte() % overrides.size()];
    reject_notifications_ = (in.byte() & 1) != 0;
}

// Args: peer, method (low 3 bits; flags 0x08 Accept, 0x10 Block2, 0x80 NON), [Block2 value if
// 0x10], path (dictionary index, or >= 0xc0: a length and that many bytes split at '/'), token
// byte, payload length and bytes.
void ScriptedCore::send_request(Input& in) {
    static const std::vector<std::vector<std::string>> paths{
        {"3", "0", "0"}, {"3", "0"},      {"3"},  {"3", "0", "13"}, {"1", "0", "1"},
        {"5", "0", "1"}, {"3", "0", "4"}, {"bs"}, {"0", "1"},       {}};
    static constexpr std::array<std::uint8_t, 8> methods{
        coap::code::get,  coap::code::get, coap::code::get,   coap::code::put,
        coap::code::post, coap::code::del, coap::code::fetch, coap::code::ipatch};
    const std::uint8_t peer = in.byte();
    const std::uint8_t method = in.byte();
    // Block2 asking for a later block of a body lwgate sliced (its Block2 cache serves it).
    const std::uint8_t block2 = (method & 0x10) ? in.byte() : 0;
    const std::uint8_t path_byte = in.byte();
    std::vector<std::string> path = paths[path_byte % paths.size()];
    if (path_byte >= 0xc0) {
        path.assign(1, {});
        for (const char c : in.take_string(in.byte() % 32)) {
            if (c == '/') {
                path.emplace_back();
            } else {
                path.back().push_back(c);
            }
        }
    }
    const std::uint8_t token = in.byte();
    UdpMessage r{(method & 0x80) ? non : con,
                 methods[method % 8],
                 next_mid_++,
                 token == 0 ? std::string() : std::string(1 + (token >> 6), char(token & 0x0f)),
                 {},
                 in.take_string(in.byte())};
    if (method % 8 == 1) r.options.emplace_back(coap::option::observe, std::string());
    if (method % 8 == 2) r.options.emplace_back(coap::option::observe, std::string(1, '\1'));
    for (auto& segment : path)
        r.options.emplace_back(coap::option::uri_path, std::move(segment));
    if (method & 0x08) r.options.emplace_back(coap::option::accept, std::string("\x2d\x16", 2));
    if (method & 0x10) r.options.emplace_back(coap::option::block2, std::string(1, char(block2)));
    if (peers_.empty()) return;
    const sockaddr_in to = peers_[peer % peers_.size()];
    last_request_ = encode_udp(r);
    last_peer_ = to;
    send(to, last_request_);
}

// ---- fake device connections -----------------------------------------------------------------

// A device connection as the bridge sees one: it records what the bridge sends (requests are
// what the device may answer, Op::device_answer) and closes like DownstreamSession does: after
// the Abort goes out, i.e. later, by a post.
class FakeSession final : public session::SessionBase {
  public:
    using Closed = std::function<void(FakeSession&)>;
    FakeSession(asio::io_context& io, session::ConnectionInfo info, Closed on_closed)
        : io_(io), info_(std::move(info)), on_closed_(std::move(on_closed)) {}

    void start() override {}
    void drain(std::optional<std::uint32_t>) override {}
    void close(session::CloseReason, std::string) override {
        if (closing_) return;
        closing_ = true;
        asio::post(io_, [this] { on_closed_(*this); });
    }
    void send(const coap::Message& message) override {
        sent_during_delivery_ |= delivering_;
        if (trace)
            std::fprintf(stderr, "conn %llu <- %s\n", (unsigned long long)info_.id,
                         coap::describe(message).c_str());
        if (closing_ || !coap::is_request(message.code())) return;
        // Invariant: the core's (or lwgate's own) requests reach admitted connections only.
        if (!admitted_) std::abort();
        requests_.push_front(message);
        if (requests_.size() > 8) requests_.pop_back();
    }
    void set_registered(bool registered) override {
        if (registered && !admitted_) std::abort();  // the same invariant, for registrations
    }
    void apply_keepalive(const session::KeepaliveParams&) override {}
    const session::ConnectionInfo& info() const override { return info_; }
    session::SessionSnapshot snapshot() const override { return {}; }
    void admin_ping(Duration, std::function<void(session::AdminPingResult)>) override {}
    void admin_release(std::optional<std::string>, std::optional<std::uint32_t>) override {}
    const std::string& close_detail() const override { return detail_; }

    // One message from the device to the bridge. A request that is neither answered on the spot
    // (a refusal) nor dropped is admitted: it went on toward an endpoint's relay.
    void deliver(lwm2m::Bridge& bridge, coap::Message&& message) {
        if (closing_) return;
        const bool request = coap::is_request(message.code());
        delivering_ = true;
        sent_during_delivery_ = false;
        bridge.on_device_message(*this, std::move(message));
        delivering_ = false;
        if (request && !sent_during_delivery_) admitted_ = true;
    }

    coap::TcpDecoder decoder{16384};      // connections.max_message_size's default
    std::deque<coap::Message> requests_;  // newest first
    std::uint32_t observe_ = 2;           // the device's next Observe number
    bool closing_ = false;

  private:
    asio::io_context& io_;
    session::ConnectionInfo info_;
    Closed on_closed_;
    std::string detail_;
    bool admitted_ = false;
    bool delivering_ = false;
    bool sent_during_delivery_ = false;
};

// The device connections, one per slot: every kind of identity admission tells apart. Two plain
// slots so that one endpoint can have two connections; PSK "id-a" and the certificate's SAN "b"
// name endpoints of the credentials table (a, b); CN "c" and SAN "d" name endpoints without one.
struct SlotSpec {
    session::Transport transport;
    bool allow_plain;
    const char* psk;
    const char* cn;
    std::vector<std::string> sans;
};
const std::array<SlotSpec, 6>& slot_specs() {
    using session::Transport;
    static const std::array<SlotSpec, 6> specs{{
        {Transport::tcp, true, "", "", {}},
        {Transport::tcp, true, "", "", {}},
        {Transport::tcp, false, "", "", {}},
        {Transport::tls, true, "id-a", "", {}},
        {Transport::tls, true, "", "c", {"d", "b"}},
        {Transport::tls, true, "", "", {}},
    }};
    return specs;
}

// Knob byte: bit 0 bootstrap server, 1 no piggyback window, 2 short timers (1 ms, so
// Op::advance makes downlinks time out and queued requests expire), 3 tight per-device
// limits, 4 room for two upstream sessions only.
config::Config make_config(std::uint8_t knobs, std::uint16_t core_port) {
    config::Config c;
    c.threads = 1;
    const std::string uri = "coap://127.0.0.1:" + std::to_string(core_port);
    c.upstream.uri = uri;
    c.upstream.endpoint = {config::Scheme::coap, "127.0.0.1", core_port, uri};
    if (knobs & 1) {  // the same scripted core plays the bootstrap server
        c.upstream.bootstrap_uri = uri;
        c.upstream.bootstrap = c.upstream.endpoint;
    }
    c.upstream.piggyback_window = (knobs & 2) ? 0ms : 500ms;
    if (knobs & 4) {
        c.connections.request_timeout = 1ms;
        c.queue_mode.max_age = 1ms;
    }
    if (knobs & 8) {
        c.device_limits.uplinks_in_flight = 1;
        c.device_limits.uplinks_queued = 1;
        c.device_limits.notifications_per_second = 1;
        c.device_limits.notification_burst = 1;
        c.queue_mode.max_queued = 1;
    }
    c.credentials = {{"a", "id-a", {1, 2, 3, 4}, 0}, {"b", "id-b", {5, 6, 7, 8}, 0}};
    return c;
}

enum class Op : std::uint8_t {
    device_bytes,      // slot, length, bytes for its RFC 8323 decoder
    device_bytes_big,  // slot, length / 16, length % 16, bytes
    device_answer,     // slot, which request, code, flags, payload length (+ bytes)
    reconnect,         // slot: the device's TCP connection drops, a new one takes the slot
    core_request,      // ScriptedCore::send_request
    core_retransmit,   // the core's last request again (same Message ID and token)
    core_mode,         // ScriptedCore::set_mode
    core_release,      // the core answers the requests it held
    core_raw,          // peer, length, bytes as one datagram
    advance,           // ~1 ms of wall-clock time (lwgate's timers are real)
    count_
};

class World {
  public:
    World(std::uint8_t knobs, ScriptedCore& core)
        : config_(make_config(knobs, core.port())), core_(core) {
        if (knobs & 16) directory_.set_session_limit(2);
        bridge_ = std::make_unique<lwm2m::Bridge>(0, 1, io_, config_, directory_,
                                                  RealTimeSource::instance());
        bridge_->set_peers({bridge_.get()});
        std::vector<store::CredentialChange> credentials;
        for (const auto& c : config_.credentials) {
            store::CredentialRecord record;
            record.endpoint = c.endpoint;
            record.keys.push_back({c.psk_identity, c.psk_key, 0});
            credentials.push_back({c.endpoint, std::move(record)});
        }
        credentials_.apply(credentials);
        bridge_->use_credentials(credentials_);
        auto started = bridge_->start([this](std::uint64_t id) -> session::SessionBase* {
            auto it = open_.find(id);
            return it == open_.end() ? nullptr : it->second;
        });
        if (!started) std::abort();  // the harness's configuration is wrong
        for (unsigned i = 0; i < slots_.size(); ++i)
            open_slot(i);
        settle();
    }
    // Every connection drops, then the bridge goes with whatever state is left.
    ~World() {
        for (auto& s : slots_)
            drop(*s);
        settle();
    }

    void run(Input& in) {
        for (std::size_t records = 0; !in.empty() && records < max_records; ++records) {
            step(in);
            settle();
        }
    }

  private:
    void step(Input& in);
    void device_bytes(unsigned slot, std::span<const std::uint8_t> bytes);
    void device_answer(Input& in);
    void open_slot(unsigned slot);
    void drop(FakeSession& session);
    FakeSession& session(unsigned slot) {
        slot %= slots_.size();
        if (slots_[slot]->closing_) open_slot(slot);  // the device connects again
        return *slots_[slot];
    }
    // Runs what is ready on lwgate's side and lets the core answer, until both are quiet.
    void settle() {
        for (std::size_t round = 0; round < max_settle_rounds; ++round) {
            if (io_.stopped()) io_.restart();
            const std::size_t ran = io_.poll();
            if (!core_.pump() && ran == 0) return;
        }
    }

    asio::io_context io_;
    config::Config config_;
    lwm2m::Directory directory_;
    credentials::CredentialTable credentials_;
    ScriptedCore& core_;
    std::unique_ptr<lwm2m::Bridge> bridge_;
    std::array<std::unique_ptr<FakeSession>, 6> slots_;
    std::vector<std::unique_ptr<FakeSession>> closed_;  // posts may still name them
    std::unordered_map<std::uint64_t, FakeSession*> open_;
    std::uint64_t next_id_ = 1;
    std::size_t advances_ = 0;
};

void World::open_slot(unsigned slot) {
    const SlotSpec& spec = slot_specs()[slot];
    session::ConnectionInfo info;
    info.id = next_id_++;
    info.remote = "10.0.0." + std::to_string(slot) + ":" + std::to_string(40000 + info.id);
    info.local = "127.0.0.1:5684";
    info.transport = spec.transport;
    info.psk_identity = spec.psk;
    info.peer_certificate = spec.cn;
    info.peer_certificate_names = spec.sans;
    info.allow_plain_registration = spec.allow_plain;
    auto fresh =
        std::make_unique<FakeSession>(io_, std::move(info), [this](FakeSession& s) { drop(s); });
    open_[fresh->info().id] = fresh.get();
    if (slots_[slot]) closed_.push_back(std::move(slots_[slot]));
    slots_[slot] = std::move(fresh);
}

// The connection is gone (the device dropped it, or it closed after the bridge's close()): what
// the shard does in on_session_closed.
void World::drop(FakeSession& s) {
    s.closing_ = true;
    if (open_.erase(s.info().id) == 0) return;
    bridge_->on_session_closed(s);
}

void World::device_bytes(unsigned slot, std::span<const std::uint8_t> bytes) {
    FakeSession& s = session(slot);
    while (!bytes.empty() && !s.closing_) {
        auto step = s.decoder.feed(bytes);
        bytes = bytes.subspan(step.consumed);
        if (step.result) {
            if (auto* m = std::get_if<coap::Message>(&*step.result)) {
                // DownstreamProtocol passes requests and responses on; it answers signaling
                // itself and ignores empty messages.
                if (coap::is_request(m->code()) || coap::is_response(m->code()))
                    s.deliver(*bridge_, std::move(*m));
            } else if (std::get<coap::DecodeFailure>(*step.result).fatal) {
                drop(s);  // the session aborts the connection: framing is lost
            }
        } else if (step.consumed == 0) {
            break;
        }
    }
}

// The device answers one of the last requests it got (their tokens are lwgate's, random:
// the input cannot spell them): a response, or a notification when it carries Observe.
void World::device_answer(Input& in) {
    static constexpr std::array<std::uint8_t, 8> codes{coap::code::content,
                                                       coap::code::changed,
                                                       coap::code::created,
                                                       coap::code::deleted,
                                                       coap::code::not_found,
                                                       coap::code::bad_request,
                                                       coap::code::internal_server_error,
                                                       coap::code::continue_};
    FakeSession& s = session(in.byte());
    const std::uint8_t which = in.byte();
    const std::uint8_t code = in.byte();
    const std::uint8_t flags = in.byte();
    const std::uint8_t length = in.byte();
    const auto body = (flags & 0x80) ? std::span<const std::uint8_t>() : in.take(length);
    if (s.requests_.empty()) return;
    const coap::Message& request = s.requests_[which % s.requests_.size()];
    // Mostly the usual codes; from 0x80 on any response code (class 2 to 5).
    coap::Message answer(code < 0x80 ? codes[code % codes.size()]
                                     : coap::make_code(2 + (code & 3), (code >> 2) & 0x1f),
                         request.token());
    if (flags & 1) answer.add_uint_option(coap::option::observe, s.observe_++);
    if (flags & 2) answer.add_uint_option(coap::option::content_format, 11542);
    // Block2 (num, more, szx from the flags): a body the device slices itself.
    if (flags & 4) answer.add_uint_option(coap::option::block2, flags >> 3);
    if (flags & 0x80) {  // a large body: lwgate slices it toward the core (Block2 cache)
        answer.set_payload(coap::Bytes(std::size_t{length} * 16, 'x'));
    } else {
        answer.set_payload(coap::Bytes(body.begin(), body.end()));
    }
    s.deliver(*bridge_, std::move(answer));
}

void World::step(Input& in) {
    switch (static_cast<Op>(in.byte() % static_cast<std::uint8_t>(Op::count_))) {
        case Op::device_bytes: {
            const unsigned slot = in.byte();
            device_bytes(slot, in.take(in.byte()));
            break;
        }
        case Op::device_bytes_big: {
            const unsigned slot = in.byte();
            const std::size_t length = std::size_t{in.byte()} * 16 + in.byte() % 16;
            device_bytes(slot, in.take(length));
            break;
        }
        case Op::device_answer:
            device_answer(in);
            break;
        case Op::reconnect: {
            const unsigned slot = in.byte() % slots_.size();
            drop(*slots_[slot]);
            open_slot(slot);
            break;
        }
        case Op::core_request:
            core_.send_request(in);
            break;
        case Op::core_retransmit:
            core_.retransmit();
            break;
        case Op::core_mode:
            core_.set_mode(in);
            break;
        case Op::core_release:
            core_.release_held();
            break;
        case Op::core_raw:
            core_.send_raw(in);
            break;
        case Op::advance:
            if (advances_++ < max_advances) io_.run_for(1ms);
            break;
        case Op::count_:
            break;
    }
}

}  // namespace

// UBSan only prints and carries on by default, which libFuzzer does not count as a crash: stop
// at the first report so undefined behaviour is a finding like any other.
extern "C" const char* __ubsan_default_options() {
    return "halt_on_error=1:print_stacktrace=1";
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    trace = std::getenv("BRIDGE_FUZZ_TRACE") != nullptr;
    // The bridge logs every registration and refusal: far too slow for fuzzing.
    spdlog::set_level(trace ? spdlog::level::debug : spdlog::level::off);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static ScriptedCore core;
    if (size < 1) return 0;
    Input in(data, size);
    core.reset();
    World world(in.byte(), core);
    world.run(in);
    return 0;
}
