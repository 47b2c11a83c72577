// CoreSimulator implementation. Everything that touches libcoap runs on the simulator thread
// (Impl::run); the public API posts tasks to it (Impl::post) and waits on futures. State that tests
// read (registrations, events, observations) lives under Impl::mu and is signalled with Impl::cv.

#include "lwgate/coresim/core_simulator.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <utility>
#include <variant>

#include <coap3/coap.h>

#include "lwgate/device/socket.hpp"

namespace lwgate::coresim {

void coap_startup_once() {
    // coap_cleanup() is deliberately never called: other libcoap users of the process may still
    // be running when a simulator goes away.
    static std::once_flag once;
    std::call_once(once, [] {
        coap_startup();
        int level = LOG_ERR;
        if (const char* env = std::getenv("LWGATE_COAP_LOG"); env && *env) {
            level = std::atoi(env);
        }
        coap_set_log_level(static_cast<coap_log_t>(level));
    });
}

namespace {

Bytes bytes_of(const std::uint8_t* data, std::size_t len) {
    return data && len ? Bytes(data, data + len) : Bytes{};
}

std::string address_string(const coap_address_t* addr) {
    if (!addr) return {};
    unsigned char buf[INET6_ADDRSTRLEN + 16];
    const std::size_t n = coap_print_addr(addr, buf, sizeof buf);
    return std::string(reinterpret_cast<const char*>(buf), n);
}

std::optional<std::uint32_t> uint_option(const coap_pdu_t* pdu, coap_option_num_t number) {
    coap_opt_iterator_t oi;
    const coap_opt_t* opt = coap_check_option(pdu, number, &oi);
    if (!opt) return std::nullopt;
    return coap_decode_var_bytes(coap_opt_value(opt), coap_opt_length(opt));
}

std::vector<Option> all_options(const coap_pdu_t* pdu) {
    std::vector<Option> out;
    coap_opt_iterator_t oi;
    coap_option_iterator_init(pdu, &oi, COAP_OPT_ALL);
    while (const coap_opt_t* opt = coap_option_next(&oi)) {
        out.push_back(Option{oi.number, bytes_of(coap_opt_value(opt), coap_opt_length(opt))});
    }
    return out;
}

std::vector<std::string> string_options(const coap_pdu_t* pdu, coap_option_num_t number) {
    std::vector<std::string> out;
    coap_opt_iterator_t oi;
    coap_opt_filter_t filter;
    coap_option_filter_clear(&filter);
    coap_option_filter_set(&filter, number);
    coap_option_iterator_init(pdu, &oi, &filter);
    while (const coap_opt_t* opt = coap_option_next(&oi)) {
        out.emplace_back(reinterpret_cast<const char*>(coap_opt_value(opt)), coap_opt_length(opt));
    }
    return out;
}

// The whole body (libcoap reassembles Block1/Block2 with COAP_BLOCK_SINGLE_BODY).
Bytes body_of(const coap_pdu_t* pdu) {
    std::size_t len = 0;
    const std::uint8_t* data = nullptr;
    std::size_t offset = 0;
    std::size_t total = 0;
    if (!coap_get_data_large(pdu, &len, &data, &offset, &total)) return {};
    return bytes_of(data, len);
}

Bytes token_of(const coap_pdu_t* pdu) {
    const coap_bin_const_t token = coap_pdu_get_token(pdu);
    return bytes_of(token.s, token.length);
}

Response response_of(const coap_pdu_t* pdu) {
    Response r;
    r.code = Code::from_raw(static_cast<std::uint8_t>(coap_pdu_get_code(pdu)));
    r.options = all_options(pdu);
    if (auto cf = uint_option(pdu, COAP_OPTION_CONTENT_FORMAT)) {
        r.content_format = static_cast<std::uint16_t>(*cf);
    }
    r.observe = uint_option(pdu, COAP_OPTION_OBSERVE);
    r.payload = body_of(pdu);
    r.token = token_of(pdu);
    r.received_at = SteadyClock::now();
    return r;
}

// An empty CON (RFC 7252 §4.3): version 1, type CON, no token, code 0.00, nothing more.
bool is_ping(const std::uint8_t* datagram, ssize_t size) {
    return size == 4 && datagram[0] == 0x40 && datagram[1] == 0;
}

std::string join_path(const std::vector<std::string>& segments) {
    std::string out;
    for (const auto& s : segments)
        out += "/" + s;
    return out.empty() ? "/" : out;
}

bool make_address(const std::string& host, std::uint16_t port, coap_address_t& out) {
    coap_address_init(&out);
    const auto address = device::resolve(host, port);
    if (!address || address->length > sizeof out.addr) return false;
    std::memcpy(&out.addr, address->get(), address->length);
    out.size = address->length;
    return true;
}

// coap_endpoint_str() gives "127.0.0.1:5683 UDP" / "[::1]:5683 DTLS".
std::uint16_t endpoint_port(const coap_endpoint_t* ep) {
    std::string s = coap_endpoint_str(ep);
    if (const auto space = s.find(' '); space != std::string::npos) s.resize(space);
    const auto colon = s.rfind(':');
    if (colon == std::string::npos) return 0;
    return static_cast<std::uint16_t>(std::strtoul(s.c_str() + colon + 1, nullptr, 10));
}

// The unconnected datagram socket of this process bound to `port` (libcoap does not expose its
// endpoint sockets; silent mode reads and drops datagrams from them directly). -1 if not found.
int find_bound_udp_socket(std::uint16_t port) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
        const int fd = std::atoi(entry.path().filename().c_str());
        int type = 0;
        socklen_t len = sizeof type;
        if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_DGRAM) {
            continue;
        }
        if (device::local_port(fd) != port) continue;
        sockaddr_storage peer{};
        socklen_t peerlen = sizeof peer;
        if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peerlen) == 0) continue;
        return fd;
    }
    return -1;
}

void release_bytes(coap_session_t*, void* app_ptr) {
    delete static_cast<Bytes*>(app_ptr);
}

// (session, token): tokens are only unique per session.
using TokenKey = std::pair<const coap_session_t*, Bytes>;

}  // namespace

struct CoreSimulator::Impl {
    // A downlink request waiting for its answer.
    struct Pending {
        std::promise<std::optional<Response>> promise;
        bool done = false;
        std::uint64_t observation = 0;  // observe(): the observation it starts
        bool cancel = false;            // the GET Observe=1 of cancel_observe()
        TokenKey key;                   // set when sent (loop thread)

