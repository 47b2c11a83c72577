#include "session/downstream_protocol.hpp"

#include <algorithm>
#include <utility>

namespace lwgate::session {

using coap::CodecError;
using coap::Message;
namespace code = coap::code;

namespace {
// A received frame's size as its canonical encoding: what a device sends for a Ping or Pong
// (no options, or a Custody option) has one encoding but for an over-long length field, which no
// known stack sends.
void count_keepalive_in(KeepaliveTraffic& traffic, const Message& ping_or_pong) {
    ++traffic.frames_in;
    traffic.bytes_in += coap::encoded_size(ping_or_pong);
}
}  // namespace

DownstreamProtocol::DownstreamProtocol(const ProtocolParams& params, TimePoint now)
    : params_(params), decoder_(params.max_message_size), keepalive_(params.keepalive, now) {}

void DownstreamProtocol::start(TimePoint now) {
    keepalive_ = KeepaliveFsm(params_.keepalive, now);
    queue(coap::make_csm(params_.max_message_size, params_.block_wise_transfer));
}

void DownstreamProtocol::on_bytes(coap::ByteView bytes, TimePoint now) {
    if (close_ || bytes.empty()) return;
    keepalive_.on_rx(now);
    while (!bytes.empty() && !close_) {
        coap::DecodeStep step = decoder_.feed(bytes);
        bytes = bytes.subspan(step.consumed);
        if (step.result) {
            if (auto* message = std::get_if<Message>(&*step.result)) {
                handle(std::move(*message), now);
            } else {
                handle_failure(std::get<coap::DecodeFailure>(*step.result));
            }
        } else if (step.consumed == 0) {
            break;  // decoder failed earlier; nothing more is accepted
        }
    }
    if (admin_pings_.waiting() > 0)
        admin_pings_.on_pongs(now, stats_.pongs_received, stats_.rtt_samples, stats_.last_rtt);
}

void DownstreamProtocol::handle_failure(const coap::DecodeFailure& failure) {
    const auto reason = coap::make_error_code(failure.error).message();
    if (failure.fatal || !failure.has_header) {
        abort_with(CloseReason::bad_frame, std::nullopt, reason);
        return;
    }
    if (coap::is_signaling(failure.code)) {
        abort_with(CloseReason::abort_sent, std::nullopt, "bad signaling message: " + reason);
        return;
    }
    if (coap::is_request(failure.code)) {
        if (failure.error == CodecError::message_too_large) {
            // RFC 7252 §5.9.2.9 / RFC 8323 §5.3.1: Size1 tells the client what we accept.
            error_response(failure.token, code::request_entity_too_large, {},
                           params_.max_message_size);
        } else {
            error_response(failure.token, code::bad_request, reason);
        }
        return;
    }
    // A broken response or empty message: nobody to answer.
    ++stats_.dropped;
}

void DownstreamProtocol::handle(Message&& message, TimePoint now) {
    ++stats_.messages_in;
    const bool is_csm = message.code() == code::csm;
    if (!first_message_seen_) {
        first_message_seen_ = true;
        // RFC 8323 §5.3: CSM is the first message. Lenient mode tolerates peers that never
        // send one (e.g. Californium clients).
        if (!is_csm && params_.keepalive.csm_strict && message.code() != code::empty) {
            abort_with(CloseReason::abort_sent, std::nullopt, "expected CSM as first message");
            return;
        }
    }
    if (coap::is_signaling(message.code())) {
        handle_signal(message, now);
        return;
    }
    if (message.code() == code::empty) return;  // RFC 8323 §3.4: keepalive, ignored
    if (released_) {
        // We are draining: the device was told to go away; answer new requests clearly.
        if (coap::is_request(message.code())) {
            error_response(message.token(), code::service_unavailable, "gateway shutting down");
        }
        return;
    }
    if (coap::is_request(message.code()) || coap::is_response(message.code())) {
        if (coap::is_request(message.code())) ++unanswered_requests_;
        inbound_.push_back(std::move(message));
        return;
    }
    // Reserved classes 1, 3, 6: nothing sensible to answer and no Reset over TCP.
    ++stats_.dropped;
}

void DownstreamProtocol::handle_signal(const Message& message, TimePoint now) {
    auto parsed = coap::parse_signal(message);
    if (auto* error = std::get_if<coap::SignalError>(&parsed)) {
        const bool csm = message.code() == code::csm;
        std::optional<std::uint16_t> bad_option;
        if (csm && error->option != 0) bad_option = error->option;
        abort_with(CloseReason::abort_sent, bad_option,
                   "bad signaling option " + std::to_string(error->option) + " in " +
                       coap::code_to_string(message.code()));
        return;
    }
    auto& signal = std::get<coap::Signal>(parsed);
    if (auto* csm = std::get_if<coap::Csm>(&signal)) {
        if (csm->max_message_size && *csm->max_message_size < coap::min_peer_max_message_size) {
            // Accepting it would drop every answer to this device unsent (RFC 8323 §5.6.1: a
            // parameter problem with the value of an elective CSM option).
            abort_with(CloseReason::abort_sent, coap::signal_option::max_message_size,
                       "Max-Message-Size " + std::to_string(*csm->max_message_size) +
                           " is below the minimum of " +
                           std::to_string(coap::min_peer_max_message_size) + " bytes");
            return;
        }
        peer_.apply(*csm);
        if (!peer_csm_received_) {
            peer_csm_received_ = true;
            keepalive_.on_csm_received();
        }
    } else if (std::holds_alternative<coap::Ping>(signal)) {
        ++stats_.pings_received;
        count_keepalive_in(stats_.keepalive, message);
        queue_keepalive(coap::make_pong(message));
    } else if (std::holds_alternative<coap::Pong>(signal)) {
        ++stats_.pongs_received;
        count_keepalive_in(stats_.keepalive, message);
        // Any Pong is life (on_bytes already said so); only ours yields an RTT sample.
        if (message.token() == outstanding_ping_) {
            if (auto rtt = keepalive_.on_pong(now)) {
                stats_.last_rtt = rtt;
                rtts_[stats_.rtt_samples++ % rtt_history] = *rtt;
            }
        }
    } else if (auto* release = std::get_if<coap::Release>(&signal)) {
        // Tolerated at any time (Anjay sends spurious ones): flush and close gracefully.
        std::string detail = "device sent Release";
        if (release->alternative_address) detail += " alt=" + *release->alternative_address;
        decide_close(CloseReason::release_received, CloseMode::after_flush, std::move(detail));
    } else if (auto* abort = std::get_if<coap::Abort>(&signal)) {
        std::string detail = "device sent Abort";
        if (!abort->diagnostic.empty()) detail += ": " + abort->diagnostic;
        decide_close(CloseReason::abort_received, CloseMode::immediate, std::move(detail));
    }
}

void DownstreamProtocol::on_tick(TimePoint now) {
    admin_pings_.on_tick(now);
    while (!close_) {
        const auto missed_before = keepalive_.missed();
        switch (keepalive_.on_tick(now)) {
            case KeepaliveAction::none:
                return;
            case KeepaliveAction::send_ping: {
                stats_.missed_pongs += keepalive_.missed() - missed_before;
                outstanding_ping_ = coap::Token::from_u64(next_ping_token_++);
                ++stats_.pings_sent;
                queue_keepalive(coap::make_ping(outstanding_ping_));
                return;
            }
            case KeepaliveAction::csm_defaulted:
                continue;
            case KeepaliveAction::close_csm_timeout:
                abort_with(CloseReason::csm_timeout, std::nullopt, "no CSM received in time");
                return;
            case KeepaliveAction::close_half_open:
                stats_.missed_pongs += keepalive_.missed() - missed_before;
                decide_close(CloseReason::half_open, CloseMode::reset,
                             std::to_string(keepalive_.missed()) + " Ping(s) unanswered");
                return;
            case KeepaliveAction::close_unregistered_idle:
                decide_close(CloseReason::unregistered_idle, CloseMode::after_flush,
                             "no registration on this connection");
                return;
        }
    }
}

TimePoint DownstreamProtocol::next_deadline() const {
    return close_ ? never : std::min(keepalive_.next_deadline(), admin_pings_.next_deadline());
}

bool DownstreamProtocol::send(const Message& message) {
    if (close_) return false;
    // A response lwgate sends a device answers one of its requests (lwgate's own requests to a
    // device are answered by the device); counted even when it is too large to go out.
    if (coap::is_response(message.code()) && unanswered_requests_ > 0) --unanswered_requests_;
    if (coap::encoded_size(message) > peer_.max_message_size) {
        ++stats_.too_large_for_peer;
        return false;
    }
    queue(message);
    return true;
}

void DownstreamProtocol::send_ping(TimePoint now) {
    if (close_) return;
    outstanding_ping_ = coap::Token::from_u64(next_ping_token_++);
    keepalive_.on_ping_sent(now);
    ++stats_.pings_sent;
    queue_keepalive(coap::make_ping(outstanding_ping_));
}

std::uint64_t DownstreamProtocol::start_admin_ping(TimePoint now, Duration timeout) {
    const auto id = admin_pings_.start(now, timeout, stats_.pongs_received, stats_.rtt_samples);
    if (close_) {
        admin_pings_.close();
    } else {
        send_ping(now);
    }
    return id;
}

void DownstreamProtocol::release(std::optional<std::string> alternative_address,
                                 std::optional<std::uint32_t> hold_off_seconds,
                                 std::string_view diagnostic) {
    if (close_ || released_) return;
    released_ = true;
    queue(coap::make_release(std::move(alternative_address), hold_off_seconds, diagnostic));
}

void DownstreamProtocol::abort(CloseReason reason, std::string_view diagnostic) {
    abort_with(reason, std::nullopt, std::string(diagnostic));
}

void DownstreamProtocol::refuse(CloseReason reason, std::optional<std::uint32_t> hold_off_seconds,
                                std::string_view diagnostic) {
    release_and_close(reason, std::nullopt, hold_off_seconds, diagnostic);
}

void DownstreamProtocol::release_and_close(CloseReason reason,
                                           std::optional<std::string> alternative_address,
                                           std::optional<std::uint32_t> hold_off_seconds,
                                           std::string_view diagnostic) {
    if (close_) return;
    released_ = false;  // a drain's Release may precede an operator's: this one still goes out
    release(std::move(alternative_address), hold_off_seconds, diagnostic);
    decide_close(reason, CloseMode::after_flush, std::string(diagnostic));
}

std::vector<Rtt> DownstreamProtocol::recent_rtts() const {
    const std::uint64_t n = std::min<std::uint64_t>(stats_.rtt_samples, rtt_history);
    std::vector<Rtt> out;
    out.reserve(n);
    for (std::uint64_t i = stats_.rtt_samples - n; i < stats_.rtt_samples; ++i)
        out.push_back(rtts_[i % rtt_history]);
    return out;
}

coap::Bytes DownstreamProtocol::take_output() {
    return std::exchange(output_, {});
}

void DownstreamProtocol::take_output_into(coap::Bytes& buffer) {
    buffer.clear();
    buffer.swap(output_);
}

void DownstreamProtocol::recycle_output(coap::Bytes&& buffer) {
    if (!output_.empty()) return;
    buffer.clear();
    output_ = std::move(buffer);
}

std::vector<Message> DownstreamProtocol::take_inbound() {
    return std::exchange(inbound_, {});
}

void DownstreamProtocol::queue(const Message& message) {
    ++stats_.messages_out;
    coap::encode_into(message, output_);
}

void DownstreamProtocol::queue_keepalive(const Message& ping_or_pong) {
    ++stats_.keepalive.frames_out;
    stats_.keepalive.bytes_out += coap::encoded_size(ping_or_pong);
    queue(ping_or_pong);
}

void DownstreamProtocol::error_response(const coap::Token& token, std::uint8_t response_code,
                                        std::string_view diagnostic,
                                        std::optional<std::uint32_t> size1) {
    ++stats_.error_responses;
    Message response(response_code, token);
    if (size1) response.add_uint_option(coap::option::size1, *size1);
    if (!diagnostic.empty()) response.set_payload(diagnostic);  // RFC 7252 §5.5.2
    queue(response);
}

void DownstreamProtocol::decide_close(CloseReason reason, CloseMode mode, std::string detail) {
    if (!close_) close_ = CloseDecision{reason, mode, std::move(detail)};
    admin_pings_.close();  // nothing is read once a close is decided
}

void DownstreamProtocol::abort_with(CloseReason reason, std::optional<std::uint16_t> bad_option,
                                    std::string detail) {
    if (close_) return;
    queue(coap::make_abort(bad_option, detail));
    decide_close(reason, CloseMode::after_flush, std::move(detail));
}

}  // namespace lwgate::session
