#include "connection/downstream_session.hpp"

#include "log/fields.hpp"
#include "net/handshake_rejection.hpp"
#include "net/tls_context.hpp"

#include <algorithm>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>
#include <asio/ip/address_v6.hpp>
#include <asio/post.hpp>
#include <asio/write.hpp>

namespace lwgate::session {

namespace {

std::string certificate_common_name(SSL* ssl) {
    X509* cert = SSL_get1_peer_certificate(ssl);
    if (!cert) return {};
    std::string result;
    if (X509_NAME* subject = X509_get_subject_name(cert)) {
        char buf[256];
        const int n = X509_NAME_get_text_by_NID(subject, NID_commonName, buf, sizeof buf);
        if (n > 0) result.assign(buf, static_cast<std::size_t>(n));
    }
    X509_free(cert);
    return result;
}

// DNS and URI subjectAltNames: an endpoint name such as urn:imei:... usually sits in a URI SAN.
std::vector<std::string> certificate_alt_names(SSL* ssl) {
    std::vector<std::string> out;
    X509* cert = SSL_get1_peer_certificate(ssl);
    if (!cert) return out;
    auto* names =
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    if (names) {
        for (int i = 0; i < sk_GENERAL_NAME_num(names) && out.size() < 16; ++i) {
            const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
            if (name->type != GEN_DNS && name->type != GEN_URI) continue;
            const ASN1_IA5STRING* text =
                name->type == GEN_DNS ? name->d.dNSName : name->d.uniformResourceIdentifier;
            out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)),
                             static_cast<std::size_t>(ASN1_STRING_length(text)));
        }
        GENERAL_NAMES_free(names);
    }
    X509_free(cert);
    return out;
}

bool is_would_block(const std::error_code& ec) {
    return ec == asio::error::would_block || ec == asio::error::try_again;
}

bool is_peer_close(const std::error_code& ec) {
    return ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
}

// Closes a flood of connections repeats (refused at accept, no PROXY header, handshakes that
// never end): their lines take the security log's budget.
bool flood_prone(CloseReason reason) {
    return reason == CloseReason::limit_connections || reason == CloseReason::limit_rate ||
           reason == CloseReason::proxy_header || reason == CloseReason::handshake_timeout ||
           reason == CloseReason::tls_failure;
}

}  // namespace

template <class Stream>
DownstreamSession<Stream>::DownstreamSession(SessionHost& host, Stream&& stream,
                                             ConnectionInfo info)
    : host_(host),
      stream_(std::move(stream)),
      timer_(host.io()),
      info_(std::move(info)),
      protocol_(host.settings().protocol, info_.connected_since) {}

template <class Stream>
asio::ip::tcp::socket& DownstreamSession<Stream>::socket() {
    if constexpr (is_tls) {
        return stream_.next_layer();
    } else {
        return stream_;
    }
}

template <class Stream>
void DownstreamSession<Stream>::start() {
    auto& m = host_.metrics();
    m.sessions_started.add();
    (is_tls ? m.connections_tls : m.connections_tcp).add(1);
    std::error_code ec;
    socket().non_blocking(true, ec);
    if (proxy_admit_ || is_tls) {
        handshaking_ = true;
        // The header and the wait for a handshake slot count against the same deadline.
        handshake_deadline_ = host_.time().now() + handshake_timeout_;
        arm_timer();
    }
    if (proxy_admit_) {
        read_proxy_header();
    } else {
        begin_handshake_or_protocol();
    }
}

template <class Stream>
void DownstreamSession<Stream>::begin_handshake_or_protocol() {
    if constexpr (is_tls) {
        host_.acquire_handshake_slot([self = this->shared_from_this()] {
            if (self->closed_) return false;
            self->holds_handshake_slot_ = true;
            self->stream_.async_handshake(
                [self](const std::error_code& ec) { self->on_handshake(ec); });
            return true;
        });
    } else {
        handshaking_ = false;
        handshake_deadline_ = never;
        begin_protocol();
    }
}