        void complete(std::optional<Response> r) {
            if (done) return;
            done = true;
            promise.set_value(std::move(r));
        }
    };

    struct ObservationState {
        Observation handle;
        std::deque<Response> queue;
        std::vector<Response> all;
        bool reset_armed = false;
        bool cancelled = false;
        std::size_t resets_sent = 0;
    };

    struct EndpointCounters {
        std::size_t registers = 0;
        std::size_t updates = 0;
    };

    // ---- fixed after start() ----
    Options opts;
    std::uint16_t udp_port = 0;
    std::uint16_t dtls_port = 0;

    // ---- thread and task queue ----
    std::thread thread;
    int wake_fd = -1;
    std::mutex task_mu;
    std::deque<std::function<void()>> tasks;
    bool accepting = false;  // under task_mu
    bool started = false;    // start() was called (a simulator is started at most once)
    std::atomic<bool> stop_requested{false};
    std::atomic<bool> is_running{false};
    std::atomic<bool> silent{false};
    std::atomic<std::uint64_t> messages{0};
    std::atomic<std::uint64_t> pings{0};
    std::atomic<std::uint64_t> duplicates{0};

    // ---- shared state, under mu ----
    mutable std::mutex mu;
    std::condition_variable cv;
    bool closed = false;
    std::vector<Event> events;
    std::map<std::string, Registration> regs;          // endpoint -> latest registration
    std::map<std::string, std::string> active_ids;     // registration id -> endpoint
    std::map<std::string, EndpointCounters> counters;  // endpoint -> counters
    std::map<std::string, std::string> last_source;    // endpoint -> ip:port
    std::map<std::uint64_t, ObservationState> observations;
    std::uint64_t next_observation = 1;
    Code register_response = codes::created;
    Code update_response = codes::changed;

    // ---- simulator thread only ----
    coap_context_t* ctx = nullptr;
    std::vector<int> raw_fds;
    std::map<std::string, coap_session_t*> sessions;             // endpoint -> referenced session
    std::map<coap_session_t*, std::string> endpoint_by_session;  // the reverse of `sessions`
    std::map<TokenKey, std::shared_ptr<Pending>> pending;
    std::map<TokenKey, std::uint64_t> observation_by_token;
    std::map<TokenKey, std::string> sent_identity;  // DTLS: the identity a token was sent to
    std::map<const coap_session_t*, std::string> psk_identities;
    std::map<std::string, coap_bin_const_t> psk_bins;
    std::uint64_t next_registration = 1;

    ~Impl() {
        if (wake_fd >= 0) ::close(wake_fd);
    }

    static Impl* from(coap_session_t* session) {
        return static_cast<Impl*>(coap_get_app_data(coap_session_get_context(session)));
    }

    // ---------------------------------------------------------------- thread plumbing

    bool post(std::function<void()> task) {
        {
            std::lock_guard lock(task_mu);
            if (!accepting) return false;
            tasks.push_back(std::move(task));
        }
        const std::uint64_t one = 1;
        [[maybe_unused]] auto n = ::write(wake_fd, &one, sizeof one);
        return true;
    }

    void run_tasks() {
        std::deque<std::function<void()>> batch;
        {
            std::lock_guard lock(task_mu);
            batch.swap(tasks);
        }
        for (auto& task : batch)
            task();
    }

    void drain_silently() {
        std::vector<pollfd> fds;
        fds.push_back(pollfd{wake_fd, POLLIN, 0});
        for (int fd : raw_fds)
            fds.push_back(pollfd{fd, POLLIN, 0});
        if (::poll(fds.data(), fds.size(), 200) <= 0) return;
        if (fds[0].revents & POLLIN) {
            std::uint64_t value;
            [[maybe_unused]] auto n = ::read(wake_fd, &value, sizeof value);
        }
        for (std::size_t i = 1; i < fds.size(); ++i) {
            if (!(fds[i].revents & POLLIN)) continue;
            std::uint8_t buf[2048];
            for (ssize_t n; (n = ::recv(fds[i].fd, buf, sizeof buf, MSG_DONTWAIT)) >= 0;)
                ++(is_ping(buf, n) ? pings : messages);
        }
    }

    void run() {
        const int coap_fd = coap_context_get_coap_fd(ctx);
        while (true) {
            run_tasks();
            if (stop_requested) break;
            if (silent) {
                drain_silently();
                continue;
            }
            coap_io_process(ctx, COAP_IO_NO_WAIT);
            run_tasks();
            if (stop_requested) break;
            coap_tick_t now;
            coap_ticks(&now);
            const unsigned next_ms = coap_io_prepare_epoll(ctx, now);
            const int timeout = next_ms == 0 ? 500 : static_cast<int>(std::min(next_ms, 500u));
            pollfd fds[2] = {{wake_fd, POLLIN, 0}, {coap_fd, POLLIN, 0}};
            const int nfds = coap_fd >= 0 ? 2 : 1;
            if (::poll(fds, nfds, coap_fd >= 0 ? timeout : std::min(timeout, 10)) > 0 &&
                (fds[0].revents & POLLIN)) {
                std::uint64_t value;
                [[maybe_unused]] auto n = ::read(wake_fd, &value, sizeof value);
            }
        }
        shutdown_coap();
    }

    void shutdown_coap() {
        {
            std::lock_guard lock(task_mu);
            accepting = false;
        }
        for (auto& [key, p] : pending)
            p->complete(std::nullopt);
        pending.clear();
        observation_by_token.clear();
        for (auto& [ep, session] : sessions)
            coap_session_release(session);
        sessions.clear();
        endpoint_by_session.clear();
        coap_free_context(ctx);
        ctx = nullptr;
        // Tasks posted before `accepting` turned false: they see ctx == nullptr and complete
        // their futures empty.
        run_tasks();
        {
            std::lock_guard lock(mu);
            closed = true;
        }
        cv.notify_all();
        is_running = false;
    }

    // ---------------------------------------------------------------- recording
    //
    // An event is appended in the same critical section as the state change it reports, so a
    // waiter that sees the state (a registration, a notification) also sees the event. Then
    // publish() wakes waiters and calls Options::on_event outside the lock.

    void append_locked(Event& ev, bool to_history) {
        ev.at = SteadyClock::now();
        ev.seq = events.size() + 1;
        if (to_history) {
            if (auto it = regs.find(ev.endpoint); it != regs.end()) {
                it->second.history.push_back(ev);
            }
        }
        events.push_back(ev);
    }

    void publish(const Event& ev) {
        cv.notify_all();
        if (opts.on_event) opts.on_event(ev);
    }

