// UdpDevice: a minimal LwM2M client on CoAP/UDP (or DTLS-PSK) built on libcoap, used to test the
// core simulator from the device side. It runs its own libcoap context on its own thread (like
// CoreSimulator), sends uplink requests on one client session (so every request comes from one
// local port) and answers the core's requests from the same session with a set of resources.
//
// libcoap 4.3.1 dispatches requests that arrive on a *client* session to the context's
// resources exactly as on a server session, including Block1 reassembly, Block2 responses
// (coap_add_data_large_response) and Observe; this device relies on that.
//
// Header-only because the self-test target compiles only *_test.cpp files.
#pragma once

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <coap3/coap.h>

#include "lwgate/coresim/core_simulator.hpp"
#include "lwgate/coresim/types.hpp"

namespace lwgate::coresim::testing {

class UdpDevice {
  public:
    struct Resource {
        Bytes value;
        std::uint16_t content_format = content_format::text_plain;
        bool observable = false;
        bool confirmable_notifications = true;
        // Answer GET with an empty ACK first and the response later (RFC 7252 §5.2.2).
        bool separate = false;
        // Do not answer at all (libcoap then sends an empty ACK for a CON request).
        bool mute = false;
    };

    // A request the core sent to the device.
    struct Received {
        Method method = Method::get;
        std::string path;
        std::vector<std::string> query;
        std::optional<std::uint16_t> content_format;
        std::optional<std::uint16_t> accept;
        std::optional<std::uint32_t> observe;
        Bytes payload;
        Bytes token;
        bool confirmable = true;
    };

    struct Psk {
        std::string identity;
        Bytes key;
    };

    UdpDevice(std::uint16_t server_port, std::map<std::string, Resource> resources,
              std::optional<Psk> psk = std::nullopt)
        : resources_(std::move(resources)), psk_(std::move(psk)) {
        coap_startup_once();
        wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        std::promise<void> ready;
        auto ready_future = ready.get_future();
        thread_ = std::thread([this, server_port, ready = std::move(ready)]() mutable {
            try {
                setup(server_port);
            } catch (...) {
                if (ctx_) coap_free_context(ctx_);
                ctx_ = nullptr;
                ready.set_exception(std::current_exception());
                return;
            }
            ready.set_value();
            run();
        });
        try {
            ready_future.get();
        } catch (...) {
            thread_.join();
            ::close(wake_fd_);
            throw;
        }
    }

    ~UdpDevice() {
        stop_ = true;
        wake();
        thread_.join();
        ::close(wake_fd_);
    }

    UdpDevice(const UdpDevice&) = delete;
    UdpDevice& operator=(const UdpDevice&) = delete;

    // "127.0.0.1:PORT" of the device's socket, as the core sees it.
    std::string local_address() const { return local_address_; }