// Peeks rather than reads, and takes from the socket exactly the header's bytes: whatever follows
// (a ClientHello that OpenSSL reads from the socket itself, or CoAP) stays where it is. Bytes of
// an incomplete header are taken, so that the next wait reports only new bytes.
template <class Stream>
void DownstreamSession<Stream>::read_proxy_header() {
    std::array<std::uint8_t, max_v2_header> peeked;
    const std::size_t room = max_v2_header - proxy_buffer_.size();
    std::error_code ec;
    const std::size_t n =
        socket().receive(asio::buffer(peeked.data(), room), asio::socket_base::message_peek, ec);
    if (is_would_block(ec)) {
        wait_proxy_header();
        return;
    }
    if (ec) {
        refuse_proxy(is_peer_close(ec) ? "closed before a PROXY header" : ec.message());
        return;
    }
    const std::size_t had = proxy_buffer_.size();
    proxy_buffer_.insert(proxy_buffer_.end(), peeked.begin(), peeked.begin() + n);
    const ProxyParse parsed = parse_proxy_header(proxy_buffer_);
    if (parsed.status == ProxyParse::Status::error) {
        refuse_proxy(parsed.error.message());
        return;
    }
    const std::size_t take =
        parsed.status == ProxyParse::Status::parsed ? parsed.consumed - had : n;
    if (socket().receive(asio::buffer(peeked.data(), take), 0, ec) != take || ec) {
        refuse_proxy("reading the PROXY header: " + (ec ? ec.message() : "short read"));
        return;
    }
    bytes_in_ += take;
    host_.metrics().bytes_in.add(take);
    if (parsed.status == ProxyParse::Status::need_more) {
        wait_proxy_header();
        return;
    }
    on_proxy_header(parsed.header);
}

template <class Stream>
void DownstreamSession<Stream>::wait_proxy_header() {
    socket().async_wait(asio::socket_base::wait_read,
                        [self = this->shared_from_this()](const std::error_code& ec) {
                            if (self->closed_) return;
                            if (ec) {
                                self->refuse_proxy(ec.message());
                                return;
                            }
                            self->read_proxy_header();
                        });
}

template <class Stream>
void DownstreamSession<Stream>::on_proxy_header(const ProxyHeader& header) {
    proxy_buffer_ = {};
    AddressCounts::Address address{};
    std::error_code ec;
    const auto peer = socket().remote_endpoint(ec).address();
    if (!header.use_socket_address) {
        spdlog::debug("conn={} PROXY header: remote={} via balancer {}", info_.id,
                      to_string(header.source), info_.remote);
        info_.remote = to_string(header.source);
        address = header.source.address;
    } else if (!ec) {  // LOCAL or UNKNOWN: a balancer's own connection
        address = peer.is_v4()
                      ? asio::ip::make_address_v6(asio::ip::v4_mapped, peer.to_v4()).to_bytes()
                      : peer.to_v6().to_bytes();
    }
    auto admitted = proxy_admit_(address);
    proxy_admit_ = nullptr;
    if (!admitted) {
        finish_close({CloseReason::limit_connections, CloseMode::immediate,
                      "connections.max_tls_handshakes_per_address"});
        return;
    }
    set_handshake_ticket(std::move(*admitted));
    begin_handshake_or_protocol();
}

template <class Stream>
void DownstreamSession<Stream>::refuse_proxy(std::string detail) {
    finish_close({CloseReason::proxy_header, CloseMode::immediate, std::move(detail)});
}

template <class Stream>
void DownstreamSession<Stream>::start_refused(CloseReason reason, std::uint32_t hold_off_seconds) {
    refusal_ = {reason, hold_off_seconds};
    start();
}

template <class Stream>
void DownstreamSession<Stream>::give_back_handshake_slot() {
    if constexpr (is_tls) handshake_ticket_.release();
    if (!holds_handshake_slot_) return;
    holds_handshake_slot_ = false;
    host_.release_handshake_slot();
}