    void record(Event ev) {
        {
            std::lock_guard lock(mu);
            append_locked(ev, false);
        }
        publish(ev);
    }

    std::optional<std::string> identity_of(coap_session_t* session) const {
        if (coap_session_get_proto(session) != COAP_PROTO_DTLS) return std::nullopt;
        // The identity our validate callback accepted for this session; libcoap's own copy as a
        // fallback.
        if (auto it = psk_identities.find(session); it != psk_identities.end()) return it->second;
        if (const coap_bin_const_t* id = coap_session_get_psk_identity(session)) {
            return std::string(reinterpret_cast<const char*>(id->s), id->length);
        }
        return std::nullopt;
    }

    // Who a response on `session` may come from, for matching it to what was sent: for DTLS its
    // PSK identity; without security the registration the session carries (as Leshan's
    // unsecured identity follows a registration's address once an Update came from a new one).
    std::optional<std::string> match_identity_of(coap_session_t* session) const {
        if (auto identity = identity_of(session)) return identity;
        if (auto it = endpoint_by_session.find(session); it != endpoint_by_session.end())
            return "registration " + it->second;
        return std::nullopt;
    }

    void remember_session(const std::string& endpoint, coap_session_t* session) {
        auto& slot = sessions[endpoint];
        if (slot == session) return;
        endpoint_by_session.erase(slot);
        endpoint_by_session[session] = endpoint;
        // libcoap 4.3.1 would send GET Observe=1 (NON) for every observation still tracked on
        // the session when the session is freed (e.g. by stop()); a core going away does not.
        coap_session_set_no_observe_cancel(session);
        coap_session_reference(session);
        if (slot) coap_session_release(slot);
        slot = session;
    }

    void forget_session(const std::string& endpoint) {
        if (auto it = sessions.find(endpoint); it != sessions.end()) {
            endpoint_by_session.erase(it->second);
            coap_session_release(it->second);
            sessions.erase(it);
        }
    }

    // The endpoint a request on `session` belongs to: the one whose session it is, else the
    // active registration last seen from the same address.
    std::string endpoint_of(coap_session_t* session, const std::string& source) {
        for (const auto& [ep, s] : sessions) {
            if (s == session) return ep;
        }
        std::lock_guard lock(mu);
        for (const auto& [ep, reg] : regs) {
            if (reg.active && reg.source == source) return ep;
        }
        return {};
    }

    Event event_for(EventKind kind, coap_session_t* session, const coap_pdu_t* request) {
        Event ev;
        ev.kind = kind;
        ev.source = address_string(coap_session_get_addr_remote(session));
        ev.dtls_identity = identity_of(session);
        ev.method = static_cast<Method>(coap_pdu_get_code(request));
        ev.path = join_path(string_options(request, COAP_OPTION_URI_PATH));
        ev.query = string_options(request, COAP_OPTION_URI_QUERY);
        if (auto cf = uint_option(request, COAP_OPTION_CONTENT_FORMAT)) {
            ev.content_format = static_cast<std::uint16_t>(*cf);
        }
        ev.payload = body_of(request);
        ev.token = token_of(request);
        return ev;
    }

    static void apply_params(Registration& reg, const Event& ev, bool initial) {
        if (auto lt = ev.query_value("lt")) {
            reg.lifetime = static_cast<std::uint32_t>(std::strtoul(lt->c_str(), nullptr, 10));
        }
        if (auto b = ev.query_value("b")) reg.binding = *b;
        if (auto sms = ev.query_value("sms")) reg.sms = *sms;
        if (initial) {
            if (auto v = ev.query_value("lwm2m")) reg.lwm2m_version = *v;
            reg.queue_mode = ev.has_query("Q");
        } else if (ev.has_query("Q")) {
            reg.queue_mode = true;
        }
        if (initial || !ev.payload.empty()) {
            reg.object_links = ev.payload;
            reg.content_format = ev.content_format;
        }
        reg.source = ev.source;
        reg.last_refresh = SteadyClock::now();
    }

    // ---------------------------------------------------------------- uplink handlers

    void on_register(coap_session_t* session, const coap_pdu_t* request, coap_pdu_t* response) {
        Event ev = event_for(EventKind::register_, session, request);
        ev.endpoint = ev.query_value("ep").value_or("");
        {
            std::lock_guard lock(mu);
            ev.response = ev.endpoint.empty() ? codes::bad_request : register_response;
            if (ev.response.success()) {
                ev.registration_id = std::to_string(next_registration++);
                Registration reg;
                reg.endpoint = ev.endpoint;
                reg.id = ev.registration_id;
                reg.query = ev.query;
                reg.dtls_identity = ev.dtls_identity;
                reg.registered_at = SteadyClock::now();
                apply_params(reg, ev, true);
                if (auto old = regs.find(ev.endpoint); old != regs.end()) {
                    active_ids.erase(old->second.id);
                }
                active_ids[reg.id] = ev.endpoint;
                regs[ev.endpoint] = std::move(reg);
                ++counters[ev.endpoint].registers;
                last_source[ev.endpoint] = ev.source;
            }
            append_locked(ev, ev.response.success());
        }
        coap_pdu_set_code(response, static_cast<coap_pdu_code_t>(ev.response.raw));
        if (ev.response.success()) {
            const std::string& id = ev.registration_id;
            coap_add_option(response, COAP_OPTION_LOCATION_PATH, 2,
                            reinterpret_cast<const std::uint8_t*>("rd"));
            coap_add_option(response, COAP_OPTION_LOCATION_PATH, id.size(),
                            reinterpret_cast<const std::uint8_t*>(id.data()));
            remember_session(ev.endpoint, session);
        }
        publish(ev);
    }

    void on_update(coap_session_t* session, const coap_pdu_t* request, coap_pdu_t* response,
                   const std::string& id) {
        Event ev = event_for(EventKind::update, session, request);
        ev.registration_id = id;
        {
            std::lock_guard lock(mu);
            auto it = active_ids.find(id);
            if (it == active_ids.end()) {
                ev.response = codes::not_found;
            } else {
                ev.endpoint = it->second;
                ev.response = update_response;
                if (ev.response.success()) {
                    Registration& reg = regs[ev.endpoint];
                    apply_params(reg, ev, false);
                    if (ev.dtls_identity) reg.dtls_identity = ev.dtls_identity;
                    ++reg.updates;
                    ++counters[ev.endpoint].updates;
                    last_source[ev.endpoint] = ev.source;
                }
            }
            append_locked(ev, !ev.endpoint.empty());
        }
        if (ev.response.success()) remember_session(ev.endpoint, session);
        coap_pdu_set_code(response, static_cast<coap_pdu_code_t>(ev.response.raw));
        publish(ev);
    }

