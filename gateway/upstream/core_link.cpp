#include "upstream/core_link.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include <coap3/coap.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>
#include <asio/post.hpp>

#include "lwgate/coap/tcp_codec.hpp"
#include "net/keystream_prng.hpp"
#include "upstream/pdu_convert.hpp"

namespace lwgate::upstream {

namespace {

// libcoap 4.3.1 draws from its PRNG for every confirmable message it sends (the randomised
// ACK timeout) and for each session's first Message ID; its default reads getrandom(), one
// system call per message (5% of lwgate's CPU in lwgate-bench uplink). net::KeystreamPrng
// gives the same unpredictability without a system call.
int keystream_prng(void* out, size_t len) {
    thread_local net::KeystreamPrng prng;
    if (prng.fill(static_cast<std::uint8_t*>(out), len)) return 1;
    return RAND_bytes(static_cast<unsigned char*>(out), static_cast<int>(len)) == 1 ? 1 : 0;
}

void init_libcoap() {
    static std::once_flag once;
    std::call_once(once, [] {
        coap_startup();
        coap_set_prng(keystream_prng);
        coap_set_log_level(LOG_WARNING);
        coap_dtls_set_log_level(LOG_WARNING);
        coap_set_log_handler([](coap_log_t level, const char* message) {
            std::string_view text(message);
            while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
                text.remove_suffix(1);
            }
            if (level <= LOG_ERR) {
                spdlog::error("libcoap: {}", text);
            } else if (level <= LOG_WARNING) {
                spdlog::warn("libcoap: {}", text);
            } else {
                spdlog::debug("libcoap: {}", text);
            }
        });
    });
}

// libcoap 4.3.1 has no per-context user pointer. Its callbacks only run inside
// coap_io_do_epoll()/coap_io_prepare_epoll(), which CoreLink::process() calls on the shard's
// thread after setting this.
thread_local CoreLink* current_link = nullptr;

CoreLink* link_of(coap_session_t*) {
    return current_link;
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

// A free port on `local`'s address (written into it): the kernel's choice for a socket bound
// without SO_REUSEADDR, which avoids every port in use.
std::optional<std::string> probe_port(coap_address_t& local) {
    const int fd = ::socket(local.addr.sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return std::string("socket: ") + std::strerror(errno);
    socklen_t len = local.size;
    std::optional<std::string> error;
    if (::bind(fd, &local.addr.sa, local.size) != 0 ||
        ::getsockname(fd, &local.addr.sa, &len) != 0) {
        error = std::string("cannot bind a local port: ") + std::strerror(errno);
    }
    ::close(fd);
    return error;
}

std::optional<std::string> resolve(const std::string& host, std::uint16_t port,
                                   coap_address_t& out) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    addrinfo* result = nullptr;
    const std::string service = std::to_string(port);
    if (int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &result); rc != 0) {
        return std::string("cannot resolve ") + host + ": " + gai_strerror(rc);
    }
    coap_address_init(&out);
    std::memcpy(&out.addr, result->ai_addr, result->ai_addrlen);
    out.size = result->ai_addrlen;
    freeaddrinfo(result);
    return std::nullopt;
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
                   CoreLinkHandler& handler)
    : io_(io), config_(config), handler_(handler), ack_timer_(io) {}

CoreLink::~CoreLink() {
    *alive_ = false;
    if (current_link == this) current_link = nullptr;  // no callbacks into a dying bridge
    ack_timer_.cancel();
    for (auto& c : contexts_) {
        c->timer.cancel();
        if (c->fd) {
            std::error_code ignored;
            c->fd->cancel(ignored);
            c->fd->release();  // libcoap owns the descriptor
        }
        if (c->ctx) coap_free_context(c->ctx);
    }
}

std::optional<std::string> CoreLink::start() {
    init_libcoap();
    const auto& ep = config_.endpoint;
    secure_ = ep.scheme == config::Scheme::coaps;
    if (secure_ && !coap_dtls_is_supported()) return "libcoap was built without DTLS";
    server_address_.resize(sizeof(coap_address_t));
    auto* server = reinterpret_cast<coap_address_t*>(server_address_.data());
    if (auto error = resolve(ep.host, ep.port, *server)) return error;
    std::string error;
    if (!context_with_room(error)) return error;  // the first one: fails early if it cannot work
    return std::nullopt;
}

CoapContext* CoreLink::context_with_room(std::string& error) {
    for (auto& c : contexts_) {
        if (c->sessions < sessions_per_context) return c.get();
    }
    auto c = std::make_unique<CoapContext>(io_);
    c->ctx = coap_new_context(nullptr);
    if (!c->ctx) {
        error = "coap_new_context failed";
        return nullptr;
    }
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
        error = "libcoap has no epoll descriptor (built without epoll?)";
        return nullptr;
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
    current_link = this;
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

std::optional<std::string> CoreLink::open(UpstreamSession& session, std::string endpoint,
                                          const std::optional<UpstreamPsk>& psk,
                                          const std::string& local_address,
                                          std::uint16_t local_port) {
    auto* server = reinterpret_cast<coap_address_t*>(server_address_.data());
    coap_address_t local;
    coap_address_init(&local);
    if (server->addr.sa.sa_family == AF_INET6) {
        local.addr.sin6.sin6_family = AF_INET6;
        local.addr.sin6.sin6_port = htons(local_port);
        local.size = sizeof(sockaddr_in6);
    } else {
        local.addr.sin.sin_family = AF_INET;
        local.addr.sin.sin_port = htons(local_port);
        local.size = sizeof(sockaddr_in);
    }
    if (!local_address.empty()) {
        if (inet_pton(AF_INET6, local_address.c_str(), &local.addr.sin6.sin6_addr) == 1) {
            local.addr.sin6.sin6_family = AF_INET6;
            local.size = sizeof(sockaddr_in6);
        } else if (inet_pton(AF_INET, local_address.c_str(), &local.addr.sin.sin_addr) == 1) {
            local.addr.sin.sin_family = AF_INET;
            local.size = sizeof(sockaddr_in);
        } else {
            return "bad local address '" + local_address + "'";
        }
    }
    // libcoap binds a given local address with SO_REUSEADDR, and Linux then hands out port 0
    // binds that share a port with another SO_REUSEADDR socket: two devices' sockets connected to
    // the same core would have one address (measured: 1 in 7 sockets at 9,000). So the kernel's
    // choice comes from a bind without SO_REUSEADDR: connect() itself (no local address), or a
    // probe socket (an address without a port; closed before libcoap binds the port it got).
    const coap_address_t* local_if = &local;
    if (local_port == 0 && local_address.empty()) {
        local_if = nullptr;
    } else if (local_port == 0) {
        if (auto error = probe_port(local)) return *error;
    }
    std::string context_error;
    CoapContext* c = context_with_room(context_error);
    if (!c) return context_error;
    coap_session_t* s = nullptr;
    std::optional<UpstreamPsk> gateway_psk;
    if (secure_ && !psk && !config_.gateway_psk_identity.empty()) {
        gateway_psk = UpstreamPsk{config_.gateway_psk_identity, config_.gateway_psk_key};
    }
    if (secure_ && !psk && !gateway_psk && !config_.gateway_certificate.empty()) {
        // The gateway's certificate: one identity for every device without credentials.
        coap_dtls_pki_t setup{};
        setup.version = COAP_DTLS_PKI_SETUP_VERSION;
        const bool verify = !config_.gateway_ca.empty();
        setup.verify_peer_cert = verify;
        setup.check_common_ca = verify;
        setup.allow_self_signed = !verify;
        setup.cert_chain_validation = verify;
        setup.cert_chain_verify_depth = 3;
        setup.pki_key.key_type = COAP_PKI_KEY_PEM;
        setup.pki_key.key.pem.public_cert = config_.gateway_certificate.c_str();
        setup.pki_key.key.pem.private_key = config_.gateway_private_key.c_str();
        setup.pki_key.key.pem.ca_file = verify ? config_.gateway_ca.c_str() : nullptr;
        s = coap_new_client_session_pki(c->ctx, local_if, server, COAP_PROTO_DTLS, &setup);
    } else if (secure_) {
        if (!psk && !gateway_psk) {
            return "no PSK for the DTLS session of " + endpoint +
                   " (no credentials entry and no upstream.dtls identity)";
        }
        const UpstreamPsk& key = psk ? *psk : *gateway_psk;
        coap_dtls_cpsk_t setup{};
        setup.version = COAP_DTLS_CPSK_SETUP_VERSION;
        setup.psk_info.identity.s = reinterpret_cast<const uint8_t*>(key.identity.data());
        setup.psk_info.identity.length = key.identity.size();
        setup.psk_info.key.s = key.key.data();
        setup.psk_info.key.length = key.key.size();
        s = coap_new_client_session_psk2(c->ctx, local_if, server, COAP_PROTO_DTLS, &setup);
    } else {
        s = coap_new_client_session(c->ctx, local_if, server, COAP_PROTO_UDP);
    }
    if (!s) return "cannot create the upstream session for " + endpoint;
    const auto ack_ms = config_.ack_timeout.count();
    coap_session_set_ack_timeout(s, coap_fixed_point_t{static_cast<std::uint16_t>(ack_ms / 1000),
                                                       static_cast<std::uint16_t>(ack_ms % 1000)});
    coap_session_set_max_retransmit(s, config_.max_retransmit);
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
    return std::nullopt;
}

void CoreLink::close(UpstreamSession& session) {
    if (!session.session_) return;
    coap_session_set_app_data(session.session_, nullptr);
    coap_session_release(session.session_);
    session.session_ = nullptr;
    CoapContext& c = *session.context_;
    session.context_ = nullptr;
    --c.sessions;
    session.held_.clear();  // never answered: the core's retransmissions run out
    if (session.queued_acks_ > 0) {
        std::erase_if(ack_queue_, [&](const QueuedAck& q) { return q.session == &session; });
        session.queued_acks_ = 0;
    }
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
    auto held = session.held_.release(id);
    if (!held || !session.session_) return;
    session.answered_.remember(held->message_id, held->token, response,
                               std::chrono::steady_clock::now(), held->any_message_id);
    if (id == answering_) {
        immediate_ = std::move(response);  // handle_request() piggybacks it on the ACK
        return;
    }
    if (!held->acknowledged) {
        // Within the window: the answer is the ACK (its ack_queue_ entry is skipped later).
        response.set_token(held->token);
        coap_pdu_t* pdu = to_pdu(session.session_, response, COAP_MESSAGE_ACK, held->message_id);
        if (pdu && coap_send(session.session_, pdu) != COAP_INVALID_MID) {
            ++stats_.piggybacked;
            return;
        }
        // Too large for one datagram cannot happen (the bridge slices bodies to max_payload);
        // should the send fail anyway, acknowledge and try the separate response.
        send_empty_ack(session, held->message_id);
    }
    ++stats_.separate;
    send_separately(session, held->token, std::move(response), held->confirmable);
}

void CoreLink::hold_restored(UpstreamSession& session, CoreRequestId id, const coap::Token& token) {
    session.held_.hold_restored(id, token);
}

void CoreLink::defer_ack(UpstreamSession& session, CoreRequestId id) {
    if (auto* held = session.held_.get(id); held && !held->acknowledged) {
        held->ack_after_commit = true;
    }
}

void CoreLink::release_ack(UpstreamSession& session, CoreRequestId id) {
    auto* held = session.held_.get(id);
    if (!held || !held->ack_after_commit) return;
    held->ack_after_commit = false;
    acknowledge(session, id);
}

void CoreLink::acknowledge(UpstreamSession& session, CoreRequestId id) {
    auto* held = session.held_.get(id);
    if (!held || held->acknowledged || held->ack_after_commit) return;
    held->acknowledged = true;
    if (id == answering_) return;  // handle_request() lets libcoap send the empty ACK
    send_empty_ack(session, held->message_id);
}

void CoreLink::send_empty_ack(UpstreamSession& session, std::uint16_t message_id) {
    if (!session.session_) return;
    if (coap_pdu_t* ack = coap_pdu_init(COAP_MESSAGE_ACK, COAP_EMPTY_CODE, message_id, 0)) {
        coap_send(session.session_, ack);
    }
}

void CoreLink::flush_acks() {
    ack_timer_armed_ = false;
    const auto now = std::chrono::steady_clock::now();
    while (!ack_queue_.empty() && ack_queue_.front().due <= now) {
        const QueuedAck q = ack_queue_.front();
        ack_queue_.pop_front();
        --q.session->queued_acks_;
        auto* held = q.session->held_.get(q.id);
        if (!held || held->acknowledged || held->ack_after_commit) continue;
        if (ack_after_commit_) {
            // The bridge writes it now and releases the ACK once the store has it.
            held->ack_after_commit = true;
            handler_.on_core_request_acknowledged(*q.session, q.id);
            continue;
        }
        held->acknowledged = true;
        send_empty_ack(*q.session, held->message_id);
        handler_.on_core_request_acknowledged(*q.session, q.id);
    }
    arm_ack_timer();
}

void CoreLink::arm_ack_timer() {
    if (ack_timer_armed_ || ack_queue_.empty()) return;
    ack_timer_armed_ = true;
    // No earlier than 5 ms from now: under load the queue's head is always close, and one wake-up
    // per 5 ms bounds the timer's cost; an empty ACK 5 ms late is well within the core's patience.
    ack_timer_.expires_at(std::max(
        ack_queue_.front().due, std::chrono::steady_clock::now() + std::chrono::milliseconds(5)));
    ack_timer_.async_wait([this, alive = alive_](const std::error_code& ec) {
        if (!*alive || ec) return;
        current_link = this;
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
    const coap::Token request_token(coap::ByteView(token.s, token.length));
    const auto message_id = static_cast<std::uint16_t>(coap_pdu_get_mid(request));
    if (auto* held = session->held_.find(message_id, request_token)) {
        // The core retransmitted a request we hold: leaving the response empty acknowledges it
        // (again) with an empty ACK (nothing for a NON), and the bridge already has it. A core
        // whose ACK_TIMEOUT is shorter than the window gets here: acknowledge now.
        ++stats_.duplicates_held;
        if (held->ack_after_commit) {
            coap_pdu_set_type(response, COAP_MESSAGE_NON);  // no ACK before the commit
            return;
        }
        if (!held->acknowledged) {
            held->acknowledged = true;
            handler_.on_core_request_acknowledged(*session, held->id);
        }
        return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (auto again = session->answered_.find(message_id, request_token, now)) {
        ++stats_.duplicates_answered;
        fill_response(response, *again);
        return;
    }
    coap::Message message = from_pdu(request);
    if (auto answer = handler_.answer_locally(*session, message)) {
        fill_response(response, *answer);
        return;
    }
    const CoreRequestId id = next_id_++;
    const bool confirmable = coap_pdu_get_type(request) == COAP_MESSAGE_CON;
    const bool wait = confirmable && (config_.piggyback_window.count() > 0 || ack_after_commit_);
    session->held_.hold(id, message_id, request_token, confirmable, !wait);
    ++stats_.requests_received;
    answering_ = id;
    handler_.on_core_request(*session, id, std::move(message));
    answering_ = 0;
    if (immediate_) {
        fill_response(response, *immediate_);
        immediate_.reset();
        return;
    }
    const auto* held = session->held_.get(id);
    if (held && !held->acknowledged) {
        // An empty NON response is dropped by libcoap: no ACK now; respond() or flush_acks()
        // sends it.
        coap_pdu_set_type(response, COAP_MESSAGE_NON);
        ack_queue_.push_back({session, id, now + config_.piggyback_window});
        ++session->queued_acks_;
        arm_ack_timer();
    }
    // Otherwise `response` stays without a code: libcoap sends an empty ACK for a CON (nothing
    // for a NON), and respond() sends the answer later.
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
    return send_separately(session, core_token, std::move(response), true);
}

bool CoreLink::send_separately(UpstreamSession& session, const coap::Token& core_token,
                               coap::Message response, bool confirmable) {
    if (!session.session_) return false;
    response.set_token(core_token);
    coap_pdu_t* pdu =
        to_pdu(session.session_, response, confirmable ? COAP_MESSAGE_CON : COAP_MESSAGE_NON);
    if (!pdu) return false;
    // coap_send() writes the datagram now (or queues it behind an unacknowledged CON, NSTART 1,
    // until that ACK arrives): no timeout pass is needed to send it.
    return coap_send(session.session_, pdu) != COAP_INVALID_MID;
}

}  // namespace lwgate::upstream