template <class Stream>
void DownstreamSession<Stream>::on_handshake(const std::error_code& ec) {
    give_back_handshake_slot();
    if (closed_) return;
    handshaking_ = false;
    handshake_deadline_ = never;
    if constexpr (is_tls) {
        if (ec) {
            refuse_handshake(ec);
            return;
        }
        host_.metrics().tls_handshakes.add();
        SSL* ssl = stream_.native_handle();
        info_.psk_identity = net::psk_identity_of(ssl);
        info_.peer_certificate = certificate_common_name(ssl);
        info_.peer_certificate_names = certificate_alt_names(ssl);
        info_.tls_record_overhead = net::tls_record_overhead(ssl);
        spdlog::debug("conn={} tls established version={} cipher={} psk_identity='{}' cert_cn='{}'",
                      info_.id, SSL_get_version(ssl), SSL_get_cipher_name(ssl), info_.psk_identity,
                      info_.peer_certificate);
    }
    begin_protocol();
}

// A failed handshake is a refused identity: counted by why, and logged once (its close is
// not logged again), within the security log's budget. A peer that leaves before the end (a
// balancer's TCP check, a scanner) offered nothing to refuse: that is only a close.
template <class Stream>
void DownstreamSession<Stream>::refuse_handshake(const std::error_code& ec) {
    if (is_peer_close(ec) || ec.category() == asio::error::get_system_category()) {
        host_.metrics().tls_failures.add();
        finish_close({CloseReason::tls_failure, CloseMode::immediate,
                      "peer left during the TLS handshake: " + ec.message()});
        return;
    }
    handshake_refused_ = true;
    if constexpr (is_tls) {
        SSL* ssl = stream_.native_handle();
        const auto* noted = net::noted_rejection(ssl);
        const bool unknown_psk = noted && !noted->unknown_psk_identity.empty();
        const bool bad_certificate =
            (noted && noted->certificate_rejected) || net::is_certificate_error(ec);
        const auto why = classify({unknown_psk, bad_certificate});
        auto& m = host_.metrics();
        m.tls_failures.add();
        m.tls_refused[static_cast<std::size_t>(why)].add();
        if (host_.security_log().may_log(to_string(why), host_.time().now())) {
            const std::string psk =
                unknown_psk ? noted->unknown_psk_identity : net::psk_identity_of(ssl);
            std::string detail = "TLS handshake failed: " + ec.message();
            if (noted && !noted->certificate_error.empty())
                detail += " (certificate: " + noted->certificate_error + ")";
            const std::string_view certificate =
                noted ? std::string_view(noted->certificate_cn) : std::string_view();
            logging::SecurityLog::write_refused({.reason = to_string(why),
                                                 .conn = info_.id,
                                                 .psk_identity = psk,
                                                 .certificate = certificate,
                                                 .remote = info_.remote,
                                                 .detail = detail});
        }
    }
    finish_close({CloseReason::tls_failure, CloseMode::immediate, ec.message()});
}

template <class Stream>
void DownstreamSession<Stream>::begin_protocol() {
    protocol_.start(
        host_.time().now());  // our CSM goes out at once, without waiting for the device's
    if (refusal_) {
        protocol_.refuse(refusal_->first, refusal_->second, "connection limit, retry later");
    }
    after_activity();
}

template <class Stream>
bool DownstreamSession<Stream>::reading_paused() const {
    const std::size_t pending = protocol_.output_size() + (writing_ ? write_buffer_.size() : 0);
    // The answers to what was read come later (the bridge posts them): count the requests too.
    return pending > host_.settings().write_queue_limit / 2 || protocol_.too_many_unanswered();
}

template <class Stream>
void DownstreamSession<Stream>::read() {
    if (reading_ || closed_ || handshaking_ || reading_paused()) return;
    reading_ = true;
    // Try first: bytes may already wait in the kernel or in OpenSSL (e.g. after a pause), and
    // an edge-triggered wait would not report them again.
    asio::post(host_.io(), [self = this->shared_from_this()] { self->on_readable({}); });
}

template <class Stream>
void DownstreamSession<Stream>::wait_readable() {
    reading_ = true;
    auto handler = [self = this->shared_from_this()](const std::error_code& e) {
        self->on_readable(e);
    };
    if constexpr (is_tls) {
        stream_.async_wait_readable(std::move(handler));  // OpenSSL may need to write first
    } else {
        socket().async_read_some(
            asio::buffer(inline_read_),
            [self = this->shared_from_this()](const std::error_code& e, std::size_t n) {
                self->on_received(e, n);
            });
    }
}