    // Sends an uplink request (to the core) and waits for the response.
    std::optional<Response> send(const Request& req, Millis timeout = Millis{5'000}) {
        auto p = std::make_shared<std::promise<std::optional<Response>>>();
        auto future = p->get_future();
        post([this, req, p] { send_now(req, p); });
        if (future.wait_for(timeout) != std::future_status::ready) {
            post([this, p] {
                for (auto it = pending_.begin(); it != pending_.end(); ++it) {
                    if (it->second == p) {
                        pending_.erase(it);
                        break;
                    }
                }
            });
            return std::nullopt;
        }
        return future.get();
    }

    // POST /rd?ep=EP&<query> with a link-format payload.
    std::optional<Response> register_(const std::string& endpoint, const std::string& query,
                                      const std::string& links) {
        Request req;
        req.method = Method::post;
        req.uri_path = "/rd";
        req.uri_query = split_query("ep=" + endpoint + (query.empty() ? "" : "&" + query));
        req.content_format = content_format::link_format;
        req.payload = to_bytes(links);
        return send(req);
    }

    // Changes a resource and notifies its observers (libcoap calls the GET handler again).
    void set_value(const std::string& path, Bytes value) {
        post([this, path, value = std::move(value)]() mutable {
            auto it = resources_.find(path);
            if (it == resources_.end()) return;
            it->second.value = std::move(value);
            if (auto r = coap_res_.find(path); r != coap_res_.end()) {
                coap_resource_notify_observers(r->second, nullptr);
            }
        });
    }

    std::vector<Received> received() const {
        std::lock_guard lock(mu_);
        return received_;
    }

    // The first received request (from the start) matching `match`.
    std::optional<Received> wait_received(const std::function<bool(const Received&)>& match,
                                          Millis timeout = Millis{5'000}) {
        std::unique_lock lock(mu_);
        std::optional<Received> found;
        cv_.wait_for(lock, timeout, [&] {
            for (const auto& r : received_) {
                if (match(r)) {
                    found = r;
                    return true;
                }
            }
            return false;
        });
        return found;
    }

    // RSTs the device got for its (confirmable) notifications.
    bool wait_resets(std::size_t count, Millis timeout = Millis{5'000}) {
        std::unique_lock lock(mu_);
        return cv_.wait_for(lock, timeout, [&] { return resets_ >= count; });
    }

    Bytes value(const std::string& path) {
        std::promise<Bytes> p;
        auto f = p.get_future();
        post([&] {
            auto it = resources_.find(path);
            p.set_value(it == resources_.end() ? Bytes{} : it->second.value);
        });
        return f.get();
    }

  private:
    static UdpDevice* self(coap_session_t* s) {
        return static_cast<UdpDevice*>(coap_get_app_data(coap_session_get_context(s)));
    }

    void wake() {
        const std::uint64_t one = 1;
        [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
    }

    void post(std::function<void()> task) {
        {
            std::lock_guard lock(task_mu_);
            tasks_.push_back(std::move(task));
        }
        wake();
    }

    void run_tasks() {
        std::deque<std::function<void()>> batch;
        {
            std::lock_guard lock(task_mu_);
            batch.swap(tasks_);
        }
        for (auto& t : batch)
            t();
    }

    void setup(std::uint16_t server_port) {
        ctx_ = coap_new_context(nullptr);
        if (!ctx_) throw std::runtime_error("UdpDevice: coap_new_context");
        coap_set_app_data(ctx_, this);
        coap_context_set_block_mode(ctx_, COAP_BLOCK_USE_LIBCOAP | COAP_BLOCK_SINGLE_BODY);
        coap_register_response_handler(ctx_, &UdpDevice::on_response);
        coap_register_nack_handler(ctx_, &UdpDevice::on_nack);

        for (auto& [path, res] : resources_) {
            const std::string p = path.size() > 1 && path[0] == '/' ? path.substr(1) : path;
            coap_resource_t* r = coap_resource_init(
                coap_new_str_const(reinterpret_cast<const std::uint8_t*>(p.data()), p.size()),
                COAP_RESOURCE_FLAGS_RELEASE_URI |
                    (res.confirmable_notifications ? COAP_RESOURCE_FLAGS_NOTIFY_CON
                                                   : COAP_RESOURCE_FLAGS_NOTIFY_NON));
            for (coap_request_t m :
                 {COAP_REQUEST_GET, COAP_REQUEST_PUT, COAP_REQUEST_POST, COAP_REQUEST_DELETE,
                  COAP_REQUEST_FETCH, COAP_REQUEST_IPATCH}) {
                coap_register_request_handler(r, m, &UdpDevice::on_request);
            }
            if (res.observable) coap_resource_set_get_observable(r, 1);
            coap_add_resource(ctx_, r);
            coap_res_[path] = r;
        }
        coap_resource_t* unknown = coap_resource_unknown_init2(&UdpDevice::on_request, 0);
        for (coap_request_t m : {COAP_REQUEST_GET, COAP_REQUEST_POST, COAP_REQUEST_DELETE,
                                 COAP_REQUEST_FETCH, COAP_REQUEST_IPATCH}) {
            coap_register_request_handler(unknown, m, &UdpDevice::on_request);
        }
        coap_add_resource(ctx_, unknown);

        coap_address_t server;
        coap_address_init(&server);
        server.addr.sin.sin_family = AF_INET;
        server.addr.sin.sin_port = htons(server_port);
        server.addr.sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        server.size = sizeof(server.addr.sin);
        if (psk_) {
            coap_dtls_cpsk_t cpsk{};
            cpsk.version = COAP_DTLS_CPSK_SETUP_VERSION;
            cpsk.psk_info.identity = {psk_->identity.size(),
                                      reinterpret_cast<const std::uint8_t*>(psk_->identity.data())};
            cpsk.psk_info.key = {psk_->key.size(), psk_->key.data()};
            session_ = coap_new_client_session_psk2(ctx_, nullptr, &server, COAP_PROTO_DTLS, &cpsk);
        } else {
            session_ = coap_new_client_session(ctx_, nullptr, &server, COAP_PROTO_UDP);
        }
        if (!session_) throw std::runtime_error("UdpDevice: cannot create the client session");
        unsigned char buf[64];
        const std::size_t n =
            coap_print_addr(coap_session_get_addr_local(session_), buf, sizeof buf);
        local_address_.assign(reinterpret_cast<const char*>(buf), n);
    }

    void run() {
        const int coap_fd = coap_context_get_coap_fd(ctx_);
        while (!stop_) {
            run_tasks();
            coap_io_process(ctx_, COAP_IO_NO_WAIT);
            run_tasks();
            coap_tick_t now;
            coap_ticks(&now);
            const unsigned next = coap_io_prepare_epoll(ctx_, now);
            pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {coap_fd, POLLIN, 0}};
            if (::poll(fds, 2, next == 0 ? 500 : static_cast<int>(std::min(next, 500u))) > 0 &&
                (fds[0].revents & POLLIN)) {
                std::uint64_t v;
                [[maybe_unused]] auto n = ::read(wake_fd_, &v, sizeof v);
            }
        }
        for (auto& [token, p] : pending_)
            p->set_value(std::nullopt);
        pending_.clear();
        coap_session_release(session_);
        coap_free_context(ctx_);
        ctx_ = nullptr;
        run_tasks();  // tasks only touch our own state once ctx_ is gone
    }

    void send_now(const Request& req, std::shared_ptr<std::promise<std::optional<Response>>> p) {
        if (!ctx_) return p->set_value(std::nullopt);
        coap_pdu_t* pdu =
            coap_pdu_init(req.confirmable ? COAP_MESSAGE_CON : COAP_MESSAGE_NON,
                          static_cast<coap_pdu_code_t>(req.method), coap_new_message_id(session_),
                          coap_session_max_pdu_size(session_));
        std::uint8_t tok[8];
        std::size_t toklen = 0;
        coap_session_new_token(session_, &toklen, tok);
        coap_add_token(pdu, toklen, tok);
        coap_optlist_t* chain = nullptr;
        std::uint8_t num[4];
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
        if (req.content_format) {
            const unsigned n = coap_encode_var_safe(num, sizeof num, *req.content_format);
            coap_insert_optlist(&chain, coap_new_optlist(COAP_OPTION_CONTENT_FORMAT, n, num));
        }
        if (chain) {
            coap_add_optlist_pdu(pdu, &chain);
            coap_delete_optlist(chain);
        }
        if (!req.payload.empty()) {
            auto* body = new Bytes(req.payload);
            if (!coap_add_data_large_request(
                    session_, pdu, body->size(), body->data(),
                    [](coap_session_t*, void* b) { delete static_cast<Bytes*>(b); }, body)) {
                coap_delete_pdu(pdu);
                return p->set_value(std::nullopt);
            }
        }
        pending_[Bytes(tok, tok + toklen)] = p;
        if (coap_send(session_, pdu) == COAP_INVALID_MID) {
            pending_.erase(Bytes(tok, tok + toklen));
            p->set_value(std::nullopt);
        }
    }

    static coap_response_t on_response(coap_session_t* s, const coap_pdu_t*,
                                       const coap_pdu_t* received, const coap_mid_t) {
        UdpDevice* d = self(s);
        const coap_bin_const_t t = coap_pdu_get_token(received);
        auto it = d->pending_.find(Bytes(t.s, t.s + t.length));
        if (it == d->pending_.end()) return COAP_RESPONSE_OK;
        Response r;
        r.code = Code::from_raw(static_cast<std::uint8_t>(coap_pdu_get_code(received)));
        coap_opt_iterator_t oi;
        coap_option_iterator_init(received, &oi, COAP_OPT_ALL);
        while (const coap_opt_t* opt = coap_option_next(&oi)) {
            const std::uint8_t* v = coap_opt_value(opt);
            r.options.push_back(Option{oi.number, Bytes(v, v + coap_opt_length(opt))});
        }
        std::size_t len = 0, off = 0, total = 0;
        const std::uint8_t* data = nullptr;
        if (coap_get_data_large(received, &len, &data, &off, &total))
            r.payload.assign(data, data + len);
        r.token.assign(t.s, t.s + t.length);
        it->second->set_value(std::move(r));
        d->pending_.erase(it);
        return COAP_RESPONSE_OK;
    }

    static void on_nack(coap_session_t* s, const coap_pdu_t*, const coap_nack_reason_t reason,
                        const coap_mid_t) {
        UdpDevice* d = self(s);
        if (reason != COAP_NACK_RST) return;
        {
            std::lock_guard lock(d->mu_);
            ++d->resets_;
        }
        d->cv_.notify_all();
    }

    static void on_request(coap_resource_t* resource, coap_session_t* session,
                           const coap_pdu_t* request, const coap_string_t* query,
                           coap_pdu_t* response) {
        self(session)->handle(resource, session, request, query, response);
    }

    void handle(coap_resource_t* resource, coap_session_t* session, const coap_pdu_t* request,
                const coap_string_t* query, coap_pdu_t* response) {
        Received rec;
        rec.method = static_cast<Method>(coap_pdu_get_code(request));
        rec.confirmable = coap_pdu_get_type(request) == COAP_MESSAGE_CON;
        coap_opt_iterator_t oi;
        coap_option_iterator_init(request, &oi, COAP_OPT_ALL);
        while (const coap_opt_t* opt = coap_option_next(&oi)) {
            const std::string v(reinterpret_cast<const char*>(coap_opt_value(opt)),
                                coap_opt_length(opt));
            const std::uint32_t u =
                coap_decode_var_bytes(coap_opt_value(opt), coap_opt_length(opt));
            switch (oi.number) {
                case COAP_OPTION_URI_PATH:
                    rec.path += "/" + v;
                    break;
                case COAP_OPTION_URI_QUERY:
                    rec.query.push_back(v);
                    break;
                case COAP_OPTION_CONTENT_FORMAT:
                    rec.content_format = static_cast<std::uint16_t>(u);
                    break;
                case COAP_OPTION_ACCEPT:
                    rec.accept = static_cast<std::uint16_t>(u);
                    break;
                case COAP_OPTION_OBSERVE:
                    rec.observe = u;
                    break;
                default:
                    break;
            }
        }
        if (rec.path.empty()) rec.path = "/";
        std::size_t len = 0, off = 0, total = 0;
        const std::uint8_t* data = nullptr;
        if (coap_get_data_large(request, &len, &data, &off, &total))
            rec.payload.assign(data, data + len);
        const coap_bin_const_t t = coap_pdu_get_token(request);
        rec.token.assign(t.s, t.s + t.length);

        // Notifications re-enter the GET handler with (a copy of) the original request, same
        // token and Observe=0; a separate response re-enters it with the request too
        // (coap_find_async() then finds it). Record only real requests.
        coap_async_t* async = coap_find_async(session, t);
        auto it = resources_.find(rec.path);
        const bool known = it != resources_.end() && coap_res_.count(rec.path);
        bool repeat = async != nullptr;
        if (rec.method == Method::get && rec.observe == 0u) {
            repeat = repeat || !observe_tokens_.insert(rec.token).second;
        }
        if (!repeat) {
            {
                std::lock_guard lock(mu_);
                received_.push_back(rec);
            }
            cv_.notify_all();
        }

        if (!known) {
            coap_pdu_set_code(response, COAP_RESPONSE_CODE_NOT_FOUND);
            return;
        }
        Resource& res = it->second;
        if (res.mute) return;
        if (res.separate && rec.method == Method::get) {
            if (!async) {
                // libcoap ACKs now and calls this handler again after 50 ms.
                coap_register_async(session, request, COAP_TICKS_PER_SECOND / 20);
                return;
            }
            // libcoap frees `async` itself when this handler returns.
        }
        switch (rec.method) {
            case Method::get: {
                coap_pdu_set_code(response, COAP_RESPONSE_CODE_CONTENT);
                if (rec.accept == content_format::link_format) {
                    const std::string links = "<" + rec.path + ">;obs";
                    coap_add_data_large_response(
                        resource, session, request, response, query, content_format::link_format,
                        -1, 0, links.size(), reinterpret_cast<const std::uint8_t*>(links.data()),
                        nullptr, nullptr);
                    return;
                }
                auto* body = new Bytes(res.value);
                coap_add_data_large_response(
                    resource, session, request, response, query, res.content_format, -1, 0,
                    body->size(), body->data(),
                    [](coap_session_t*, void* b) { delete static_cast<Bytes*>(b); }, body);
                return;
            }
            case Method::put:
                if (!rec.payload.empty()) {
                    res.value = rec.payload;
                    if (rec.content_format) res.content_format = *rec.content_format;
                }
                coap_pdu_set_code(response, COAP_RESPONSE_CODE_CHANGED);
                return;
            case Method::post:
                coap_pdu_set_code(response, rec.content_format && rec.content_format != 0
                                                ? COAP_RESPONSE_CODE_CREATED
                                                : COAP_RESPONSE_CODE_CHANGED);
                return;
            case Method::delete_:
                coap_pdu_set_code(response, COAP_RESPONSE_CODE_DELETED);
                return;
            case Method::fetch: {
                coap_pdu_set_code(response, COAP_RESPONSE_CODE_CONTENT);
                static const char kBody[] = "[{\"n\":\"/3/0/0\",\"vs\":\"lwgate\"}]";
                coap_add_data_large_response(resource, session, request, response, query,
                                             content_format::senml_json, -1, 0, sizeof kBody - 1,
                                             reinterpret_cast<const std::uint8_t*>(kBody), nullptr,
                                             nullptr);
                return;
            }
            case Method::ipatch:
            case Method::patch:
                coap_pdu_set_code(response, COAP_RESPONSE_CODE_CHANGED);
                return;
        }
    }

    std::map<std::string, Resource> resources_;  // device thread only (after construction)
    std::optional<Psk> psk_;
    std::map<std::string, coap_resource_t*> coap_res_;
    std::set<Bytes> observe_tokens_;
    coap_context_t* ctx_ = nullptr;
    coap_session_t* session_ = nullptr;
    std::string local_address_;
    std::map<Bytes, std::shared_ptr<std::promise<std::optional<Response>>>> pending_;

    std::thread thread_;
    int wake_fd_ = -1;
    std::atomic<bool> stop_{false};
    std::mutex task_mu_;
    std::deque<std::function<void()>> tasks_;

    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::vector<Received> received_;
    std::size_t resets_ = 0;
};

}  // namespace lwgate::coresim::testing
