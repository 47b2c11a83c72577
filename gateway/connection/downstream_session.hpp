// One device connection on the I/O side: socket (plain or TLS), one timer, one write in flight.
//
// Threading: a session lives on exactly one shard, and a shard is one io_context run by one
// thread, so the io_context is the session's strand; no handler runs concurrently with another.
// Every handler holds shared_from_this(), so the session lives until its last handler ran.
//
// Reading: plain TCP waits with async_read_some into a small buffer of the session's own
// (inline_read_, 128 bytes: a short answer or notification fits); a read that fills it drains
// the rest into the shard's shared buffer until EAGAIN (Asio's epoll is edge-triggered), then
// waits again. Not async_wait + read: Asio 1.22 re-registers the descriptor (epoll_ctl MOD) for
// every async_wait, where an async_read_some costs nothing to re-arm after the read it just did
// (one system call less per message from a device, for 128 bytes per connection; a larger
// message costs one more read instead). The shared
// buffer alone cannot be the target of an async read: Asio may read speculatively when the
// operation starts and run the handler later, after another connection's read reused it. TLS
// waits with async_wait and reads through net::TlsStream, in which OpenSSL reads the socket
// itself and frees its buffers when idle (SSL_MODE_RELEASE_BUFFERS).
//
// Writing: DownstreamProtocol accumulates outgoing frames; whenever no write is in flight the
// session takes everything accumulated and writes it in one call (natural batching). Beyond
// write_queue_limit bytes pending, or when one write takes longer than write_timeout, the device
// is not reading and the connection is reset (write_stalled) instead of growing memory. Above
// half the limit the session stops reading, so a device cannot make us queue without bound.
#pragma once

#include <array>
#include <memory>
#include <type_traits>
#include <vector>

#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include "connection/session_host.hpp"
#include "net/tls_stream.hpp"
#include "session/proxy_header.hpp"

namespace lwgate::session {

using TcpSocket = asio::ip::tcp::socket;
using TlsStream = net::TlsStream;

template <class Stream>
class DownstreamSession final : public SessionBase,
                                public std::enable_shared_from_this<DownstreamSession<Stream>> {
  public:
    static constexpr bool is_tls = std::is_same_v<Stream, TlsStream>;

    DownstreamSession(SessionHost& host, Stream&& stream, ConnectionInfo info);

    void start() override;
    // Serve the connection only to turn it away: CSM, 7.04 Release with Hold-Off, close.
    void start_refused(CloseReason reason, std::uint32_t hold_off_seconds);
    void drain(std::optional<std::uint32_t> hold_off_seconds) override;
    void close(CloseReason reason, std::string detail) override;
    void send(const coap::Message& message) override;
    void set_registered(bool registered) override;
    void apply_keepalive(const KeepaliveParams& params) override;
    const ConnectionInfo& info() const override { return info_; }
    SessionSnapshot snapshot() const override;
    void admin_ping(Duration timeout, std::function<void(AdminPingResult)> done) override;
    void admin_release(std::optional<std::string> alternative_address,
                       std::optional<std::uint32_t> hold_off_seconds) override;
    const std::string& close_detail() const override { return close_detail_; }

    const DownstreamProtocol& protocol() const { return protocol_; }
    // Per listener (TLS only); set before start().
    void set_handshake_timeout(Duration timeout) { handshake_timeout_ = timeout; }
    // TLS only; set before start(). Given back when the handshake is over, whatever its end.
    void set_handshake_ticket(PendingHandshakes::Ticket ticket) {
        if constexpr (is_tls) handshake_ticket_ = std::move(ticket);
    }
    // Proxy listeners; set before start(). The first bytes must be a PROXY header, read before
    // TLS within the handshake timeout; its source address becomes info().remote, and `admit`
    // judges that address (the per-address limits the accepting thread could not apply).
    void expect_proxy_header(ProxyAdmit admit) { proxy_admit_ = std::move(admit); }

  private:
    asio::ip::tcp::socket& socket();
    void on_handshake(const std::error_code& ec);
    void refuse_handshake(const std::error_code& ec);
    void begin_handshake_or_protocol();
    void read_proxy_header();
    void wait_proxy_header();
    void on_proxy_header(const ProxyHeader& header);
    void refuse_proxy(std::string detail);
    void log_close(const CloseDecision& decision);
    void give_back_handshake_slot();  // and the handshake's ticket
    void begin_protocol();
    void read();
    void on_readable(const std::error_code& ec);
    void on_received(const std::error_code& ec, std::size_t n);  // plain TCP
    void wait_readable();
    void consume(coap::ByteView bytes);
    void on_read_error(const std::error_code& ec);
    void after_activity();
    void flush();
    void on_written(const std::error_code& ec, std::size_t n);
    void on_close_notify_sent(const std::error_code& ec);
    void arm_timer();
    void on_timer(const std::error_code& ec);
    void deliver_inbound();
    void sync_stats();
    void finish_close(const CloseDecision& decision);
    bool reading_paused() const;
    void deliver_admin_pings();

    SessionHost& host_;
    Stream stream_;
    asio::steady_timer timer_;
    TimePoint timer_at_ = never;
    ConnectionInfo info_;
    DownstreamProtocol protocol_;
    ProtocolStats reported_{};  // stats already added to the shard counters
    coap::Bytes write_buffer_;
    TimePoint write_started_{};
    TimePoint handshake_deadline_ = never;
    Duration handshake_timeout_{10'000};
    TimePoint close_deadline_ = never;  // after_flush close: give up on the peer after this
    bool handshaking_ = false;
    ProxyAdmit proxy_admit_;             // set: the PROXY header is still to come
    coap::Bytes proxy_buffer_;           // the part of the header read so far
    bool holds_handshake_slot_ = false;  // SessionHost::acquire_handshake_slot granted one
    struct NoTicket {};
    [[no_unique_address]] std::conditional_t<is_tls, PendingHandshakes::Ticket, NoTicket>
        handshake_ticket_;
    bool writing_ = false;
    bool reading_ = false;
    bool closed_ = false;
    bool draining_ = false;
    bool fin_sent_ = false;
    bool close_notify_sent_ = false;  // TLS: the orderly close sends close_notify before the FIN
    bool handshake_refused_ = false;  // TLS: the security log has the close's line already
    std::optional<std::pair<CloseReason, std::uint32_t>> refusal_;
    // Who waits for which operator Ping (the protocol decides when each one ends).
    std::vector<std::pair<std::uint64_t, std::function<void(AdminPingResult)>>> admin_waiters_;
    std::uint64_t bytes_in_ = 0;
    std::uint64_t bytes_out_ = 0;
    TimePoint last_tx_{};
    std::string close_detail_;
    struct NoInlineRead {};
    static constexpr std::size_t inline_read_size = 128;
    [[no_unique_address]] std::conditional_t<is_tls, NoInlineRead,
                                             std::array<std::uint8_t, inline_read_size>>
        inline_read_;
};

using TcpSession = DownstreamSession<TcpSocket>;
using TlsSession = DownstreamSession<TlsStream>;

}  // namespace lwgate::session