template <class Stream>
void DownstreamSession<Stream>::on_received(const std::error_code& ec, std::size_t n) {
    if constexpr (!is_tls) {
        reading_ = false;
        if (closed_) return;
        if (ec) {
            on_read_error(ec);  // end of stream included
            return;
        }
        reading_ = true;  // consume() may call read(); we are still reading
        consume({inline_read_.data(), n});
        reading_ = false;
        if (closed_ || reading_paused()) return;  // after_activity()/on_written() resume
        if (n == inline_read_.size()) {
            on_readable({});  // more may wait: drain into the shared buffer, then wait again
        } else {
            wait_readable();
        }
    }
}

template <class Stream>
void DownstreamSession<Stream>::on_readable(const std::error_code& ec) {
    reading_ = false;
    if (closed_) return;
    if (ec) {
        on_read_error(ec);
        return;
    }
    const auto buffer = host_.read_buffer();
    // Bounded loop for fairness between the shard's connections.
    for (int round = 0; round < 16; ++round) {
        std::error_code rec;
        const std::size_t n = stream_.read_some(asio::buffer(buffer.data(), buffer.size()), rec);
        if (is_would_block(rec)) {
            wait_readable();
            return;
        }
        if (rec) {
            on_read_error(rec);
            return;
        }
        reading_ = true;  // consume() may call read(); we are still reading
        consume({buffer.data(), n});
        reading_ = false;
        if (closed_ || reading_paused()) return;  // after_activity()/on_written() resume
    }
    read();
}

template <class Stream>
void DownstreamSession<Stream>::consume(coap::ByteView bytes) {
    host_.metrics().bytes_in.add(bytes.size());
    bytes_in_ += bytes.size();
    if (protocol_.close_decision()) return;  // lingering close: discard what still arrives
    protocol_.on_bytes(bytes, host_.time().now());
    if (protocol_.has_admin_ping_outcomes()) deliver_admin_pings();
    after_activity();
}

template <class Stream>
void DownstreamSession<Stream>::on_read_error(const std::error_code& ec) {
    // Closing already (an Abort or Release on its way): however the device ends it, FIN or RST
    // at the Abort, the close is ours and keeps its reason.
    if (auto& decision = protocol_.close_decision()) {
        finish_close(*decision);
        return;
    }
    if (is_peer_close(ec)) {
        if (draining_) {
            finish_close(
                {CloseReason::shutdown, CloseMode::immediate, "device left after Release"});
        } else {
            finish_close({CloseReason::peer_closed, CloseMode::immediate, "device closed"});
        }
        return;
    }
    finish_close({CloseReason::reset, CloseMode::immediate, ec.message()});
}

template <class Stream>
void DownstreamSession<Stream>::after_activity() {
    if (closed_) return;
    deliver_inbound();
    sync_stats();
    const std::size_t queued = protocol_.output_size() + (writing_ ? write_buffer_.size() : 0);
    if (queued > host_.settings().write_queue_limit) {
        finish_close({CloseReason::write_stalled, CloseMode::reset,
                      "device does not read: " + std::to_string(queued) + " bytes queued"});
        return;
    }
    if (auto& decision = protocol_.close_decision()) {
        if (decision->mode != CloseMode::after_flush) {
            finish_close(*decision);
            return;
        }
        flush();
        if constexpr (is_tls) {
            // Everything is out: close_notify first (as a write, under write_timeout), so the
            // device can tell our close from a truncation.
            if (!writing_ && !close_notify_sent_) {
                close_notify_sent_ = true;
                writing_ = true;
                write_started_ = host_.time().now();
                stream_.async_shutdown(
                    [self = this->shared_from_this()](const std::error_code& ec) {
                        self->on_close_notify_sent(ec);
                    });
            }
        }
        if (!writing_) {
            // Everything is out: send FIN and linger until the device closes too, so that unread
            // input does not turn our close into an RST that could destroy the Abort/Release.
            if (!fin_sent_) {
                fin_sent_ = true;
                close_deadline_ = host_.time().now() + host_.settings().linger;
                std::error_code ignored;
                socket().shutdown(asio::socket_base::shutdown_send, ignored);
            }
        } else if (close_deadline_ == never) {
            close_deadline_ = host_.time().now() + host_.settings().write_timeout;
        }
        read();
        arm_timer();
        return;
    }
    flush();
    read();
    arm_timer();
}

