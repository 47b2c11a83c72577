#include "core_link/core_prober.hpp"

#include <algorithm>
#include <cstring>

#include <coap3/coap.h>
#include <spdlog/spdlog.h>
#include <asio/post.hpp>

#include "core_link/libcoap_setup.hpp"

namespace lwgate::upstream {

namespace {

// libcoap's timeout pass when it names no deadline of its own: a DTLS handshake in progress
// keeps timers that coap_io_prepare_epoll() reports, so this only bounds a quiet context.
constexpr unsigned idle_pass_ms = 1000;

CoreProber* prober_of(coap_session_t* s) {
    return static_cast<CoreProber*>(coap_get_app_data(coap_session_get_context(s)));
}

void on_nack(coap_session_t* s, const coap_pdu_t*, const coap_nack_reason_t reason,
             const coap_mid_t) {
    if (CoreProber* p = prober_of(s)) p->handle_nack(s, static_cast<int>(reason));
}

int on_event(coap_session_t* s, const coap_event_t event) {
    if (CoreProber* p = prober_of(s)) p->handle_event(s, static_cast<int>(event));
    return 0;
}

CoreProbeParams params_of(const config::UpstreamConfig& c) {
    return {c.probe_interval, c.probe_timeout, c.probe_max_missed};
}

double ms_of(ProbeRtt rtt) {
    return static_cast<double>(rtt.count()) / 1000.0;
}

}  // namespace

CoreProber::CoreProber(asio::io_context& io, const config::UpstreamConfig& config,
                       const TimeSource& time)
    : io_(io),
      config_(config),
      time_(time),
      probe_(params_of(config), time.now()),
      probe_timer_(io),
      coap_timer_(io) {}

CoreProber::~CoreProber() {
    *alive_ = false;
    probe_timer_.cancel();
    drop_session();
}

Result<void, Error> CoreProber::start() {
    init_libcoap();
    const auto& ep = config_.endpoint;
    secure_ = ep.scheme == config::Scheme::coaps;
    if (secure_ && !coap_dtls_is_supported())
        return fail(Error{UpstreamErrc::no_dtls, "libcoap was built without DTLS"});
    if (secure_ && config_.gateway_psk_identity.empty() && config_.gateway_certificate.empty()) {
        return fail(Error{UpstreamErrc::no_psk,
                          "the core is coaps:// and lwgate has no DTLS identity of its own "
                          "(upstream.dtls) to ping it with"});
    }
    auto server = resolve(ep.host, ep.port);
    if (!server) return fail(std::move(server).error());
    server_address_.resize(sizeof(coap_address_t));
    std::memcpy(server_address_.data(), &*server, sizeof(coap_address_t));
    probe_ = CoreProbe(params_of(config_), time_.now());
    arm_probe_timer();
    return {};
}

void CoreProber::arm_probe_timer() {
    probe_timer_.expires_at(probe_.next_deadline());
    probe_timer_.async_wait([this, alive = alive_](const std::error_code& ec) {
        if (!*alive || ec) return;
        on_probe_timer();
    });
}

void CoreProber::on_probe_timer() {
    const TimePoint now = time_.now();
    const CoreProbeDue due = probe_.on_timer(now);
    // A missed Ping's context goes with everything queued in it.
    if (due.missed) drop_session();
    if (due.send) begin_probe(now);
    log_transition();
    arm_probe_timer();
}

void CoreProber::begin_probe(TimePoint now) {
    probe_.begin(now);
    if (session_dead_) drop_session();
    if (!session_) {
        if (auto opened = open_session(); !opened) {
            drop_session();
            probe_.on_failure(now, opened.error().message());
            log_transition();
            return;
        }
    }
    if (coap_session_get_state(session_) == COAP_SESSION_STATE_ESTABLISHED) {
        send_ping(now);
    } else {
        ping_wanted_ = true;  // after the DTLS handshake (handle_event)
    }
}

void CoreProber::send_ping(TimePoint now) {
    ping_wanted_ = false;
    if (coap_session_send_ping(session_) == COAP_INVALID_MID) {
        failed("libcoap could not send the Ping");
        return;
    }
    ping_out_ = true;
    probe_.ping_sent(now);
    process();  // arms libcoap's retransmission of the Ping
}

Result<void, Error> CoreProber::open_session() {
    const auto& server = *reinterpret_cast<const coap_address_t*>(server_address_.data());
    const std::string address =
        config_.bind_addresses.empty() ? std::string() : config_.bind_addresses.front();
    const auto local = local_binding(server, address, 0);
    if (!local) return fail(local.error());
    ctx_ = coap_new_context(nullptr);
    if (!ctx_) return fail(Error{UpstreamErrc::no_context, "coap_new_context failed"});
    coap_set_app_data(ctx_, this);
    coap_register_nack_handler(ctx_, on_nack);
    coap_register_event_handler(ctx_, on_event);
    const int fd = coap_context_get_coap_fd(ctx_);
    if (fd < 0) return fail(Error{UpstreamErrc::no_context, "libcoap has no epoll descriptor"});
    fd_.emplace(io_, fd);
    ++generation_;
    static const std::optional<UpstreamPsk> no_device_psk;
    static const std::string who = "the core probe";
    auto opened = new_client_session(ctx_, *local, server, {config_, secure_, no_device_psk, who});
    if (!opened) return fail(opened.error());
    session_ = *opened;
    // One retransmission within the probe's timeout rides over a single lost datagram; libcoap
    // takes no ACK timeout below 1 s.
    const auto ack_ms = std::max<std::int64_t>(1000, config_.probe_timeout.count() / 3);
    coap_session_set_ack_timeout(session_,
                                 coap_fixed_point_t{static_cast<std::uint16_t>(ack_ms / 1000),
                                                    static_cast<std::uint16_t>(ack_ms % 1000)});
    coap_session_set_max_retransmit(session_, 1);
    watch();
    process();  // a DTLS session starts its handshake
    return {};
}

void CoreProber::drop_session() {
    ping_out_ = false;
    ping_wanted_ = false;
    session_dead_ = false;
    coap_timer_.cancel();
    ++generation_;
    if (!ctx_) return;
    coap_set_app_data(ctx_, nullptr);  // no callbacks while it goes
    if (fd_) {
        std::error_code ignored;
        fd_->cancel(ignored);
        fd_->release();  // libcoap owns the descriptor
        fd_.reset();
    }
    if (session_) coap_session_release(session_);
    session_ = nullptr;
    coap_free_context(ctx_);
    ctx_ = nullptr;
}

void CoreProber::watch() {
    if (!fd_) return;
    fd_->async_wait(asio::posix::stream_descriptor::wait_read,
                    [this, alive = alive_, generation = generation_](const std::error_code& ec) {
                        if (!*alive || ec || generation != generation_) return;
                        watch();  // re-arm first: the descriptor is edge-triggered
                        process();
                    });
}

void CoreProber::process() {
    if (!ctx_) return;
    coap_io_process(ctx_, COAP_IO_NO_WAIT);  // may call handle_nack / handle_event
    if (!ctx_) return;
    if (ping_out_ && coap_can_exit(ctx_)) answered(time_.now());
    coap_tick_t now;
    coap_ticks(&now);
    unsigned next_ms = coap_io_prepare_epoll(ctx_, now);
    next_ms = next_ms == 0 ? idle_pass_ms : std::min(next_ms, idle_pass_ms);
    coap_timer_.expires_after(std::chrono::milliseconds(next_ms));
    coap_timer_.async_wait(
        [this, alive = alive_, generation = generation_](const std::error_code& ec) {
            if (!*alive || ec || generation != generation_) return;
            process();
        });
}

void CoreProber::answered(TimePoint now) {
    ping_out_ = false;
    if (const auto rtt = probe_.on_answer(now)) rtt_.observe(*rtt);
    log_transition();
}

void CoreProber::failed(std::string why) {
    ping_out_ = false;
    ping_wanted_ = false;
    session_dead_ = true;
    probe_.on_failure(time_.now(), std::move(why));
    log_transition();
}

void CoreProber::handle_nack(coap_session_t* session, int reason) {
    if (session != session_ || !ping_out_) return;
    switch (static_cast<coap_nack_reason_t>(reason)) {
        case COAP_NACK_RST:
            answered(time_.now());  // a Reset is the CoAP Ping's answer
            return;
        case COAP_NACK_ICMP_ISSUE:
            failed("port unreachable (ICMP)");
            return;
        case COAP_NACK_TLS_FAILED:
            failed("DTLS failure");
            return;
        case COAP_NACK_NOT_DELIVERABLE:
            failed("not deliverable");
            return;
        case COAP_NACK_TOO_MANY_RETRIES:
            failed("no answer to the Ping or its retransmission");
            return;
    }
}

void CoreProber::handle_event(coap_session_t* session, int event) {
    if (session != session_) return;
    switch (static_cast<coap_event_t>(event)) {
        case COAP_EVENT_DTLS_CONNECTED:
            if (ping_wanted_) {
                // Not from inside libcoap's event dispatch.
                asio::post(io_, [this, alive = alive_, generation = generation_] {
                    if (!*alive || generation != generation_ || !ping_wanted_) return;
                    send_ping(time_.now());
                });
            }
            return;
        case COAP_EVENT_DTLS_ERROR:
        case COAP_EVENT_DTLS_CLOSED:
        case COAP_EVENT_SESSION_FAILED:
            if (ping_wanted_ || ping_out_) failed("DTLS handshake or session failed");
            session_dead_ = true;
            return;
        default:
            return;
    }
}

void CoreProber::log_transition() {
    const CoreProbeState after = probe_.state();
    if (after == logged_state_) return;
    logged_state_ = after;
    const auto& uri = config_.endpoint.text;
    if (after == CoreProbeState::failing) {
        spdlog::warn("core {} not answering: {} CoAP Ping(s) in a row missed ({})", uri,
                     probe_.missed_in_a_row(), probe_.last_error());
    } else if (after == CoreProbeState::ok) {
        spdlog::info("core {} answers CoAP Pings (round trip {:.3f} ms)", uri,
                     probe_.last_rtt() ? ms_of(*probe_.last_rtt()) : 0.0);
    }
}

}  // namespace lwgate::upstream
