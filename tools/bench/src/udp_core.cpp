#include "udp_core.hpp"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "lwgate/device/socket.hpp"

namespace lwgate::bench {

namespace code = coap::code;
namespace option = coap::option;
using lite::MessageView;
using lite::Span;
using lite::Type;

std::uint64_t now_ns() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::steady_clock::now().time_since_epoch())
                                          .count());
}

namespace {

constexpr std::size_t batch = 64;
constexpr std::size_t out_capacity = 256;

std::vector<std::string> split_path(const std::string& path) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < path.size()) {
        if (path[i] == '/') {
            ++i;
            continue;
        }
        const auto j = path.find('/', i);
        out.push_back(path.substr(i, j == std::string::npos ? std::string::npos : j - i));
        i = j == std::string::npos ? path.size() : j;
    }
    return out;
}

std::string_view text(Span s) {
    return {reinterpret_cast<const char*>(s.data()), s.size()};
}

bool parse_index(std::string_view s, std::uint32_t& out) {
    auto r = std::from_chars(s.data(), s.data() + s.size(), out);
    return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

void set_buffers(int fd, int bytes) {
    // Root may exceed net.core.[rw]mem_max; fall back to the capped variant otherwise.
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) != 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof bytes) != 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
}

}  // namespace

UdpCore::UdpCore(std::size_t max_devices, std::string endpoint_prefix, std::string read_path,
                 std::string observe_path, std::chrono::milliseconds request_timeout)
    : max_devices_(max_devices),
      prefix_(std::move(endpoint_prefix)),
      read_path_(split_path(read_path)),
      observe_path_(split_path(observe_path)),
      timeout_ns_(static_cast<std::uint64_t>(request_timeout.count()) * 1'000'000ull),
      slots_(max_devices),
      out_(out_capacity) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "core socket");
    set_buffers(fd_, 32 << 20);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
        throw std::system_error(errno, std::generic_category(), "core bind");
    port_ = device::local_port(fd_);
    stats_since_ns_ = now_ns();
    thread_ = std::thread([this] { run(); });
}

UdpCore::~UdpCore() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
}

void UdpCore::set_load(Load load, unsigned window, double rate) {
    std::lock_guard lock(control_mutex_);
    want_load_ = load;
    want_window_ = window;
    want_rate_ = rate;
    control_seq_.fetch_add(1);
}

void UdpCore::observe_all() {
    std::lock_guard lock(control_mutex_);
    want_observe_ = true;
    control_seq_.fetch_add(1);
}

void UdpCore::reset_registrations() {
    std::lock_guard lock(control_mutex_);
    want_reset_ = true;
    control_seq_.fetch_add(1);
    // Wait until the core thread applied it, so the caller can rely on a clean slate.
    while (true) {
        control_mutex_.unlock();
        std::this_thread::yield();
        control_mutex_.lock();
        if (!want_reset_) break;
    }
}

CoreStats UdpCore::take_stats() {
    std::lock_guard lock(stats_mutex_);
    CoreStats out = std::move(stats_);
    stats_ = CoreStats{};
    const auto now = now_ns();
    out.seconds = static_cast<double>(now - stats_since_ns_) / 1e9;
    stats_since_ns_ = now;
    return out;
}

void UdpCore::apply_control() {
    std::lock_guard lock(control_mutex_);
    if (want_reset_) {
        for (auto& s : slots_)
            s = Slot{};
        ready_.clear();
        observe_queue_.clear();
        in_flight_ = 0;
        registered_ = 0;
        observed_ = 0;
        want_reset_ = false;
    }
    if (load_ != want_load_ || rate_ != want_rate_) {
        budget_ = 0;
        last_issue_ns_ = 0;  // the rate starts counting now
    }
    load_ = want_load_;
    window_ = want_window_;
    rate_ = want_rate_;
    if (want_observe_) {
        want_observe_ = false;
        for (std::uint32_t i = 0; i < slots_.size(); ++i)
            if (slots_[i].registered && !slots_[i].observed) observe_queue_.push_back(i);
    }
}

UdpCore::Out& UdpCore::out_slot() {
    if (out_used_ == out_.size()) flush();
    return out_[out_used_++];
}

void UdpCore::flush() {
    std::size_t done = 0;
    while (done < out_used_) {
        mmsghdr msgs[out_capacity];
        iovec iov[out_capacity];
        const std::size_t n = out_used_ - done;
        for (std::size_t i = 0; i < n; ++i) {
            Out& o = out_[done + i];
            iov[i] = {o.data, o.len};
            msgs[i] = {};
            msgs[i].msg_hdr.msg_name = &o.to;
            msgs[i].msg_hdr.msg_namelen = sizeof o.to;
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        const int sent = ::sendmmsg(fd_, msgs, static_cast<unsigned>(n), 0);
        if (sent < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) {
                pollfd p{fd_, POLLOUT, 0};
                ::poll(&p, 1, 10);
                continue;
            }
            // ECONNREFUSED from an earlier ICMP etc.: drop this datagram.
            ++done;
            continue;
        }
        stats_.datagrams_out += static_cast<std::uint64_t>(sent);
        done += static_cast<std::size_t>(sent);
    }
    out_used_ = 0;
}