template <class Stream>
void DownstreamSession<Stream>::deliver_inbound() {
    if (!protocol_.has_inbound()) return;
    for (auto& message : protocol_.take_inbound()) {
        host_.on_device_message(*this, std::move(message));
        if (closed_) return;
    }
}

template <class Stream>
void DownstreamSession<Stream>::sync_stats() {
    const auto& s = protocol_.stats();
    auto& m = host_.metrics();
    if (s.pings_sent != reported_.pings_sent) {
        spdlog::debug("conn={} ping sent (missed in a row: {})", info_.id,
                      protocol_.keepalive().missed());
    }
    if (s.pongs_received != reported_.pongs_received && s.last_rtt) {
        spdlog::debug("conn={} pong received rtt={:.3f}ms", info_.id,
                      static_cast<double>(s.last_rtt->count()) / 1000.0);
    }
    if (s.rtt_samples != reported_.rtt_samples) {
        const auto recent = protocol_.recent_rtts();
        const auto n =
            std::min<std::uint64_t>(s.rtt_samples - reported_.rtt_samples, recent.size());
        for (auto i = recent.size() - n; i < recent.size(); ++i)
            m.observe_rtt(recent[i]);
    }
    m.messages_in.add(s.messages_in - reported_.messages_in);
    m.messages_out.add(s.messages_out - reported_.messages_out);
    m.pings_sent.add(s.pings_sent - reported_.pings_sent);
    m.pongs_received.add(s.pongs_received - reported_.pongs_received);
    m.pings_received.add(s.pings_received - reported_.pings_received);
    m.missed_pongs.add(s.missed_pongs - reported_.missed_pongs);
    m.error_responses.add(s.error_responses - reported_.error_responses);
    m.too_large_for_peer.add(s.too_large_for_peer - reported_.too_large_for_peer);
    m.keepalive_bytes_in.add(s.keepalive.bytes_in - reported_.keepalive.bytes_in);
    m.keepalive_bytes_out.add(s.keepalive.bytes_out - reported_.keepalive.bytes_out);
    m.keepalive_wire_bytes.add(
        session::estimate_wire_bytes(s.keepalive, info_.tls_record_overhead) -
        session::estimate_wire_bytes(reported_.keepalive, info_.tls_record_overhead));
    reported_ = s;
}

template <class Stream>
void DownstreamSession<Stream>::flush() {
    if (writing_ || closed_ || handshaking_ || !protocol_.has_output()) return;
    protocol_.take_output_into(write_buffer_);
    writing_ = true;
    write_started_ = host_.time().now();
    last_tx_ = write_started_;
    auto handler = [self = this->shared_from_this()](const std::error_code& ec, std::size_t n) {
        self->on_written(ec, n);
    };
    if constexpr (is_tls) {
        stream_.async_write(asio::buffer(write_buffer_), std::move(handler));
    } else {
        asio::async_write(stream_, asio::buffer(write_buffer_), std::move(handler));
    }
}

template <class Stream>
void DownstreamSession<Stream>::on_written(const std::error_code& ec, std::size_t n) {
    writing_ = false;
    if (closed_) return;
    host_.metrics().bytes_out.add(n);
    bytes_out_ += n;
    if (ec) {
        if (auto& decision = protocol_.close_decision()) {
            finish_close(*decision);
            return;
        }
        finish_close({CloseReason::reset, CloseMode::immediate, "write: " + ec.message()});
        return;
    }
    protocol_.recycle_output(std::move(write_buffer_));
    write_buffer_ = {};
    after_activity();
}

template <class Stream>
void DownstreamSession<Stream>::on_close_notify_sent(const std::error_code& ec) {
    writing_ = false;
    if (closed_) return;
    if (ec) {  // the device is gone already: the close it was getting is done
        auto decision = *protocol_.close_decision();
        decision.mode = CloseMode::immediate;
        finish_close(decision);
        return;
    }
    after_activity();
}