    void on_deregister(coap_session_t* session, const coap_pdu_t* request, coap_pdu_t* response,
                       const std::string& id) {
        Event ev = event_for(EventKind::deregister, session, request);
        ev.registration_id = id;
        {
            std::lock_guard lock(mu);
            auto it = active_ids.find(id);
            if (it == active_ids.end()) {
                ev.response = codes::not_found;
            } else {
                ev.endpoint = it->second;
                ev.response = codes::deleted;
                regs[ev.endpoint].active = false;
                active_ids.erase(it);
            }
            append_locked(ev, !ev.endpoint.empty());
        }
        if (!ev.endpoint.empty()) forget_session(ev.endpoint);
        coap_pdu_set_code(response, static_cast<coap_pdu_code_t>(ev.response.raw));
        publish(ev);
    }

    void on_send(coap_session_t* session, const coap_pdu_t* request, coap_pdu_t* response) {
        Event ev = event_for(EventKind::send, session, request);
        ev.endpoint = endpoint_of(session, ev.source);
        ev.response = codes::changed;
        coap_pdu_set_code(response, static_cast<coap_pdu_code_t>(ev.response.raw));
        record(std::move(ev));
    }

    void on_bootstrap(coap_session_t* session, const coap_pdu_t* request, coap_pdu_t* response) {
        Event ev = event_for(EventKind::bootstrap, session, request);
        ev.endpoint = ev.query_value("ep").value_or("");
        ev.response = ev.endpoint.empty() ? codes::bad_request : codes::changed;
        if (!ev.endpoint.empty()) remember_session(ev.endpoint, session);
        {
            std::lock_guard lock(mu);
            if (!ev.endpoint.empty()) last_source[ev.endpoint] = ev.source;
            append_locked(ev, false);
        }
        coap_pdu_set_code(response, static_cast<coap_pdu_code_t>(ev.response.raw));
        publish(ev);
    }

    void on_other(coap_session_t* session, const coap_pdu_t* request, coap_pdu_t* response) {
        const auto segments = string_options(request, COAP_OPTION_URI_PATH);
        const auto method = coap_pdu_get_code(request);
        if (segments.size() == 2 && segments[0] == "rd") {
            if (method == COAP_REQUEST_CODE_POST) {
                on_update(session, request, response, segments[1]);
                return;
            }
            if (method == COAP_REQUEST_CODE_DELETE) {
                on_deregister(session, request, response, segments[1]);
                return;
            }
        }
        Event ev = event_for(EventKind::other, session, request);
        ev.endpoint = endpoint_of(session, ev.source);
        const bool known_path = segments.size() == 1 &&
                                (segments[0] == "rd" || segments[0] == "dp" || segments[0] == "bs");
        const bool rd_id = segments.size() == 2 && segments[0] == "rd";
        ev.response = known_path || rd_id ? codes::method_not_allowed : codes::not_found;
        coap_pdu_set_code(response, static_cast<coap_pdu_code_t>(ev.response.raw));
        record(std::move(ev));
    }

    // ---------------------------------------------------------------- duplicates
    //
    // libcoap 4.3.1 does not detect retransmitted requests on the server side: a CON whose ACK
    // was lost reaches the handler again. A real LwM2M server would not register twice, so the
    // simulator answers a repeated (peer, Message ID) with the first answer (code and
    // Location-Path) and records nothing new.

    struct CachedAnswer {
        coap_pdu_code_t code;
        std::vector<std::string> location;
    };
    using DupKey = std::tuple<std::string, int, coap_mid_t>;  // peer, proto, mid
    std::map<DupKey, CachedAnswer> answered;
    std::deque<DupKey> answered_order;
    static constexpr std::size_t kAnswerCache = 1024;

    static DupKey dup_key(coap_session_t* s, const coap_pdu_t* req) {
        return {address_string(coap_session_get_addr_remote(s)),
                static_cast<int>(coap_session_get_proto(s)), coap_pdu_get_mid(req)};
    }

    using Handler = void (Impl::*)(coap_session_t*, const coap_pdu_t*, coap_pdu_t*);

    static void dispatch(coap_session_t* s, const coap_pdu_t* req, coap_pdu_t* resp,
                         Handler handler) {
        Impl* self = from(s);
        ++self->messages;
        const DupKey key = dup_key(s, req);
        if (auto it = self->answered.find(key); it != self->answered.end()) {
            ++self->duplicates;
            coap_pdu_set_code(resp, it->second.code);
            for (const auto& seg : it->second.location) {
                coap_add_option(resp, COAP_OPTION_LOCATION_PATH, seg.size(),
                                reinterpret_cast<const std::uint8_t*>(seg.data()));
            }
            return;
        }
        (self->*handler)(s, req, resp);
        self->answered[key] =
            CachedAnswer{coap_pdu_get_code(resp), string_options(resp, COAP_OPTION_LOCATION_PATH)};
        self->answered_order.push_back(key);
        if (self->answered_order.size() > kAnswerCache) {
            self->answered.erase(self->answered_order.front());
            self->answered_order.pop_front();
        }
    }

    // libcoap request handler trampolines.
    static void hnd_rd(coap_resource_t*, coap_session_t* s, const coap_pdu_t* req,
                       const coap_string_t*, coap_pdu_t* resp) {
        dispatch(s, req, resp, &Impl::on_register);
    }
    static void hnd_dp(coap_resource_t*, coap_session_t* s, const coap_pdu_t* req,
                       const coap_string_t*, coap_pdu_t* resp) {
        dispatch(s, req, resp, &Impl::on_send);
    }
    static void hnd_bs(coap_resource_t*, coap_session_t* s, const coap_pdu_t* req,
                       const coap_string_t*, coap_pdu_t* resp) {
        dispatch(s, req, resp, &Impl::on_bootstrap);
    }
    static void hnd_unknown(coap_resource_t*, coap_session_t* s, const coap_pdu_t* req,
                            const coap_string_t*, coap_pdu_t* resp) {
        dispatch(s, req, resp, &Impl::on_other);
    }

    // ---------------------------------------------------------------- downlink

    static coap_response_t hnd_response(coap_session_t* session, const coap_pdu_t*,
                                        const coap_pdu_t* received, const coap_mid_t) {
        Impl* self = from(session);
        ++self->messages;
        return self->on_response(session, received);
    }