void UdpCore::run() {
    mmsghdr msgs[batch];
    iovec iov[batch];
    sockaddr_in from[batch];
    static thread_local std::uint8_t buffers[batch][2048];
    std::uint64_t seen_control = 0;
    while (!stop_.load(std::memory_order_relaxed)) {
        if (const auto c = control_seq_.load(); c != seen_control) {
            seen_control = c;
            apply_control();
        }
        const bool busy_load = load_ == Load::rate || !observe_queue_.empty();
        pollfd p{fd_, POLLIN, 0};
        ::poll(&p, 1, busy_load ? 1 : 10);
        std::lock_guard lock(stats_mutex_);
        for (int round = 0; round < 16; ++round) {
            for (std::size_t i = 0; i < batch; ++i) {
                iov[i] = {buffers[i], sizeof buffers[i]};
                msgs[i] = {};
                msgs[i].msg_hdr.msg_name = &from[i];
                msgs[i].msg_hdr.msg_namelen = sizeof from[i];
                msgs[i].msg_hdr.msg_iov = &iov[i];
                msgs[i].msg_hdr.msg_iovlen = 1;
            }
            const int n = ::recvmmsg(fd_, msgs, batch, MSG_DONTWAIT, nullptr);
            if (n <= 0) break;
            stats_.datagrams_in += static_cast<std::uint64_t>(n);
            for (int i = 0; i < n; ++i)
                handle(buffers[i], msgs[i].msg_len, from[i]);
            if (static_cast<std::size_t>(n) < batch) break;
        }
        const auto now = now_ns();
        issue(now);
        if (now - last_timeout_scan_ns_ > 100'000'000ull) {
            last_timeout_scan_ns_ = now;
            check_timeouts(now);
        }
        flush();
        in_flight_pub_.store(in_flight_, std::memory_order_relaxed);
    }
}

void UdpCore::handle(const std::uint8_t* data, std::size_t len, const sockaddr_in& from) {
    auto parsed = lite::parse_udp(Span(data, len));
    if (!parsed) {
        ++stats_.malformed;
        return;
    }
    const MessageView& m = *parsed;
    const unsigned cls = coap::code_class(m.code);
    if (m.type == Type::rst) {
        ++stats_.failed;
        return;
    }
    if (m.code == code::empty) {
        // A CoAP Ping (lwgate's core check) gets its Reset, as from any CoAP server; an empty
        // ACK of a request we sent needs nothing: the answer follows.
        if (m.type == Type::con) {
            Out& o = out_slot();
            o.to = from;
            lite::Builder b(o.data, sizeof o.data);
            b.udp(Type::rst, code::empty, m.mid, 0);
            o.len = static_cast<std::uint16_t>(b.finish());
        }
        return;
    }
    if (cls == 0) {
        if (m.type == Type::con || m.type == Type::non) handle_request(m, from);
        return;
    }
    // A response: piggybacked (ACK), separate (CON/NON) or a notification.
    if (m.type == Type::con) {
        Out& o = out_slot();
        o.to = from;
        lite::Builder b(o.data, sizeof o.data);
        b.udp(Type::ack, code::empty, m.mid, 0);
        o.len = static_cast<std::uint16_t>(b.finish());
    }
    const std::uint64_t token = m.token_u64();
    const std::uint32_t device = lite::token_device(token);
    if (m.token.size() != 8 || device >= slots_.size()) {
        ++stats_.failed;
        return;
    }
    complete(device, token, m.code, m.find(option::observe).has_value(), now_ns());
}

void UdpCore::complete(std::uint32_t device, std::uint64_t token, std::uint8_t response_code,
                       bool has_observe, std::uint64_t now) {
    Slot& s = slots_[device];
    const auto seq = static_cast<std::uint32_t>(token);
    if (!s.busy || seq != s.seq) {
        // A notification of an earlier Observe (or a late answer after a timeout).
        if (has_observe) ++stats_.notifications;
        return;
    }
    s.busy = false;
    --in_flight_;
    if (s.observe) {
        if (response_code == code::content && has_observe) {
            s.observed = true;
            observed_.fetch_add(1, std::memory_order_relaxed);
        } else {
            observe_queue_.push_back(device);  // try again
        }
    } else {
        if (response_code == code::content) {
            ++stats_.answered;
            stats_.latency.record(now - s.sent_ns);
        } else {
            ++stats_.failed;
        }
    }
    if (s.registered) ready_.push_back(device);
}