template <class Stream>
void DownstreamSession<Stream>::arm_timer() {
    if (closed_) return;
    // During the TLS handshake only the handshake deadline counts: the protocol has not started.
    TimePoint deadline = handshaking_ ? handshake_deadline_
                                      : std::min(protocol_.next_deadline(), handshake_deadline_);
    deadline = std::min(deadline, close_deadline_);
    if (writing_) deadline = std::min(deadline, write_started_ + host_.settings().write_timeout);
    if (deadline == never || deadline >= timer_at_) return;  // an earlier wake-up re-checks
    timer_at_ = deadline;
    timer_.expires_at(deadline);
    timer_.async_wait(
        [self = this->shared_from_this()](const std::error_code& ec) { self->on_timer(ec); });
}

template <class Stream>
void DownstreamSession<Stream>::on_timer(const std::error_code& ec) {
    if (ec == asio::error::operation_aborted || closed_) return;  // re-armed or closed
    timer_at_ = never;
    const TimePoint now = host_.time().now();
    if (handshaking_) {
        if (now < handshake_deadline_) {
            arm_timer();
        } else if (proxy_admit_) {
            refuse_proxy("no complete PROXY header in time");
        } else {
            host_.metrics().tls_failures.add();
            finish_close({CloseReason::handshake_timeout, CloseMode::immediate, "TLS handshake"});
        }
        return;
    }
    if (writing_ && now >= write_started_ + host_.settings().write_timeout) {
        finish_close({CloseReason::write_stalled, CloseMode::reset, "write timed out"});
        return;
    }
    if (now >= close_deadline_) {
        auto decision = *protocol_.close_decision();
        decision.mode = CloseMode::reset;
        finish_close(decision);
        return;
    }
    protocol_.on_tick(now);
    if (protocol_.has_admin_ping_outcomes()) deliver_admin_pings();
    after_activity();
}

template <class Stream>
void DownstreamSession<Stream>::drain(std::optional<std::uint32_t> hold_off_seconds) {
    if (closed_ || draining_) return;
    draining_ = true;
    if (handshaking_) {
        finish_close({CloseReason::shutdown, CloseMode::immediate, "draining during handshake"});
        return;
    }
    protocol_.release(std::nullopt, hold_off_seconds, "gateway shutting down");
    after_activity();
}

template <class Stream>
void DownstreamSession<Stream>::close(CloseReason reason, std::string detail) {
    if (closed_) return;
    if (reason == CloseReason::shutdown || handshaking_) {
        finish_close({reason, CloseMode::immediate, std::move(detail)});
        return;
    }
    protocol_.abort(reason, detail);
    after_activity();
}

template <class Stream>
void DownstreamSession<Stream>::send(const coap::Message& message) {
    if (closed_) return;
    if (!protocol_.send(message)) {
        if (protocol_.close_decision()) return;  // closing: nothing more goes out anyway
        sync_stats();                            // the drop shows in /metrics at once
        spdlog::warn("conn={} dropped {}: larger than the device's Max-Message-Size {}", info_.id,
                     coap::describe(message), protocol_.peer().max_message_size);
        read();  // it answered a request all the same: reading may resume
        return;
    }
    flush();
    read();  // an answer may have ended a pause (too many requests unanswered)
    arm_timer();
}

template <class Stream>
void DownstreamSession<Stream>::set_registered(bool registered) {
    if (closed_) return;
    protocol_.set_registered(registered, host_.time().now());
    arm_timer();
}

template <class Stream>
void DownstreamSession<Stream>::apply_keepalive(const KeepaliveParams& params) {
    if (closed_) return;
    protocol_.update_keepalive(params);
    arm_timer();
}

template <class Stream>
void DownstreamSession<Stream>::finish_close(const CloseDecision& decision) {
    if (closed_) return;
    closed_ = true;
    give_back_handshake_slot();  // closed mid-handshake (timeout, drain, admin)
    close_detail_ = decision.detail;
    sync_stats();
    std::error_code ignored;
    timer_.cancel();
    auto& sock = socket();
    if (decision.mode == CloseMode::reset) {
        sock.set_option(asio::socket_base::linger(true, 0), ignored);
    } else {
        sock.shutdown(asio::socket_base::shutdown_both, ignored);
    }
    sock.close(ignored);
    protocol_.close_admin_pings();
    deliver_admin_pings();
    auto& m = host_.metrics();
    m.closes[static_cast<std::size_t>(decision.reason)].add();
    (is_tls ? m.connections_tls : m.connections_tcp).add(-1);
    log_close(decision);
    host_.on_session_closed(*this, decision.reason);
}