    // Leshan and Californium match an answer to a request or observation by its token and the
    // peer's identity, which for DTLS is the PSK identity, not the address: a device whose DTLS
    // session moved to a new port (and told the core with an Update) keeps its observations.
    // libcoap matches by session. For DTLS the simulator does as Leshan: a token unknown on this
    // session is looked up among those sent to the same identity, and moves to this session.
    TokenKey adopt_by_identity(coap_session_t* session, const Bytes& token) {
        const TokenKey key{session, token};
        if (pending.count(key) || observation_by_token.count(key)) return key;
        const auto identity = match_identity_of(session);
        if (!identity) return key;
        for (auto it = sent_identity.begin(); it != sent_identity.end(); ++it) {
            if (it->first.second != token || it->first.first == session ||
                it->second != *identity) {
                continue;
            }
            const TokenKey old = it->first;
            sent_identity.erase(it);
            sent_identity[key] = *identity;
            if (auto n = pending.extract(old)) {
                n.key() = key;
                n.mapped()->key = key;
                pending.insert(std::move(n));
            }
            if (auto n = observation_by_token.extract(old)) {
                n.key() = key;
                observation_by_token.insert(std::move(n));
            }
            break;
        }
        return key;
    }

    coap_response_t on_response(coap_session_t* session, const coap_pdu_t* received) {
        Response r = response_of(received);
        const TokenKey key = adopt_by_identity(session, r.token);
        if (auto it = pending.find(key); it != pending.end()) {
            auto p = it->second;
            if (!(p->cancel && r.observe)) {
                pending.erase(it);
                if (p->cancel) {
                    std::lock_guard lock(mu);
                    if (auto o = observations.find(p->observation); o != observations.end()) {
                        o->second.cancelled = true;
                    }
                }
                p->complete(std::move(r));
                return COAP_RESPONSE_OK;
            }
        }
        auto o = observation_by_token.find(key);
        if (o == observation_by_token.end()) {
            // Not ours: a notification for an observation we do not know gets RST (RFC 7641).
            return r.observe ? COAP_RESPONSE_FAIL : COAP_RESPONSE_OK;
        }
        Event ev;
        ev.kind = EventKind::notification;
        ev.source = address_string(coap_session_get_addr_remote(session));
        ev.dtls_identity = identity_of(session);
        ev.content_format = r.content_format;
        ev.payload = r.payload;
        ev.response = r.code;
        ev.observe = r.observe;
        bool reset = false;
        {
            std::lock_guard lock(mu);
            auto s = observations.find(o->second);
            if (s == observations.end()) return COAP_RESPONSE_FAIL;
            ObservationState& st = s->second;
            ev.endpoint = st.handle.endpoint;
            ev.path = st.handle.path;
            st.all.push_back(r);
            if (st.reset_armed || st.cancelled) {
                st.reset_armed = false;
                st.cancelled = true;
                ++st.resets_sent;
                reset = true;
            } else {
                st.queue.push_back(std::move(r));
            }
            append_locked(ev, false);
        }
        publish(ev);
        return reset ? COAP_RESPONSE_FAIL : COAP_RESPONSE_OK;
    }

    static void hnd_nack(coap_session_t* session, const coap_pdu_t* sent,
                         const coap_nack_reason_t reason, const coap_mid_t) {
        Impl* self = from(session);
        if (reason == COAP_NACK_RST) ++self->messages;
        if (!sent) return;
        const TokenKey key{session, token_of(sent)};
        if (auto it = self->pending.find(key); it != self->pending.end()) {
            auto p = it->second;
            self->pending.erase(it);
            p->complete(std::nullopt);
        }
    }

    static void hnd_ping(coap_session_t* session, const coap_pdu_t*, const coap_mid_t) {
        ++from(session)->pings;
    }

    static int hnd_event(coap_session_t* session, const coap_event_t event) {
        Impl* self = from(session);
        if (event == COAP_EVENT_SERVER_SESSION_DEL) self->psk_identities.erase(session);
        return 0;
    }

    static const coap_bin_const_t* hnd_psk_identity(coap_bin_const_t* identity,
                                                    coap_session_t* session, void* arg) {
        Impl* self = static_cast<Impl*>(arg);
        const std::string id(reinterpret_cast<const char*>(identity->s), identity->length);
        auto it = self->psk_bins.find(id);
        if (it == self->psk_bins.end()) {
            Event ev;
            ev.kind = EventKind::psk_rejected;
            ev.source = address_string(coap_session_get_addr_remote(session));
            ev.dtls_identity = id;
            self->record(std::move(ev));
            return nullptr;
        }
        self->psk_identities[session] = id;
        return &it->second;
    }

    // Builds and sends `req` on the endpoint's session; the answer completes `p`.
    void send_request(const std::string& endpoint, const Request& req,
                      const std::shared_ptr<Pending>& p, const Bytes* reuse_token = nullptr) {
        if (!ctx) return p->complete(std::nullopt);
        auto sit = sessions.find(endpoint);
        if (sit == sessions.end()) return p->complete(std::nullopt);
        coap_session_t* session = sit->second;
        coap_pdu_t* pdu =
            coap_pdu_init(req.confirmable ? COAP_MESSAGE_CON : COAP_MESSAGE_NON,
                          static_cast<coap_pdu_code_t>(req.method), coap_new_message_id(session),
                          coap_session_max_pdu_size(session));
        if (!pdu) return p->complete(std::nullopt);
        Bytes token;
        if (reuse_token) {
            token = *reuse_token;
        } else {
            std::uint8_t buf[8];
            std::size_t len = 0;
            coap_session_new_token(session, &len, buf);
            token.assign(buf, buf + len);
        }
        coap_add_token(pdu, token.size(), token.data());

        coap_optlist_t* chain = nullptr;
        std::uint8_t num[4];
        auto add_uint = [&](std::uint16_t number, std::uint32_t value) {
            const unsigned n = coap_encode_var_safe(num, sizeof num, value);
            coap_insert_optlist(&chain, coap_new_optlist(number, n, num));
        };
        for (const auto& seg : split_path(req.uri_path)) {
            coap_insert_optlist(
                &chain, coap_new_optlist(COAP_OPTION_URI_PATH, seg.size(),
                                         reinterpret_cast<const std::uint8_t*>(seg.data())));
        }
        for (const auto& q : req.uri_query) {
            coap_insert_optlist(&chain,
                                coap_new_optlist(COAP_OPTION_URI_QUERY, q.size(),
                                                 reinterpret_cast<const std::uint8_t*>(q.data())));
        }
        if (req.observe) add_uint(COAP_OPTION_OBSERVE, *req.observe);
        if (req.content_format) add_uint(COAP_OPTION_CONTENT_FORMAT, *req.content_format);
        if (req.accept) add_uint(COAP_OPTION_ACCEPT, *req.accept);
        for (const auto& opt : req.extra_options) {
            coap_insert_optlist(&chain,
                                coap_new_optlist(opt.number, opt.value.size(), opt.value.data()));
        }
        if (chain) {
            const int ok = coap_add_optlist_pdu(pdu, &chain);
            coap_delete_optlist(chain);
            if (!ok) {
                coap_delete_pdu(pdu);
                return p->complete(std::nullopt);
            }
        }
        if (!req.payload.empty()) {
            auto* body = new Bytes(req.payload);
            // On failure libcoap has already called release_bytes.
            if (!coap_add_data_large_request(session, pdu, body->size(), body->data(),
                                             release_bytes, body)) {
                coap_delete_pdu(pdu);
                return p->complete(std::nullopt);
            }
        }
        p->key = TokenKey{session, token};
        pending[p->key] = p;
        if (auto identity = match_identity_of(session)) sent_identity[p->key] = *identity;
        if (p->observation != 0 && !p->cancel) {
            observation_by_token[p->key] = p->observation;
            std::lock_guard lock(mu);
            if (auto o = observations.find(p->observation); o != observations.end()) {
                o->second.handle.token = token;
            }
        }
        if (coap_send(session, pdu) == COAP_INVALID_MID) {
            pending.erase(p->key);
            p->complete(std::nullopt);
        }
    }

