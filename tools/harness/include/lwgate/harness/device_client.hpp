// A blocking CoAP-over-TCP (RFC 8323) device built on the project's sans-I/O codec.
//
// The socket is non-blocking underneath; every operation waits with poll(2) against a deadline,
// so nothing here can hang a test. Received bytes are decoded as they arrive with
// coap::TcpDecoder, which keeps a partial frame, so a read that returns several frames (or part
// of one) loses nothing.
//
// Messages decoded while waiting for something else (wait_closed(), ping(), receive_until())
// are kept in an inbox and returned by later receive() calls, in order, unless a call says it
// discards them.
//
// With set_auto_pong(true) the client behaves like a well-behaved device: every Ping it decodes
// is answered at once with a Pong carrying the same token (and Custody if asked for) and is not
// returned to the caller; pings_answered() counts them. Without it the client answers nothing,
// which is how a half-open peer looks from the gateway's side.
//
// Closing is observed precisely: wait_closed() reports closed_fin when read(2) returns 0 (the
// gateway sent FIN) and reset when it fails with ECONNRESET (the gateway sent RST, e.g. SO_LINGER
// 0), so tests can tell a graceful close from an abortive one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <variant>

#include "lwgate/coap/message.hpp"
#include "lwgate/coap/tcp_codec.hpp"
#include "lwgate/device/pending.hpp"
#include "lwgate/harness/error.hpp"

namespace lwgate::harness {

enum class CloseState {
    still_open,  // nothing said the connection ended
    closed_fin,  // orderly close by the peer: read(2) returned 0
    reset,       // abortive close: ECONNRESET (or another socket error, see last_errno())
};

const char* to_string(CloseState state);

struct DeviceOptions {
    // Max-Message-Size in the CSM that handshake_csm() sends.
    std::uint32_t csm_max_message_size = 1152;
    bool csm_block_wise = true;
    // Largest frame this client accepts from the gateway.
    std::size_t max_receive_size = 8u * 1024 * 1024;
    Millis default_timeout{2'000};
};

class DeviceClient {
  public:
    explicit DeviceClient(DeviceOptions options = {});
    ~DeviceClient();  // close(): an orderly FIN, as a device that simply goes away
    DeviceClient(DeviceClient&& other) noexcept;
    DeviceClient& operator=(DeviceClient&& other) noexcept;
    DeviceClient(const DeviceClient&) = delete;
    DeviceClient& operator=(const DeviceClient&) = delete;

    // Connects to host:port (a name or an IP literal) with TCP_NODELAY. Throws HarnessError on
    // failure or timeout.
    void connect(const std::string& host, std::uint16_t port, Millis timeout = Millis{5'000});
    // Like connect(), but returns false instead of throwing.
    bool try_connect(const std::string& host, std::uint16_t port, Millis timeout = Millis{5'000});

    bool is_open() const { return fd_ >= 0; }
    std::uint16_t local_port() const;

    // Writes the whole encoded message / byte string. False if the connection failed (the close
    // state is updated) or the timeout passed before everything was written.
    bool send(const coap::Message& message);
    bool send(const coap::Message& message, Millis timeout);
    bool send_raw(coap::ByteView bytes);
    bool send_raw(coap::ByteView bytes, Millis timeout);

    // The next message: from the inbox, the receive buffer, or the socket. nullopt on timeout,
    // on close (see close_state()) or on a decode failure (see decode_failure()).
    std::optional<coap::Message> receive();
    std::optional<coap::Message> receive(Millis timeout);
    // The first message for which `match` is true; others are discarded (Pings are still
    // answered in auto-pong mode).
    std::optional<coap::Message> receive_until(
        const std::function<bool(const coap::Message&)>& match, Millis timeout);
    // The first message with this code; others are discarded.
    std::optional<coap::Message> receive_code(std::uint8_t code, Millis timeout);

    // Sends our CSM (DeviceOptions) and waits for the gateway's. Returns the gateway's CSM, or
    // nullopt if the first message from the gateway is not a CSM or none came in time.
    std::optional<coap::Message> handshake_csm();
    std::optional<coap::Message> handshake_csm(Millis timeout);
    // Waits for the gateway's CSM only (sends nothing).
    std::optional<coap::Message> expect_csm(Millis timeout);

    // Sends a Ping and waits for the Pong with the same token. Other messages that arrive
    // meanwhile go to the inbox (Pings are answered in auto-pong mode). Returns the Pong.
    std::optional<coap::Message> ping(coap::Token token, bool custody = false);
    std::optional<coap::Message> ping(coap::Token token, bool custody, Millis timeout);

    // Waits until the peer closes the connection or the timeout passes. Data arriving
    // meanwhile is decoded into the inbox (and Pings answered in auto-pong mode).
    CloseState wait_closed(Millis timeout);
    CloseState close_state() const { return close_state_; }
    int last_errno() const { return last_errno_; }
    // When the close was first observed (steady clock), if it was.
    std::optional<SteadyClock::time_point> closed_at() const { return closed_at_; }

    // Orderly close (FIN): reads and drops input that has already arrived (unread input would
    // turn the close into an RST), then shutdown(SHUT_WR) and close(2).
    void close();
    // Abortive close: SO_LINGER {on, 0} then close(2), so the kernel sends RST.
    void close_with_reset();
    // Half-close: shutdown(SHUT_WR) sends FIN but keeps reading.
    void shutdown_write();

    void set_auto_pong(bool on) { auto_pong_ = on; }
    std::size_t pings_answered() const { return pings_answered_; }

    // Set when the gateway sent something our decoder rejected (the stream is then unusable).
    const std::optional<coap::DecodeFailure>& decode_failure() const { return decode_failure_; }
    // When the last byte we sent left (steady clock), and when the last byte arrived.
    SteadyClock::time_point last_tx() const { return last_tx_; }
    SteadyClock::time_point last_rx() const { return last_rx_; }
    std::size_t inbox_size() const { return inbox_.size(); }

    int fd() const { return fd_; }

  private:
    // Decodes received bytes into the inbox (answering Pings in auto-pong mode).
    void decode(coap::ByteView bytes);
    // One read(2) after waiting for readability until `deadline`, decoded. False on timeout or
    // close.
    bool read_some(SteadyClock::time_point deadline);
    void mark_closed(CloseState state, int err);
    std::optional<coap::Message> pop_inbox();

    DeviceOptions options_;
    int fd_ = -1;
    coap::TcpDecoder decoder_;
    std::deque<coap::Message> inbox_;
    // The Ping ping() waits for, and its Pong once decoded (kept out of the inbox).
    device::PendingRequests<std::monostate> pings_;
    std::optional<coap::Message> pong_;
    CloseState close_state_ = CloseState::still_open;
    int last_errno_ = 0;
    std::optional<SteadyClock::time_point> closed_at_;
    std::optional<coap::DecodeFailure> decode_failure_;
    bool auto_pong_ = false;
    std::size_t pings_answered_ = 0;
    SteadyClock::time_point last_tx_{};
    SteadyClock::time_point last_rx_{};
};

}  // namespace lwgate::harness