template <class Stream>
void DownstreamSession<Stream>::log_close(const CloseDecision& decision) {
    if (handshake_refused_) return;  // refuse_handshake() logged it
    const auto level =
        decision.reason == CloseReason::peer_closed ? spdlog::level::debug : spdlog::level::info;
    if (!spdlog::should_log(level)) return;
    const auto reason = to_string(decision.reason);
    const TimePoint now = host_.time().now();
    if (flood_prone(decision.reason) && !host_.security_log().may_log(reason, now)) return;
    const auto endpoint = host_.endpoint_of(info_.id);
    logging::log(level,
                 {{"reason", reason},
                  {"detail", decision.detail},
                  {"endpoint", endpoint ? std::string_view(*endpoint) : std::string_view()},
                  {"conn", info_.id},
                  {"remote", info_.remote},
                  {"transport", to_string(info_.transport)}},
                 "closed");
}

// ---- admin API -----------------------------------------------------------------------------

template <class Stream>
SessionSnapshot DownstreamSession<Stream>::snapshot() const {
    SessionSnapshot out;
    out.info = info_;
    const auto& ka = protocol_.keepalive();
    const auto& stats = protocol_.stats();
    out.last_rx = ka.last_rx();
    out.last_tx = last_tx_;
    out.handshaking = handshaking_;
    out.registered = ka.registered();
    out.closing = draining_ || protocol_.released() || protocol_.close_decision().has_value();
    out.keepalive.idle = ka.params().idle;
    out.keepalive.pong_timeout = ka.params().pong_timeout;
    out.keepalive.max_missed = ka.params().max_missed;
    out.keepalive.awaiting_pong = ka.awaiting_pong();
    out.keepalive.missed = ka.missed();
    out.keepalive.pings_sent = stats.pings_sent;
    out.keepalive.pongs_received = stats.pongs_received;
    out.keepalive.missed_total = stats.missed_pongs;
    out.keepalive.recent_rtts = protocol_.recent_rtts();
    out.keepalive.traffic = stats.keepalive;
    out.keepalive.tls_record_overhead = info_.tls_record_overhead;
    out.bytes_in = bytes_in_;
    out.bytes_out = bytes_out_;
    out.messages_in = stats.messages_in;
    out.messages_out = stats.messages_out;
    return out;
}

template <class Stream>
void DownstreamSession<Stream>::admin_ping(Duration timeout,
                                           std::function<void(AdminPingResult)> done) {
    if (closed_ || handshaking_ || protocol_.close_decision()) {
        done({AdminPingResult::Outcome::closed, {}});
        return;
    }
    const auto id = protocol_.start_admin_ping(host_.time().now(), timeout);
    admin_waiters_.emplace_back(id, std::move(done));
    deliver_admin_pings();  // one beyond the bound settled the oldest
    after_activity();       // the Ping goes out; the timer follows the protocol's deadline
}

template <class Stream>
void DownstreamSession<Stream>::deliver_admin_pings() {
    // Taken first: a callback may start another Ping.
    for (const auto& [id, result] : protocol_.take_admin_ping_outcomes()) {
        auto it = std::find_if(admin_waiters_.begin(), admin_waiters_.end(),
                               [id = id](const auto& w) { return w.first == id; });
        if (it == admin_waiters_.end()) continue;
        auto done = std::move(it->second);
        admin_waiters_.erase(it);
        done(result);
    }
}

template <class Stream>
void DownstreamSession<Stream>::admin_release(std::optional<std::string> alternative_address,
                                              std::optional<std::uint32_t> hold_off_seconds) {
    if (closed_) return;
    if (handshaking_) {
        finish_close({CloseReason::admin, CloseMode::immediate, "released during handshake"});
        return;
    }
    protocol_.release_and_close(CloseReason::admin, std::move(alternative_address),
                                hold_off_seconds, "released by operator");
    after_activity();
}

template class DownstreamSession<TcpSocket>;
template class DownstreamSession<TlsStream>;

}  // namespace lwgate::session