    std::optional<Response> await(const std::shared_ptr<Pending>& p, std::function<void()> task,
                                  Millis timeout) {
        auto future = p->promise.get_future();
        if (!post(std::move(task))) return std::nullopt;
        if (future.wait_for(timeout) == std::future_status::ready) return future.get();
        // Give up: forget the token so a late answer is ignored.
        post([this, p] {
            if (auto it = pending.find(p->key); it != pending.end() && it->second == p) {
                pending.erase(it);
            }
            p->complete(std::nullopt);
        });
        return std::nullopt;
    }

    // ---------------------------------------------------------------- setup

    void open_endpoint(coap_proto_t proto, std::uint16_t port, std::uint16_t& bound) {
        coap_address_t addr;
        if (!make_address(opts.host, port, addr)) {
            throw std::runtime_error("coresim: cannot resolve " + opts.host);
        }
        coap_endpoint_t* ep = coap_new_endpoint(ctx, &addr, proto);
        if (!ep) {
            throw std::runtime_error("coresim: cannot bind " + opts.host + ":" +
                                     std::to_string(port) +
                                     (proto == COAP_PROTO_DTLS ? " (DTLS)" : " (UDP)"));
        }
        bound = endpoint_port(ep);
        if (const int fd = find_bound_udp_socket(bound); fd >= 0) raw_fds.push_back(fd);
    }

    void setup() {
        ctx = coap_new_context(nullptr);
        if (!ctx) throw std::runtime_error("coresim: coap_new_context failed");
        coap_set_app_data(ctx, this);
        coap_context_set_block_mode(ctx, COAP_BLOCK_USE_LIBCOAP | COAP_BLOCK_SINGLE_BODY);
        coap_register_response_handler(ctx, hnd_response);
        coap_register_nack_handler(ctx, hnd_nack);
        coap_register_ping_handler(ctx, hnd_ping);
        coap_register_event_handler(ctx, hnd_event);

        if (opts.dtls) {
            if (!coap_dtls_is_supported()) {
                throw std::runtime_error("coresim: libcoap has no DTLS support");
            }
            for (const auto& [identity, key] : opts.psk_keys) {
                psk_bins[identity] = coap_bin_const_t{key.size(), key.data()};
            }
            coap_dtls_spsk_t spsk{};
            spsk.version = COAP_DTLS_SPSK_SETUP_VERSION;
            spsk.validate_id_call_back = hnd_psk_identity;
            spsk.id_call_back_arg = this;
            if (!coap_context_set_psk2(ctx, &spsk)) {
                throw std::runtime_error("coresim: coap_context_set_psk2 failed");
            }
        }
        if (opts.udp) open_endpoint(COAP_PROTO_UDP, opts.port, udp_port);
        if (opts.dtls) open_endpoint(COAP_PROTO_DTLS, opts.dtls_port, dtls_port);

        auto add = [&](const char* path, coap_method_handler_t handler) {
            coap_resource_t* r = coap_resource_init(coap_make_str_const(path), 0);
            coap_register_request_handler(r, COAP_REQUEST_POST, handler);
            coap_add_resource(ctx, r);
        };
        add("rd", hnd_rd);
        add("dp", hnd_dp);
        add("bs", hnd_bs);
        coap_resource_t* unknown = coap_resource_unknown_init2(hnd_unknown, 0);
        for (coap_request_t m : {COAP_REQUEST_GET, COAP_REQUEST_POST, COAP_REQUEST_DELETE,
                                 COAP_REQUEST_FETCH, COAP_REQUEST_PATCH, COAP_REQUEST_IPATCH}) {
            coap_register_request_handler(unknown, m, hnd_unknown);
        }
        coap_add_resource(ctx, unknown);
    }

    void free_setup_failure() {
        if (ctx) coap_free_context(ctx);
        ctx = nullptr;
        raw_fds.clear();
    }
};

// ==================================================================== public API

CoreSimulator::CoreSimulator() : impl_(std::make_unique<Impl>()) {}

CoreSimulator::~CoreSimulator() {
    stop();
}

void CoreSimulator::start(Options options) {
    Impl& d = *impl_;
    if (d.started) throw std::runtime_error("coresim: start() may be called only once");
    d.started = true;
    coap_startup_once();
    d.opts = std::move(options);
    {
        std::lock_guard lock(d.mu);
        d.register_response = d.opts.register_response;
        d.update_response = d.opts.update_response;
        d.closed = false;
    }
    d.wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (d.wake_fd < 0) throw std::runtime_error("coresim: eventfd failed");
    // libcoap is set up on the simulator thread too (its epoll fd and sessions belong there);
    // the thread reports success or the error through this promise.
    std::promise<void> ready;
    auto ready_future = ready.get_future();
    {
        std::lock_guard lock(d.task_mu);
        d.accepting = true;
    }
    d.stop_requested = false;
    d.thread = std::thread([&d, ready = std::move(ready)]() mutable {
        try {
            d.setup();
        } catch (...) {
            d.free_setup_failure();
            {
                std::lock_guard lock(d.task_mu);
                d.accepting = false;
            }
            ready.set_exception(std::current_exception());
            return;
        }
        d.is_running = true;
        ready.set_value();
        d.run();
    });
    try {
        ready_future.get();
    } catch (...) {
        d.thread.join();
        throw;
    }
}

