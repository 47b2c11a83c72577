#include "core_link/core_link.hpp"

#include <sys/epoll.h>

#include <algorithm>
#include <cstring>

#include <coap3/coap.h>
#include <asio/post.hpp>

#include "core_link/libcoap_setup.hpp"
#include "core_link/pdu_convert.hpp"
#include "lwgate/coap/tcp_codec.hpp"

namespace lwgate::upstream {

namespace {

// The shard owns several CoreLinks (the core's, the bootstrap server's): each callback finds
// its own through the app data of the session's context, set when the context was made.
CoreLink* link_of(coap_session_t* s) {
    return static_cast<CoreLink*>(coap_get_app_data(coap_session_get_context(s)));
}

void on_request(coap_resource_t*, coap_session_t* s, const coap_pdu_t* request,
                const coap_string_t*, coap_pdu_t* response) {
    if (CoreLink* link = link_of(s)) {
        link->handle_request(s, request, response);
    } else {
        coap_pdu_set_code(response, COAP_RESPONSE_CODE_SERVICE_UNAVAILABLE);
    }
}

coap_response_t on_response(coap_session_t* s, const coap_pdu_t* sent, const coap_pdu_t* received,
                            const coap_mid_t) {
    CoreLink* link = link_of(s);
    return !link || link->handle_response(s, sent, received) ? COAP_RESPONSE_OK
                                                             : COAP_RESPONSE_FAIL;
}

void on_nack(coap_session_t* s, const coap_pdu_t* sent, const coap_nack_reason_t reason,
             const coap_mid_t) {
    if (CoreLink* link = link_of(s)) link->handle_nack(s, sent, static_cast<int>(reason));
}

}  // namespace

struct CoapContext {
    explicit CoapContext(asio::io_context& io) : timer(io) {}
    coap_context_t* ctx = nullptr;
    std::optional<asio::posix::stream_descriptor> fd;
    asio::steady_timer timer;  // libcoap's next deadline (see process())
    std::size_t sessions = 0;  // open sessions in ctx
    bool process_posted = false;
    bool need_prepare = true;  // libcoap's timeout pass is due
    std::uint64_t last_prepare_ms = 0;
};

CoreLink::CoreLink(asio::io_context& io, const config::UpstreamConfig& config,
                   CoreLinkHandler& handler, const TimeSource& time)
    : io_(io),
      config_(config),
      handler_(handler),
      time_(time),
      exchange_(ExchangeParams{config.piggyback_window, false}),
      ack_timer_(io) {}

CoreLink::~CoreLink() {
    *alive_ = false;
    ack_timer_.cancel();
    for (auto& c : contexts_) {
        c->timer.cancel();
        if (c->fd) {
            std::error_code ignored;
            c->fd->cancel(ignored);
            c->fd->release();  // libcoap owns the descriptor
        }
        if (!c->ctx) continue;
        coap_set_app_data(c->ctx, nullptr);  // no callbacks into a dying bridge
        coap_free_context(c->ctx);
    }
}

Result<void, Error> CoreLink::start() {
    init_libcoap();
    const auto& ep = config_.endpoint;
    secure_ = ep.scheme == config::Scheme::coaps;
    if (secure_ && !coap_dtls_is_supported()) {
        return fail(Error{UpstreamErrc::no_dtls, "libcoap was built without DTLS"});
    }
    auto server = resolve(ep.host, ep.port);
    if (!server) return fail(std::move(server).error());
    server_address_.resize(sizeof(coap_address_t));
    std::memcpy(server_address_.data(), &*server, sizeof(coap_address_t));
    // The first context: fails early if it cannot work.
    if (auto c = context_with_room(); !c) return fail(std::move(c).error());
    return {};
}

Result<CoapContext*, Error> CoreLink::context_with_room() {
    for (auto& c : contexts_) {
        if (c->sessions < sessions_per_context) return c.get();
    }
    auto c = std::make_unique<CoapContext>(io_);
    c->ctx = coap_new_context(nullptr);
    if (!c->ctx) return fail(Error{UpstreamErrc::no_context, "coap_new_context failed"});
    coap_set_app_data(c->ctx, this);
    // Block options pass through untouched: the bridge relays them end to end.
    coap_context_set_block_mode(c->ctx, 0);
    coap_resource_t* unknown = coap_resource_unknown_init2(on_request, 0);
    for (auto method : {COAP_REQUEST_GET, COAP_REQUEST_POST, COAP_REQUEST_PUT, COAP_REQUEST_DELETE,
                        COAP_REQUEST_FETCH, COAP_REQUEST_PATCH, COAP_REQUEST_IPATCH}) {
        coap_register_request_handler(unknown, method, on_request);
    }
    coap_add_resource(c->ctx, unknown);  // the context owns it
    coap_register_response_handler(c->ctx, on_response);
    coap_register_nack_handler(c->ctx, on_nack);
    const int fd = coap_context_get_coap_fd(c->ctx);
    if (fd < 0) {
        coap_free_context(c->ctx);
        return fail(Error{UpstreamErrc::no_context,
                          "libcoap has no epoll descriptor (built without epoll?)"});
    }
    c->fd.emplace(io_, fd);
    CoapContext& ref = *c;
    contexts_.push_back(std::move(c));
    arm(ref);
    schedule(ref);  // one round right after the first arm: nothing may be lost before it
    return &ref;
}

void CoreLink::arm(CoapContext& c) {
    if (!c.fd) return;
    c.fd->async_wait(asio::posix::stream_descriptor::wait_read,
                     [this, &c, alive = alive_](const std::error_code& ec) {
                         if (!*alive || ec) return;
                         arm(c);  // re-arm first: the descriptor is edge-triggered
                         process(c);
                     });
}

void CoreLink::schedule(CoapContext& c) {
    if (c.process_posted) return;
    c.process_posted = true;
    asio::post(io_, [this, &c, alive = alive_] {
        if (!*alive) return;
        c.process_posted = false;
        process(c);
    });
}

void CoreLink::process(CoapContext& c) {
    // Our own epoll_wait with a large batch instead of coap_io_process(), which takes 10 events
    // per call and walks every session of the shard (coap_io_prepare_io) each time: measured with
    // tools/bench, that walk dominated lwgate's CPU at 10k devices (docs/performance.md).
    epoll_event events[max_events];
    const int n = ::epoll_wait(coap_context_get_coap_fd(c.ctx), events, max_events, 0);
    if (n > 0) coap_io_do_epoll(c.ctx, events, static_cast<std::size_t>(n));
    // A full batch may leave events behind, and the descriptor is edge-triggered: go again.
    if (n == max_events) schedule(c);
    // libcoap's timeout pass (retransmissions, DTLS timers, session expiry) walks every session
    // of the shard, so it runs only when something asked for it (a new or closed session, the
    // timer on libcoap's next deadline) and never twice within prepare_interval_ms (a connect
    // storm asks once per session). It used to run every prepare_interval_ms whenever traffic
    // flowed: measured with lwgate-bench relay at 1,000 devices, that was 19% of lwgate's CPU.
    if (!c.need_prepare) return;
    coap_tick_t now;
    coap_ticks(&now);
    const auto now_ms = static_cast<std::uint64_t>(now) * 1000 / COAP_TICKS_PER_SECOND;
    if (now_ms < c.last_prepare_ms + prepare_interval_ms) {
        const auto due =
            std::chrono::steady_clock::now() +
            std::chrono::milliseconds(c.last_prepare_ms + prepare_interval_ms - now_ms);
        if (c.timer.expiry() > due) arm_prepare_timer(c, due);
        return;
    }
    c.need_prepare = false;
    c.last_prepare_ms = now_ms;
    // A CON sent after this pass has its first retransmission due no sooner than ack_timeout
    // (>= 1 s): waking at least every idle_prepare_ms keeps it on time without a pass per send.
    unsigned int next_ms = coap_io_prepare_epoll(c.ctx, now);
    next_ms = next_ms == 0 ? idle_prepare_ms : std::min(next_ms, idle_prepare_ms);
    arm_prepare_timer(c, std::chrono::steady_clock::now() +
                             std::chrono::milliseconds(std::max(prepare_interval_ms, next_ms)));
}

void CoreLink::arm_prepare_timer(CoapContext& c, std::chrono::steady_clock::time_point at) {
    c.timer.expires_at(at);  // cancels a wait in progress: its handler sees operation_aborted
    c.timer.async_wait([this, &c, alive = alive_](const std::error_code& ec) {
        if (!*alive || ec) return;
        c.need_prepare = true;
        process(c);
    });
}

Result<void, Error> CoreLink::open(UpstreamSession& session, std::string endpoint,
                                   const std::optional<UpstreamPsk>& psk,
                                   const std::string& local_address, std::uint16_t local_port) {
    const auto& server = *reinterpret_cast<const coap_address_t*>(server_address_.data());
    const auto local = local_binding(server, local_address, local_port);
    if (!local) return fail(local.error());
    const auto context = context_with_room();
    if (!context) return fail(context.error());
    CoapContext* c = *context;
    const auto opened =
        new_client_session(c->ctx, *local, server, {config_, secure_, psk, endpoint});
    if (!opened) return fail(opened.error());
    coap_session_t* s = *opened;
    session.endpoint_ = std::move(endpoint);
    session.session_ = s;
    const coap_address_t* bound = coap_session_get_addr_local(s);
    session.local_port_ = bound ? coap_address_get_port(bound) : local_port;
    session.local_address_ = local_address;
    coap_session_set_app_data(s, &session);
    session.context_ = c;
    ++c->sessions;
    c->need_prepare = true;  // a DTLS handshake has timers of its own
    schedule(*c);
    return {};
}

void CoreLink::close(UpstreamSession& session) {
    if (!session.session_) return;
    coap_session_set_app_data(session.session_, nullptr);
    coap_session_release(session.session_);
    session.session_ = nullptr;
    CoapContext& c = *session.context_;
    session.context_ = nullptr;
    --c.sessions;
    exchange_.forget(session);
    c.need_prepare = true;
    schedule(c);
}

bool CoreLink::established(const UpstreamSession& session) const {
    return session.session_ &&
           coap_session_get_state(session.session_) == COAP_SESSION_STATE_ESTABLISHED;
}

UpstreamSession* CoreLink::session_of(coap_session_t* s) {
    return static_cast<UpstreamSession*>(coap_session_get_app_data(s));
}

bool CoreLink::send(UpstreamSession& session, const coap::Message& request) {
    if (!session.session_) return false;
    coap_pdu_t* pdu = to_pdu(session.session_, request, COAP_MESSAGE_CON);
    if (!pdu) return false;
    if (coap_send(session.session_, pdu) == COAP_INVALID_MID) return false;
    ++stats_.requests_sent;
    // No process round: coap_send() wrote the datagram, and the retransmission is due after
    // ack_timeout (>= 1 s), well after the next timeout pass (<= idle_prepare_ms).
    return true;
}

bool CoreLink::notify(UpstreamSession& session, const coap::Message& notification) {
    if (!session.session_) return false;
    coap_pdu_t* pdu = to_pdu(session.session_, notification, COAP_MESSAGE_CON);
    if (!pdu) return false;
    return coap_send(session.session_, pdu) != COAP_INVALID_MID;  // as in send()
}

std::size_t CoreLink::max_payload(const UpstreamSession& session,
                                  const coap::Message& message) const {
    if (!session.session_) return 0;
    // Everything but the payload, in our TCP framing, which is at most a few bytes larger than
    // the UDP header (4 bytes); 8 more cover the payload marker and any difference. No copy:
    // this runs for every message toward the core.
    const std::size_t overhead = coap::encoded_size(message) - message.payload().size() + 8;
    const std::size_t pdu = coap_session_max_pdu_size(session.session_);
    return pdu > overhead ? pdu - overhead : 0;
}

void CoreLink::respond(UpstreamSession& session, CoreRequestId id, coap::Message&& response) {
    // A closed session holds nothing: the exchange routes the answer nowhere.
    const auto route = exchange_.on_answer(session, id, response, time_.now());
    send_answer(session, route, response);
}

void CoreLink::send_answer(UpstreamSession& session, const AnswerRoute& route,
                           const coap::Message& answer) {
    if (!session.session_) return;
    switch (route.kind) {
        case AnswerRoute::Kind::none:
        case AnswerRoute::Kind::in_reply:  // handle_request() piggybacks it on the ACK
            return;
        case AnswerRoute::Kind::piggyback: {
            coap_pdu_t* pdu = to_pdu(session.session_, answer, COAP_MESSAGE_ACK, route.message_id);
            if (pdu && coap_send(session.session_, pdu) != COAP_INVALID_MID) {
                ++stats_.piggybacked;
                return;
            }
            // Too large for one datagram cannot happen (the bridge slices bodies to
            // max_payload); should the send fail anyway, acknowledge and try the separate
            // response.
            send_empty_ack(session, route.message_id);
            break;
        }
        case AnswerRoute::Kind::separate:
            break;
    }
    ++stats_.separate;
    send_separately(session, answer, route.confirmable);
}

void CoreLink::hold_restored(UpstreamSession& session, CoreRequestId id, const coap::Token& token) {
    exchange_.hold_restored(session, id, token);
}

void CoreLink::defer_ack(UpstreamSession& session, CoreRequestId id) {
    exchange_.defer_ack(session, id);
}

void CoreLink::release_ack(UpstreamSession& session, CoreRequestId id) {
    send_empty_ack(session, exchange_.release_ack(session, id));
}

void CoreLink::acknowledge(UpstreamSession& session, CoreRequestId id) {
    // Nothing to send for the request being handled: its response is the empty ACK.
    send_empty_ack(session, exchange_.acknowledge(session, id));
}

void CoreLink::send_empty_ack(UpstreamSession& session, std::optional<std::uint16_t> message_id) {
    if (!message_id || !session.session_) return;
    if (coap_pdu_t* ack = coap_pdu_init(COAP_MESSAGE_ACK, COAP_EMPTY_CODE, *message_id, 0)) {
        coap_send(session.session_, ack);
    }
}

void CoreLink::flush_acks() {
    ack_timer_armed_ = false;
    const auto now = time_.now();
    // One at a time: the bridge may close sessions that later entries name.
    while (auto due = exchange_.on_timer(now)) {
        auto& session = static_cast<UpstreamSession&>(*due->session);
        send_empty_ack(session, due->ack_message_id);  // none yet with ack_after_commit
        handler_.on_core_request_acknowledged(session, due->id);
    }
    arm_ack_timer();
}

void CoreLink::arm_ack_timer() {
    const TimePoint deadline = exchange_.next_deadline();
    if (ack_timer_armed_ || deadline == never) return;
    ack_timer_armed_ = true;
    // No earlier than 5 ms from now: under load the queue's head is always close, and one wake-up
    // per 5 ms bounds the timer's cost; an empty ACK 5 ms late is well within the core's patience.
    ack_timer_.expires_at(std::max(deadline, time_.now() + std::chrono::milliseconds(5)));
    ack_timer_.async_wait([this, alive = alive_](const std::error_code& ec) {
        if (!*alive || ec) return;
        flush_acks();
    });
}

void CoreLink::handle_request(coap_session_t* s, const void* request_ptr, void* response_ptr) {
    const auto* request = static_cast<const coap_pdu_t*>(request_ptr);
    auto* response = static_cast<coap_pdu_t*>(response_ptr);
    UpstreamSession* session = session_of(s);
    if (!session) {
        coap_pdu_set_code(response, COAP_RESPONSE_CODE_NOT_FOUND);
        return;
    }
    const coap_bin_const_t token = coap_pdu_get_token(request);
    const RequestHeader header{static_cast<std::uint16_t>(coap_pdu_get_mid(request)),
                               coap::Token(coap::ByteView(token.s, token.length)),
                               coap_pdu_get_type(request) == COAP_MESSAGE_CON};
    const auto now = time_.now();
    auto decision = exchange_.on_request(*session, header, now);
    if (decision.kind == RequestDecision::Kind::fresh) {
        hand_over(*session, header, request, response, now);
    } else {
        reply_to_copy(*session, std::move(decision), response);
    }
}

void CoreLink::reply_to_copy(UpstreamSession& session, RequestDecision&& decision,
                             coap_pdu_t* response) {
    switch (decision.kind) {
        case RequestDecision::Kind::answer:
            ++stats_.duplicates_answered;
            fill_response(response, *decision.answer);
            return;
        case RequestDecision::Kind::no_ack:
            ++stats_.duplicates_held;
            coap_pdu_set_type(response, COAP_MESSAGE_NON);  // no ACK before the commit
            return;
        case RequestDecision::Kind::ack_again:
            // Leaving the response empty acknowledges it (again) with an empty ACK.
            ++stats_.duplicates_held;
            if (decision.acknowledged) {
                handler_.on_core_request_acknowledged(session, *decision.acknowledged);
            }
            return;
        case RequestDecision::Kind::fresh:
            return;
    }
}

void CoreLink::hand_over(UpstreamSession& session, const RequestHeader& header,
                         const coap_pdu_t* request, coap_pdu_t* response, TimePoint now) {
    coap::Message message = from_pdu(request);
    if (auto answer = handler_.answer_locally(session, message)) {
        fill_response(response, *answer);
        return;
    }
    const CoreRequestId id = exchange_.hold(session, header);
    ++stats_.requests_received;
    handler_.on_core_request(session, id, std::move(message));
    auto outcome = exchange_.finish_arrival(session, id, now);
    switch (outcome.kind) {
        case ArrivalOutcome::Kind::answer:
            fill_response(response, *outcome.answer);
            return;
        case ArrivalOutcome::Kind::wait:
            // An empty NON response is dropped by libcoap: no ACK now; respond() or
            // flush_acks() sends it.
            coap_pdu_set_type(response, COAP_MESSAGE_NON);
            arm_ack_timer();
            return;
        case ArrivalOutcome::Kind::ack:
            // `response` stays without a code: libcoap sends an empty ACK for a CON (nothing
            // for a NON), and respond() sends the answer later.
            return;
    }
}

int CoreLink::handle_response(coap_session_t* s, const void*, const void* received_ptr) {
    const auto* received = static_cast<const coap_pdu_t*>(received_ptr);
    UpstreamSession* session = session_of(s);
    if (!session) return 1;
    const coap_pdu_code_t code = coap_pdu_get_code(received);
    if (code == COAP_EMPTY_CODE) return 1;
    ++stats_.responses_received;
    handler_.on_core_response(*session, from_pdu(received));
    return 1;
}

void CoreLink::handle_nack(coap_session_t* s, const void* sent_ptr, int reason) {
    const auto* sent = static_cast<const coap_pdu_t*>(sent_ptr);
    UpstreamSession* session = session_of(s);
    if (!session || !sent) return;
    const coap_bin_const_t t = coap_pdu_get_token(sent);
    const coap::Token token(coap::ByteView(t.s, t.length));
    const auto nack = static_cast<coap_nack_reason_t>(reason);
    const coap_pdu_code_t code = coap_pdu_get_code(sent);
    if (code >= COAP_RESPONSE_CODE(200)) {
        // A notification the core rejected or never acknowledged: the observation is over.
        handler_.on_core_reset(*session, token);
        return;
    }
    ++stats_.failures;
    if (nack == COAP_NACK_TLS_FAILED) {
        handler_.on_core_failure(*session, token, coap::code::bad_gateway, "DTLS handshake failed");
    } else if (nack == COAP_NACK_RST) {
        handler_.on_core_failure(*session, token, coap::code::bad_gateway, "core sent Reset");
    } else {
        handler_.on_core_failure(*session, token, coap::code::gateway_timeout,
                                 "core did not answer");
    }
}

// ---- persistence ----------------------------------------------------------------

bool CoreLink::respond_separately(UpstreamSession& session, const coap::Token& core_token,
                                  coap::Message response) {
    response.set_token(core_token);
    return send_separately(session, response, true);
}

bool CoreLink::send_separately(UpstreamSession& session, const coap::Message& response,
                               bool confirmable) {
    if (!session.session_) return false;
    coap_pdu_t* pdu =
        to_pdu(session.session_, response, confirmable ? COAP_MESSAGE_CON : COAP_MESSAGE_NON);
    if (!pdu) return false;
    // coap_send() writes the datagram now (or queues it behind an unacknowledged CON, NSTART 1,
    // until that ACK arrives): no timeout pass is needed to send it.
    return coap_send(session.session_, pdu) != COAP_INVALID_MID;
}

}  // namespace lwgate::upstream
