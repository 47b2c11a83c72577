#include "lwgate/harness/device_client.hpp"

#include <sys/socket.h>

#include <array>
#include <utility>
#include <variant>

#include "lwgate/coap/signaling.hpp"
#include "lwgate/device/enum_name.hpp"
#include "lwgate/device/framing.hpp"
#include "lwgate/device/socket.hpp"
#include "lwgate/device/stream.hpp"
#include "posix_util.hpp"

namespace lwgate::harness {

namespace code = coap::code;
using detail::close_fd;

const char* to_string(CloseState state) {
    return device::enum_name<CloseState::reset>(state, {"still_open", "closed_fin", "reset"});
}

DeviceClient::DeviceClient(DeviceOptions options)
    : options_(options), decoder_(options.max_receive_size, options.max_receive_size) {}

DeviceClient::~DeviceClient() {
    close();
}

// One member list to keep: the move constructor is the assignment.
DeviceClient::DeviceClient(DeviceClient&& other) noexcept {
    *this = std::move(other);
}

DeviceClient& DeviceClient::operator=(DeviceClient&& other) noexcept {
    if (this != &other) {
        close_fd(fd_);
        options_ = other.options_;
        fd_ = std::exchange(other.fd_, -1);
        decoder_ = std::move(other.decoder_);
        inbox_ = std::move(other.inbox_);
        pings_ = std::move(other.pings_);
        pong_ = std::move(other.pong_);
        close_state_ = other.close_state_;
        last_errno_ = other.last_errno_;
        closed_at_ = other.closed_at_;
        decode_failure_ = std::move(other.decode_failure_);
        auto_pong_ = other.auto_pong_;
        pings_answered_ = other.pings_answered_;
        last_tx_ = other.last_tx_;
        last_rx_ = other.last_rx_;
    }
    return *this;
}

void DeviceClient::connect(const std::string& host, std::uint16_t port, Millis timeout) {
    if (!try_connect(host, port, timeout)) {
        throw HarnessError("connect to " + host + ":" + std::to_string(port) + " failed: " +
                           (last_errno_ ? detail::errno_text(last_errno_) : "timeout"));
    }
}

bool DeviceClient::try_connect(const std::string& host, std::uint16_t port, Millis timeout) {
    close_fd(fd_);
    decoder_ = coap::TcpDecoder(options_.max_receive_size, options_.max_receive_size);
    inbox_.clear();
    close_state_ = CloseState::still_open;
    closed_at_.reset();
    decode_failure_.reset();
    last_errno_ = 0;

    const auto peer = device::resolve(host, port);
    if (!peer) throw HarnessError("DeviceClient: " + peer.error().detail);
    const auto deadline = SteadyClock::now() + timeout;
    const auto connecting = device::start_connect(*peer);
    fd_ = connecting.fd;
    last_errno_ = connecting.error;
    if (fd_ < 0) return false;
    pollfd fds{fd_, POLLOUT, 0};
    if (detail::poll_until(&fds, 1, deadline) == 0) {
        close_fd(fd_);
        return false;
    }
    last_errno_ = device::connect_error(fd_);
    if (last_errno_ != 0) {
        close_fd(fd_);
        return false;
    }
    last_tx_ = last_rx_ = SteadyClock::now();
    return true;
}

std::uint16_t DeviceClient::local_port() const {
    return device::local_port(fd_);
}

bool DeviceClient::send(const coap::Message& message) {
    return send(message, options_.default_timeout);
}

bool DeviceClient::send(const coap::Message& message, Millis timeout) {
    const coap::Bytes bytes = coap::encode(message);
    return send_raw(bytes, timeout);
}

bool DeviceClient::send_raw(coap::ByteView bytes) {
    return send_raw(bytes, options_.default_timeout);
}

bool DeviceClient::send_raw(coap::ByteView bytes, Millis timeout) {
    if (fd_ < 0) return false;
    const auto deadline = SteadyClock::now() + timeout;
    device::TcpStream stream(fd_);
    for (std::size_t sent = 0; sent < bytes.size();) {
        const auto r = stream.write(bytes.data() + sent, bytes.size() - sent);
        if (r.status == device::IoStatus::ok) {
            sent += r.bytes;
            continue;
        }
        pollfd fds{fd_, POLLOUT, 0};
        if (r.status != device::IoStatus::error) {
            if (detail::poll_until(&fds, 1, deadline) == 0) return false;
            continue;
        }
        mark_closed(r.error == EPIPE ? CloseState::closed_fin : CloseState::reset, r.error);
        return false;
    }
    last_tx_ = SteadyClock::now();
    return true;
}

void DeviceClient::mark_closed(CloseState state, int err) {
    if (close_state_ != CloseState::still_open) return;
    close_state_ = state;
    last_errno_ = err;
    closed_at_ = SteadyClock::now();
}

bool DeviceClient::read_some(SteadyClock::time_point deadline) {
    if (fd_ < 0 || close_state_ != CloseState::still_open) return false;
    std::array<std::uint8_t, 16 * 1024> buffer;
    device::TcpStream stream(fd_);
    while (true) {
        const auto r = stream.read(buffer.data(), buffer.size());
        if (r.status == device::IoStatus::ok) {
            last_rx_ = SteadyClock::now();
            decode(coap::ByteView(buffer.data(), r.bytes));
            return true;
        }
        if (r.status == device::IoStatus::want_read) {
            pollfd fds{fd_, POLLIN, 0};
            if (detail::poll_until(&fds, 1, deadline) == 0) return false;
            continue;
        }
        const bool fin = r.status == device::IoStatus::eof;
        mark_closed(fin ? CloseState::closed_fin : CloseState::reset, r.error);
        return false;
    }
}

void DeviceClient::decode(coap::ByteView bytes) {
    // After a failure the stream is unusable: what follows is dropped.
    if (decode_failure_) return;
    device::decode_frames(decoder_, bytes, [this](coap::DecodeResult&& result) {
        if (auto* failure = std::get_if<coap::DecodeFailure>(&result)) {
            decode_failure_ = *failure;
            return false;
        }
        auto& message = std::get<coap::Message>(result);
        if (auto_pong_ && message.code() == code::ping) {
            ++pings_answered_;
            send(coap::make_pong(message));
        } else if (message.code() == code::pong &&
                   pings_.take_pong(message, decltype(pings_)::PongMatch::exact)) {
            pong_ = std::move(message);
        } else {
            inbox_.push_back(std::move(message));
        }
        return true;
    });
}

std::optional<coap::Message> DeviceClient::pop_inbox() {
    if (inbox_.empty()) return std::nullopt;
    auto message = std::move(inbox_.front());
    inbox_.pop_front();
    return message;
}

std::optional<coap::Message> DeviceClient::receive() {
    return receive(options_.default_timeout);
}

std::optional<coap::Message> DeviceClient::receive(Millis timeout) {
    const auto deadline = SteadyClock::now() + timeout;
    // A peer that trickles bytes without ever completing a frame must not keep us past the
    // deadline: read_some() returns as soon as any bytes arrive, so check the clock here too.
    for (bool first = true;; first = false) {
        if (auto message = pop_inbox()) return message;
        if (decode_failure_) return std::nullopt;
        if (!first && SteadyClock::now() >= deadline) return std::nullopt;
        if (!read_some(deadline)) return pop_inbox();
    }
}

std::optional<coap::Message> DeviceClient::receive_until(
    const std::function<bool(const coap::Message&)>& match, Millis timeout) {
    const auto deadline = SteadyClock::now() + timeout;
    while (true) {
        auto message = receive(std::chrono::ceil<Millis>(
            std::max(SteadyClock::duration::zero(), deadline - SteadyClock::now())));
        if (!message) return std::nullopt;
        if (match(*message)) return message;
        if (SteadyClock::now() >= deadline) return std::nullopt;
    }
}

std::optional<coap::Message> DeviceClient::receive_code(std::uint8_t c, Millis timeout) {
    return receive_until([c](const coap::Message& m) { return m.code() == c; }, timeout);
}

std::optional<coap::Message> DeviceClient::handshake_csm() {
    return handshake_csm(options_.default_timeout);
}

std::optional<coap::Message> DeviceClient::handshake_csm(Millis timeout) {
    if (!send(coap::make_csm(options_.csm_max_message_size, options_.csm_block_wise), timeout)) {
        return std::nullopt;
    }
    return expect_csm(timeout);
}

std::optional<coap::Message> DeviceClient::expect_csm(Millis timeout) {
    auto message = receive(timeout);
    if (!message || message->code() != code::csm) return std::nullopt;
    return message;
}

std::optional<coap::Message> DeviceClient::ping(coap::Token token, bool custody) {
    return ping(token, custody, options_.default_timeout);
}

std::optional<coap::Message> DeviceClient::ping(coap::Token token, bool custody, Millis timeout) {
    const auto deadline = SteadyClock::now() + timeout;
    pong_.reset();
    pings_.add(token, decltype(pings_)::Kind::ping, deadline, {});
    if (send(coap::make_ping(token, custody), timeout)) {
        // What else arrives meanwhile stays in the inbox.
        while (!pong_ && !decode_failure_ && SteadyClock::now() < deadline && read_some(deadline)) {
        }
    }
    pings_.erase(token, {});
    return std::exchange(pong_, std::nullopt);
}

CloseState DeviceClient::wait_closed(Millis timeout) {
    const auto deadline = SteadyClock::now() + timeout;
    for (bool first = true; close_state_ == CloseState::still_open && fd_ >= 0; first = false) {
        if (!first && SteadyClock::now() >= deadline) break;
        if (!read_some(deadline) && close_state_ == CloseState::still_open) break;
    }
    return close_state_;
}

void DeviceClient::close() {
    if (fd_ < 0) return;
    // Unread input makes close(2) send RST instead of FIN: take what has already arrived.
    std::array<std::uint8_t, 16 * 1024> discard;
    while (::recv(fd_, discard.data(), discard.size(), MSG_DONTWAIT) > 0) {
    }
    ::shutdown(fd_, SHUT_WR);
    close_fd(fd_);
}

void DeviceClient::close_with_reset() {
    if (fd_ < 0) return;
    device::reset_on_close(fd_);
    close_fd(fd_);
}

void DeviceClient::shutdown_write() {
    if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

}  // namespace lwgate::harness