void UdpCore::handle_request(const MessageView& m, const sockaddr_in& from) {
    std::string_view path[3];
    std::size_t segments = 0;
    std::string_view ep;
    m.for_each_option([&](const lite::OptionView& o) {
        if (o.number == option::uri_path && segments < 3) path[segments++] = text(o.value);
        if (o.number == option::uri_query && text(o.value).rfind("ep=", 0) == 0)
            ep = text(o.value).substr(3);
    });
    std::uint8_t answer = code::not_found;
    char location[16];
    std::size_t location_len = 0;
    std::uint32_t index = 0;
    if (m.code == code::post && segments == 1 && path[0] == "rd") {
        if (ep.rfind(prefix_, 0) == 0 && parse_index(ep.substr(prefix_.size()), index) &&
            index < slots_.size()) {
            Slot& s = slots_[index];
            s.addr = from;
            if (!s.registered) {
                s.registered = true;
                registered_.fetch_add(1, std::memory_order_relaxed);
                if (!s.busy) ready_.push_back(index);
            }
            s.observed = false;  // a new registration drops observations
            ++stats_.registers;
            answer = code::created;
            location_len = static_cast<std::size_t>(
                std::to_chars(location, location + sizeof location, index).ptr - location);
        } else {
            answer = code::bad_request;
        }
    } else if (segments == 2 && path[0] == "rd" && parse_index(path[1], index) &&
               index < slots_.size() && slots_[index].registered) {
        Slot& s = slots_[index];
        if (m.code == code::post) {
            s.addr = from;
            ++stats_.updates;
            answer = code::changed;
        } else if (m.code == code::del) {
            s.registered = false;
            if (s.observed) observed_.fetch_sub(1, std::memory_order_relaxed);
            s.observed = false;
            registered_.fetch_sub(1, std::memory_order_relaxed);
            ++stats_.deregisters;
            answer = code::deleted;
        }
    } else if (m.code == code::post) {
        ++stats_.uplinks;  // Send (/dp) or anything else a device posts
        answer = code::changed;
    }
    Out& o = out_slot();
    o.to = from;
    lite::Builder b(o.data, sizeof o.data);
    const bool con = m.type == Type::con;
    b.udp(con ? Type::ack : Type::non, answer, con ? m.mid : next_mid_++, m.token);
    if (location_len) {
        b.option(option::location_path, "rd");
        b.option(option::location_path, std::string_view(location, location_len));
    }
    o.len = static_cast<std::uint16_t>(b.finish());
}

bool UdpCore::send_request(std::uint32_t device, bool observe, std::uint64_t now) {
    Slot& s = slots_[device];
    if (!s.registered || s.busy) return false;
    s.busy = true;
    s.observe = observe;
    ++s.seq;
    s.sent_ns = now;
    ++in_flight_;
    Out& o = out_slot();
    o.to = s.addr;
    lite::Builder b(o.data, sizeof o.data);
    b.udp(Type::con, code::get, next_mid_++, lite::make_token(device, s.seq));
    if (observe) b.uint_option(option::observe, 0);
    for (const auto& seg : observe ? observe_path_ : read_path_)
        b.option(option::uri_path, seg);
    o.len = static_cast<std::uint16_t>(b.finish());
    if (!observe) ++stats_.sent;
    return true;
}

void UdpCore::issue(std::uint64_t now) {
    // Observations first (storm setup), within the window.
    const unsigned obs_window = window_ ? window_ : 256;
    while (!observe_queue_.empty() && in_flight_ < obs_window) {
        const auto d = observe_queue_.front();
        observe_queue_.pop_front();
        if (slots_[d].busy) {
            observe_queue_.push_back(d);
            break;
        }
        send_request(d, true, now);
    }
    auto next_ready = [&]() -> std::int64_t {
        while (!ready_.empty()) {
            const auto d = ready_.front();
            ready_.pop_front();
            if (slots_[d].registered && !slots_[d].busy) return d;
        }
        return -1;
    };
    if (load_ == Load::closed) {
        while (in_flight_ < window_) {
            const auto d = next_ready();
            if (d < 0) break;
            send_request(static_cast<std::uint32_t>(d), false, now);
        }
    } else if (load_ == Load::rate) {
        if (last_issue_ns_ == 0) last_issue_ns_ = now;
        budget_ += rate_ * static_cast<double>(now - last_issue_ns_) / 1e9;
        last_issue_ns_ = now;
        if (budget_ > rate_ * 0.01 + 1) budget_ = rate_ * 0.01 + 1;  // at most 10 ms of burst
        while (budget_ >= 1) {
            const auto d = next_ready();
            if (d < 0) {
                ++stats_.saturated;
                budget_ = 0;
                break;
            }
            send_request(static_cast<std::uint32_t>(d), false, now);
            budget_ -= 1;
        }
    }
}

void UdpCore::check_timeouts(std::uint64_t now) {
    for (std::uint32_t i = 0; i < slots_.size(); ++i) {
        Slot& s = slots_[i];
        if (!s.busy || now - s.sent_ns < timeout_ns_) continue;
        s.busy = false;
        --in_flight_;
        if (s.observe) {
            observe_queue_.push_back(i);
        } else {
            ++stats_.timeouts;
        }
        if (s.registered) ready_.push_back(i);
    }
}

}  // namespace lwgate::bench