void CoreSimulator::stop() {
    Impl& d = *impl_;
    if (!d.thread.joinable()) return;
    d.stop_requested = true;
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(d.wake_fd, &one, sizeof one);
    d.thread.join();
}

bool CoreSimulator::running() const {
    return impl_->is_running;
}

std::uint16_t CoreSimulator::port() const {
    return impl_->udp_port;
}
std::uint16_t CoreSimulator::dtls_port() const {
    return impl_->dtls_port;
}

namespace {
std::string host_for_uri(const std::string& host) {
    return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}
}  // namespace

std::string CoreSimulator::uri() const {
    return "coap://" + host_for_uri(impl_->opts.host) + ":" + std::to_string(port());
}
std::string CoreSimulator::dtls_uri() const {
    return "coaps://" + host_for_uri(impl_->opts.host) + ":" + std::to_string(dtls_port());
}

void CoreSimulator::set_register_response(Code code) {
    std::lock_guard lock(impl_->mu);
    impl_->register_response = code;
}

void CoreSimulator::set_update_response(Code code) {
    std::lock_guard lock(impl_->mu);
    impl_->update_response = code;
}

void CoreSimulator::set_silent(bool silent) {
    impl_->silent = silent;
    // Wake the loop so it switches mode now.
    impl_->post([] {});
}

bool CoreSimulator::silent() const {
    return impl_->silent;
}

std::vector<Registration> CoreSimulator::registrations() const {
    std::lock_guard lock(impl_->mu);
    std::vector<Registration> out;
    for (const auto& [ep, reg] : impl_->regs)
        out.push_back(reg);
    return out;
}

std::optional<Registration> CoreSimulator::registration(const std::string& endpoint) const {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->regs.find(endpoint);
    if (it == impl_->regs.end()) return std::nullopt;
    return it->second;
}

namespace {
template <class Pred>
bool wait_for(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, Millis timeout,
              const bool& closed, Pred pred) {
    return cv.wait_for(lock, timeout, [&] { return pred() || closed; }) && pred();
}
}  // namespace

std::optional<Registration> CoreSimulator::wait_registration(const std::string& endpoint,
                                                             Millis timeout, std::size_t count) {
    Impl& d = *impl_;
    std::unique_lock lock(d.mu);
    auto done = [&] {
        auto it = d.counters.find(endpoint);
        return it != d.counters.end() && it->second.registers >= count;
    };
    if (!wait_for(lock, d.cv, timeout, d.closed, done)) return std::nullopt;
    return d.regs.at(endpoint);
}

std::optional<Registration> CoreSimulator::wait_update(const std::string& endpoint,
                                                       std::size_t count, Millis timeout) {
    Impl& d = *impl_;
    std::unique_lock lock(d.mu);
    auto done = [&] {
        auto it = d.counters.find(endpoint);
        return it != d.counters.end() && it->second.updates >= count;
    };
    if (!wait_for(lock, d.cv, timeout, d.closed, done)) return std::nullopt;
    return d.regs.at(endpoint);
}

std::optional<Registration> CoreSimulator::wait_deregistration(const std::string& endpoint,
                                                               Millis timeout) {
    Impl& d = *impl_;
    std::unique_lock lock(d.mu);
    auto done = [&] {
        auto it = d.regs.find(endpoint);
        return it != d.regs.end() && !it->second.active;
    };
    if (!wait_for(lock, d.cv, timeout, d.closed, done)) return std::nullopt;
    return d.regs.at(endpoint);
}

std::vector<Event> CoreSimulator::events() const {
    std::lock_guard lock(impl_->mu);
    return impl_->events;
}

std::vector<Event> CoreSimulator::events(EventKind kind) const {
    std::lock_guard lock(impl_->mu);
    std::vector<Event> out;
    for (const auto& ev : impl_->events) {
        if (ev.kind == kind) out.push_back(ev);
    }
    return out;
}

std::optional<Event> CoreSimulator::wait_event(const std::function<bool(const Event&)>& match,
                                               Millis timeout) {
    Impl& d = *impl_;
    std::unique_lock lock(d.mu);
    std::size_t scanned = 0;
    std::optional<Event> found;
    auto done = [&] {
        for (; scanned < d.events.size(); ++scanned) {
            if (match(d.events[scanned])) {
                found = d.events[scanned];
                return true;
            }
        }
        return false;
    };
    wait_for(lock, d.cv, timeout, d.closed, done);
    return found;
}

std::optional<Event> CoreSimulator::wait_send(std::size_t count, Millis timeout) {
    std::size_t seen = 0;
    return wait_event(
        [&](const Event& ev) { return ev.kind == EventKind::send && ++seen == count; }, timeout);
}

std::uint64_t CoreSimulator::messages_received() const {
    return impl_->messages;
}

std::uint64_t CoreSimulator::pings_received() const {
    return impl_->pings;
}

std::uint64_t CoreSimulator::duplicates_received() const {
    return impl_->duplicates;
}

std::optional<std::string> CoreSimulator::last_source(const std::string& endpoint) const {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->last_source.find(endpoint);
    if (it == impl_->last_source.end()) return std::nullopt;
    return it->second;
}

// ---- downlink

std::optional<Response> CoreSimulator::request(const std::string& endpoint, const Request& req,
                                               Millis timeout) {
    Impl& d = *impl_;
    auto p = std::make_shared<Impl::Pending>();
    return d.await(
        p, [&d, endpoint, req, p] { d.send_request(endpoint, req, p); }, timeout);
}

std::optional<Response> CoreSimulator::read(const std::string& endpoint, const std::string& path,
                                            std::optional<std::uint16_t> accept, Millis timeout) {
    Request req;
    req.method = Method::get;
    req.uri_path = path;
    req.accept = accept;
    return request(endpoint, req, timeout);
}

std::optional<Response> CoreSimulator::write(const std::string& endpoint, const std::string& path,
                                             std::uint16_t format, Bytes payload, WriteMode mode,
                                             Millis timeout) {
    Request req;
    req.method = mode == WriteMode::replace ? Method::put : Method::post;
    req.uri_path = path;
    req.content_format = format;
    req.payload = std::move(payload);
    return request(endpoint, req, timeout);
}

std::optional<Response> CoreSimulator::execute(const std::string& endpoint, const std::string& path,
                                               const std::string& args, Millis timeout) {
    Request req;
    req.method = Method::post;
    req.uri_path = path;
    if (!args.empty()) {
        req.content_format = content_format::text_plain;
        req.payload = to_bytes(args);
    }
    return request(endpoint, req, timeout);
}

std::optional<Response> CoreSimulator::create(const std::string& endpoint, const std::string& path,
                                              std::uint16_t format, Bytes payload, Millis timeout) {
    Request req;
    req.method = Method::post;
    req.uri_path = path;
    req.content_format = format;
    req.payload = std::move(payload);
    return request(endpoint, req, timeout);
}

std::optional<Response> CoreSimulator::delete_(const std::string& endpoint, const std::string& path,
                                               Millis timeout) {
    Request req;
    req.method = Method::delete_;
    req.uri_path = path;
    return request(endpoint, req, timeout);
}

std::optional<Response> CoreSimulator::discover(const std::string& endpoint,
                                                const std::string& path, Millis timeout) {
    return read(endpoint, path, content_format::link_format, timeout);
}

std::optional<Response> CoreSimulator::write_attributes(const std::string& endpoint,
                                                        const std::string& path,
                                                        const std::string& query, Millis timeout) {
    Request req;
    req.method = Method::put;
    req.uri_path = path;
    req.uri_query = split_query(query);
    return request(endpoint, req, timeout);
}

std::optional<Response> CoreSimulator::read_composite(const std::string& endpoint,
                                                      std::uint16_t format, Bytes payload,
                                                      std::optional<std::uint16_t> accept,
                                                      const std::string& path, Millis timeout) {
    Request req;
    req.method = Method::fetch;
    req.uri_path = path;
    req.content_format = format;
    req.accept = accept;
    req.payload = std::move(payload);
    return request(endpoint, req, timeout);
}

std::optional<Response> CoreSimulator::write_composite(const std::string& endpoint,
                                                       std::uint16_t format, Bytes payload,
                                                       const std::string& path, Millis timeout) {
    Request req;
    req.method = Method::ipatch;
    req.uri_path = path;
    req.content_format = format;
    req.payload = std::move(payload);
    return request(endpoint, req, timeout);
}

std::optional<Response> CoreSimulator::bootstrap_finish(const std::string& endpoint,
                                                        Millis timeout) {
    Request req;
    req.method = Method::post;
    req.uri_path = "/bs";
    return request(endpoint, req, timeout);
}

std::optional<Observation> CoreSimulator::observe(const std::string& endpoint,
                                                  const std::string& path,
                                                  std::optional<std::uint16_t> accept,
                                                  Millis timeout) {
    Impl& d = *impl_;
    std::uint64_t id;
    {
        std::lock_guard lock(d.mu);
        id = d.next_observation++;
        auto& st = d.observations[id];
        st.handle.id = id;
        st.handle.endpoint = endpoint;
        st.handle.path = path;
    }
    Request req;
    req.method = Method::get;
    req.uri_path = path;
    req.accept = accept;
    req.observe = 0;
    auto p = std::make_shared<Impl::Pending>();
    p->observation = id;
    auto first = d.await(
        p, [&d, endpoint, req, p] { d.send_request(endpoint, req, p); }, timeout);
    std::lock_guard lock(d.mu);
    if (!first) {
        d.observations.erase(id);
        d.post([&d, key = p->key] { d.observation_by_token.erase(key); });
        return std::nullopt;
    }
    auto& st = d.observations[id];
    st.handle.first = std::move(*first);
    return st.handle;
}

std::optional<Response> CoreSimulator::wait_notification(const Observation& observation,
                                                         Millis timeout) {
    Impl& d = *impl_;
    std::unique_lock lock(d.mu);
    auto done = [&] {
        auto it = d.observations.find(observation.id);
        return it != d.observations.end() && !it->second.queue.empty();
    };
    if (!wait_for(lock, d.cv, timeout, d.closed, done)) return std::nullopt;
    auto& queue = d.observations[observation.id].queue;
    Response r = std::move(queue.front());
    queue.pop_front();
    return r;
}

std::vector<Response> CoreSimulator::notifications(const Observation& observation) const {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->observations.find(observation.id);
    if (it == impl_->observations.end()) return {};
    return it->second.all;
}

std::optional<Response> CoreSimulator::cancel_observe(const Observation& observation,
                                                      CancelMode mode, Millis timeout) {
    Impl& d = *impl_;
    if (mode == CancelMode::reset) {
        std::lock_guard lock(d.mu);
        if (auto it = d.observations.find(observation.id); it != d.observations.end()) {
            it->second.reset_armed = true;
        }
        return std::nullopt;
    }
    auto p = std::make_shared<Impl::Pending>();
    p->observation = observation.id;
    p->cancel = true;
    auto task = [&d, observation, p] {
        if (!d.ctx) return p->complete(std::nullopt);
        auto sit = d.sessions.find(observation.endpoint);
        if (sit == d.sessions.end()) return p->complete(std::nullopt);
        coap_session_t* session = sit->second;
        Bytes token = observation.token;
        p->key = TokenKey{session, token};
        // Prefer libcoap's own cancel: it knows the observation (lg_crcv) and stops tracking
        // it. It repeats the original request with Observe=1 and the same token.
        coap_binary_t bin{token.size(), token.data()};
        d.pending[p->key] = p;
        if (coap_cancel_observe(session, &bin, COAP_MESSAGE_CON)) return;
        d.pending.erase(p->key);
        // Fallback: build GET Observe=1 with the same token and path ourselves.
        Request req;
        req.method = Method::get;
        req.uri_path = observation.path;
        req.observe = 1;
        d.send_request(observation.endpoint, req, p, &token);
    };
    return d.await(p, task, timeout);
}

bool CoreSimulator::wait_reset_sent(const Observation& observation, std::size_t count,
                                    Millis timeout) {
    Impl& d = *impl_;
    std::unique_lock lock(d.mu);
    return wait_for(lock, d.cv, timeout, d.closed, [&] {
        auto it = d.observations.find(observation.id);
        return it != d.observations.end() && it->second.resets_sent >= count;
    });
}

std::vector<Observation> CoreSimulator::observations() const {
    std::lock_guard lock(impl_->mu);
    std::vector<Observation> out;
    for (const auto& [id, st] : impl_->observations)
        out.push_back(st.handle);
    return out;
}

}  // namespace lwgate::coresim
