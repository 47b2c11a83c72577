// The public API: every call is posted to the loop thread; getters and waits read the records
// under the mutex.
#include "lwgate/devsim/device_simulator.hpp"

#include <atomic>
#include <cstdio>
#include <random>
#include <stdexcept>

#include "device_impl.hpp"
#include "lwgate/coap/option.hpp"
#include "lwgate/device/enum_name.hpp"
#include "lwgate/devsim/coap_util.hpp"

namespace lwgate::devsim {

namespace code = coap::code;
namespace option = coap::option;

namespace {

constexpr Millis kLoopGrace{5'000};  // beyond a deadline the loop itself enforces

// Completes its future exactly once; with connection_closed if it is dropped unset (the loop
// never ran the task because the simulator was being destroyed).
struct ResultPromise {
    std::promise<Result> promise;
    std::atomic<bool> done{false};
    void set(Result r) {
        if (!done.exchange(true)) promise.set_value(std::move(r));
    }
    ~ResultPromise() { set(Result{Status::connection_closed, {}, "simulator destroyed"}); }
};

Result wait_result(std::future<Result>& f, Millis timeout) {
    if (f.wait_for(timeout + kLoopGrace) != std::future_status::ready) {
        return Result{Status::timeout, {}, "the simulator loop did not answer"};
    }
    return f.get();
}

Path resource_path(std::string_view text) {
    auto p = Path::parse(text);
    if (!p || !p->is_resource()) {
        throw std::invalid_argument("not a resource path (/O/I/R): " + std::string(text));
    }
    return *p;
}

Path any_path(std::string_view text) {
    auto p = Path::parse(text);
    if (!p) throw std::invalid_argument("not an LwM2M path: " + std::string(text));
    return *p;
}

}  // namespace

// ---- enums and small types ----------------------------------------------------------------

const char* to_string(Status status) {
    return device::enum_name<Status::bad_state>(
        status, {"ok", "timeout", "not_connected", "connection_closed", "connect_failed",
                 "tls_failed", "bad_state"});
}

const char* to_string(ConnectionState state) {
    return device::enum_name<ConnectionState::closed>(
        state, {"idle", "connecting", "connected", "closed"});
}

const char* to_string(CloseReason reason) {
    return device::enum_name<CloseReason::shutdown>(
        reason, {"none", "local_disconnect", "local_reset", "peer_closed", "peer_reset",
                 "abort_received", "abort_sent", "release_received", "connect_failed",
                 "connect_timeout", "tls_failed", "shutdown"});
}

const char* to_string(Event::Kind kind) {
    return device::enum_name<Event::Kind::sent>(
        kind, {"connected", "closed", "csm", "register", "update", "deregister", "request",
               "notification", "ping", "release", "abort", "send"});
}

std::string Result::location() const {
    return ok() ? location_path_string(response) : "";
}

std::optional<std::uint32_t> ReceivedRequest::observe() const {
    return message.uint_option(option::observe);
}
std::optional<std::uint32_t> ReceivedRequest::accept() const {
    return message.uint_option(option::accept);
}
std::optional<std::uint32_t> ReceivedRequest::content_format() const {
    return message.uint_option(option::content_format);
}

// ---- Impl ----------------------------------------------------------------------------------

DeviceSimulator::Impl::Impl(DeviceOptions options, EventLoop& l)
    : opts(std::move(options)),
      loop(l),
      model(opts.model ? *opts.model : ObjectModel::default_device(opts.endpoint, opts.lifetime)),
      pending(opts.token_seed != 0 ? opts.token_seed : std::random_device{}() | 1u) {}

void DeviceSimulator::Impl::emit(Event::Kind kind, std::string text) {
    if (!opts.on_event) return;
    try {
        opts.on_event(Event{kind, std::move(text)});
    } catch (const std::exception& e) {
        std::fprintf(stderr, "devsim %s: on_event threw: %s\n", opts.endpoint.c_str(), e.what());
    } catch (...) {
        std::fprintf(stderr, "devsim %s: on_event threw\n", opts.endpoint.c_str());
    }
}

// ---- plumbing -------------------------------------------------------------------------------

template <class R, class F>
R DeviceSimulator::call(F&& fn) const {
    if (loop_->in_loop_thread()) {
        throw std::logic_error("DeviceSimulator: blocking call on the simulator's loop thread");
    }
    auto promise = std::make_shared<std::promise<R>>();
    auto future = promise->get_future();
    std::weak_ptr<Impl> weak = impl_;
    loop_->post([weak, promise, fn = std::forward<F>(fn)]() mutable {
        auto self = weak.lock();
        if (!self || self->shut_down) return;  // the promise breaks: future_error below
        self->enter();
        try {
            if constexpr (std::is_void_v<R>) {
                fn(*self);
                promise->set_value();
            } else {
                promise->set_value(fn(*self));
            }
        } catch (...) {
            promise->set_exception(std::current_exception());
        }
    });
    if (future.wait_for(impl_->opts.default_timeout + kLoopGrace) != std::future_status::ready) {
        throw std::runtime_error("DeviceSimulator: the simulator loop did not answer");
    }
    return future.get();
}

template <class F>
std::future<Result> DeviceSimulator::start(Millis timeout, F&& fn) {
    auto promise = std::make_shared<ResultPromise>();
    auto future = promise->promise.get_future();
    const auto deadline = SteadyClock::now() + timeout;
    std::weak_ptr<Impl> weak = impl_;
    loop_->post([weak, promise, deadline, fn = std::forward<F>(fn)]() mutable {
        auto self = weak.lock();
        if (!self || self->shut_down) return;  // ~ResultPromise completes the future
        self->enter();
        fn(*self, deadline, [promise](Result r) { promise->set(std::move(r)); });
    });
    return future;
}

DeviceSimulator::DeviceSimulator(DeviceOptions options) {
    loop_ = options.loop ? options.loop : std::make_shared<EventLoop>("devsim");
    options.loop.reset();  // the Impl must not own the loop (see ~DeviceSimulator)
    impl_ = std::make_shared<Impl>(std::move(options), *loop_);
}

DeviceSimulator::~DeviceSimulator() {
    Impl* impl = impl_.get();
    if (loop_->in_loop_thread()) {
        impl->enter();
        impl->shutdown();
    } else {
        std::promise<void> done;
        auto future = done.get_future();
        loop_->post([impl, &done] {
            impl->enter();
            impl->shutdown();
            done.set_value();
        });
        future.wait();
    }
    impl_.reset();
    loop_.reset();  // joins the loop thread if it was ours
}

const DeviceOptions& DeviceSimulator::options() const {
    return impl_->opts;
}
const std::string& DeviceSimulator::endpoint() const {
    return impl_->opts.endpoint;
}

// ---- connection ---------------------------------------------------------------------------

Result DeviceSimulator::connect() {
    return connect(impl_->opts.connect_timeout);
}

Result DeviceSimulator::connect(Millis timeout) {
    auto f = start(timeout, [](Impl& s, auto deadline, ResultCallback done) {
        s.start_connect(deadline, std::move(done));
    });
    return wait_result(f, timeout);
}

std::future<Result> DeviceSimulator::connect_async() {
    return start(impl_->opts.connect_timeout, [](Impl& s, auto deadline, ResultCallback done) {
        s.start_connect(deadline, std::move(done));
    });
}

void DeviceSimulator::disconnect() {
    auto f = start(impl_->opts.default_timeout, [](Impl& s, auto, ResultCallback done) {
        if (!s.conn) {
            done(Result{Status::ok, {}, {}});
            return;
        }
        s.conn->on_fin.push_back(std::move(done));
        s.close_connection(*s.conn, CloseReason::local_disconnect, Impl::CloseMode::graceful);
    });
    wait_result(f, impl_->opts.default_timeout);
}

void DeviceSimulator::drop() {
    call<void>([](Impl& s) {
        if (s.conn) s.close_connection(*s.conn, CloseReason::local_reset, Impl::CloseMode::reset);
    });
}

void DeviceSimulator::set_server_port(std::uint16_t port) {
    call<void>([port](Impl& s) { s.opts.port = port; });
}

void DeviceSimulator::go_silent() {
    call<void>([](Impl& s) { s.set_silent(true); });
}

void DeviceSimulator::resume() {
    call<void>([](Impl& s) { s.set_silent(false); });
}

Result DeviceSimulator::reconnect() {
    return reconnect(impl_->opts.connect_timeout);
}

Result DeviceSimulator::reconnect(Millis timeout) {
    auto f = start(timeout, [](Impl& s, auto deadline, ResultCallback done) {
        if (s.conn) {
            s.close_connection(*s.conn, CloseReason::local_disconnect, Impl::CloseMode::graceful);
        }
        if (!s.opts.register_on_connect) {
            s.start_connect(deadline, std::move(done));
            return;
        }
        s.start_connect(deadline, [&s, deadline, done = std::move(done)](Result r) mutable {
            if (!r.ok()) {
                done(std::move(r));
                return;
            }
            s.do_register(deadline, std::move(done));
        });
    });
    return wait_result(f, timeout);
}

void DeviceSimulator::sleep() {
    disconnect();
}

Result DeviceSimulator::wake() {
    return wake(impl_->opts.default_timeout);
}

Result DeviceSimulator::wake(Millis timeout) {
    auto f = start(timeout, [](Impl& s, auto deadline, ResultCallback done) {
        s.start_connect(deadline, [&s, deadline, done = std::move(done)](Result r) mutable {
            if (!r.ok()) {
                done(std::move(r));
                return;
            }
            if (s.opts.register_on_connect) {
                s.do_register(deadline, std::move(done));
            } else {
                s.do_update({}, deadline, std::move(done));
            }
        });
    });
    return wait_result(f, timeout);
}

ConnectionState DeviceSimulator::state() const {
    std::lock_guard lock(impl_->mu);
    return impl_->shared_state;
}

bool DeviceSimulator::is_silent() const {
    std::lock_guard lock(impl_->mu);
    return impl_->shared_silent;
}

std::optional<CloseInfo> DeviceSimulator::last_close() const {
    std::lock_guard lock(impl_->mu);
    return impl_->shared_last_close;
}

std::optional<CloseInfo> DeviceSimulator::wait_closed(Millis timeout) const {
    std::unique_lock lock(impl_->mu);
    const bool closed = impl_->cv.wait_for(lock, timeout, [&] {
        return impl_->shared_state == ConnectionState::closed ||
               impl_->shared_state == ConnectionState::idle;
    });
    if (!closed || impl_->shared_state == ConnectionState::idle) return std::nullopt;
    return impl_->shared_last_close;
}

bool DeviceSimulator::wait_for_state(ConnectionState state, Millis timeout) const {
    std::unique_lock lock(impl_->mu);
    return impl_->cv.wait_for(lock, timeout, [&] { return impl_->shared_state == state; });
}

std::uint16_t DeviceSimulator::local_port() const {
    std::lock_guard lock(impl_->mu);
    return impl_->shared_state == ConnectionState::connected ? impl_->shared_local_port : 0;
}

std::optional<coap::PeerCapabilities> DeviceSimulator::gateway_csm() const {
    std::lock_guard lock(impl_->mu);
    return impl_->shared_gateway_csm;
}

std::optional<coap::PeerCapabilities> DeviceSimulator::wait_for_gateway_csm(Millis timeout) const {
    std::unique_lock lock(impl_->mu);
    impl_->cv.wait_for(lock, timeout, [&] { return impl_->shared_gateway_csm.has_value(); });
    return impl_->shared_gateway_csm;
}

// ---- LwM2M flows ---------------------------------------------------------------------------

Result DeviceSimulator::register_device() {
    return register_device(impl_->opts.default_timeout);
}

Result DeviceSimulator::register_device(Millis timeout) {
    auto f = start(timeout, [](Impl& s, auto deadline, ResultCallback done) {
        s.do_register(deadline, std::move(done));
    });
    return wait_result(f, timeout);
}

std::future<Result> DeviceSimulator::register_device_async() {
    return start(impl_->opts.default_timeout, [](Impl& s, auto deadline, ResultCallback done) {
        s.do_register(deadline, std::move(done));
    });
}

Result DeviceSimulator::update(const UpdateParams& params) {
    return update(params, impl_->opts.default_timeout);
}

Result DeviceSimulator::update(const UpdateParams& params, Millis timeout) {
    auto f = start(timeout, [params](Impl& s, auto deadline, ResultCallback done) {
        s.do_update(params, deadline, std::move(done));
    });
    return wait_result(f, timeout);
}

std::future<Result> DeviceSimulator::update_async(const UpdateParams& params) {
    return start(impl_->opts.default_timeout,
                 [params](Impl& s, auto deadline, ResultCallback done) {
                     s.do_update(params, deadline, std::move(done));
                 });
}

Result DeviceSimulator::deregister() {
    return deregister(impl_->opts.default_timeout);
}

Result DeviceSimulator::deregister(Millis timeout) {
    auto f = deregister_async_for(timeout);
    return wait_result(f, timeout);
}

std::future<Result> DeviceSimulator::deregister_async() {
    return deregister_async_for(impl_->opts.default_timeout);
}

std::future<Result> DeviceSimulator::deregister_async_for(Millis timeout) {
    return start(timeout, [](Impl& s, auto deadline, ResultCallback done) {
        s.do_deregister(deadline, std::move(done));
    });
}

namespace {
coap::Message send_message_for(coap::Bytes payload, std::uint16_t content_format) {
    coap::Message m(code::post);
    m.add_option(option::uri_path, "dp");
    m.add_uint_option(option::content_format, content_format);
    m.set_payload(std::move(payload));
    return m;
}
}  // namespace

Result DeviceSimulator::send(coap::Bytes payload, std::uint16_t content_format) {
    return send(std::move(payload), content_format, impl_->opts.default_timeout);
}

Result DeviceSimulator::send(coap::Bytes payload, std::uint16_t content_format, Millis timeout) {
    return request(send_message_for(std::move(payload), content_format), timeout);
}

std::future<Result> DeviceSimulator::send_async(coap::Bytes payload, std::uint16_t content_format) {
    return request_async(send_message_for(std::move(payload), content_format),
                         impl_->opts.default_timeout);
}

Result DeviceSimulator::bootstrap_request(Millis timeout) {
    coap::Message m(code::post);
    m.add_option(option::uri_path, "bs");
    m.add_option(option::uri_query, "ep=" + impl_->opts.endpoint);
    return request(std::move(m), timeout);
}

Result DeviceSimulator::request(coap::Message message) {
    return request(std::move(message), impl_->opts.default_timeout);
}

Result DeviceSimulator::request(coap::Message message, Millis timeout) {
    auto f = request_async(std::move(message), timeout);
    return wait_result(f, timeout);
}

std::future<Result> DeviceSimulator::request_async(coap::Message message, Millis timeout) {
    return start(timeout, [message = std::move(message)](Impl& s, auto deadline,
                                                         ResultCallback done) mutable {
        const bool is_send = uri_path_string(message) == "/dp";
        s.start_request(
            std::move(message), deadline, [&s, is_send, done = std::move(done)](Result r) {
                if (is_send && r.ok()) {
                    s.emit(Event::Kind::sent, "send code=" + coap::code_to_string(r.code()));
                }
                done(std::move(r));
            });
    });
}

Result DeviceSimulator::ping(Millis timeout) {
    auto f = start(timeout, [](Impl& s, auto deadline, ResultCallback done) {
        s.start_ping(deadline, std::move(done));
    });
    return wait_result(f, timeout);
}

std::optional<std::string> DeviceSimulator::registration_location() const {
    std::lock_guard lock(impl_->mu);
    return impl_->shared_location;
}

// ---- raw -----------------------------------------------------------------------------------

bool DeviceSimulator::send_message(const coap::Message& message) {
    return call<bool>([message](Impl& s) {
        auto* c = s.open_connection();
        return c && s.send_on(*c, message);
    });
}

bool DeviceSimulator::send_raw(coap::Bytes bytes) {
    return call<bool>([bytes = std::move(bytes)](Impl& s) {
        auto* c = s.open_connection();
        return c && s.send_bytes_on(*c, bytes);
    });
}

// ---- data ----------------------------------------------------------------------------------

std::size_t DeviceSimulator::set_resource(std::string_view path, coap::Bytes value,
                                          std::uint16_t format) {
    const Path p = resource_path(path);
    return call<std::size_t>([p, value = std::move(value), format](Impl& s) mutable {
        s.model.set(p, std::move(value), format);
        return s.notify_observers(p);
    });
}

std::size_t DeviceSimulator::set_resource(std::string_view path, std::string_view text) {
    return set_resource(path, coap::Bytes(text.begin(), text.end()), content_format::text_plain);
}

std::size_t DeviceSimulator::notify(std::string_view path) {
    const Path p = any_path(path);
    return call<std::size_t>([p](Impl& s) { return s.notify_observers(p); });
}

std::optional<Resource> DeviceSimulator::resource(std::string_view path) const {
    const Path p = resource_path(path);
    return call<std::optional<Resource>>([p](Impl& s) -> std::optional<Resource> {
        const Resource* r = s.model.find(p);
        if (!r) return std::nullopt;
        return *r;
    });
}

void DeviceSimulator::modify_model(std::function<void(ObjectModel&)> fn) {
    call<void>([fn = std::move(fn)](Impl& s) { fn(s.model); });
}

ObjectModel DeviceSimulator::model() const {
    return call<ObjectModel>([](Impl& s) { return s.model; });
}

std::vector<Observation> DeviceSimulator::observations() const {
    return call<std::vector<Observation>>([](Impl& s) {
        std::vector<Observation> out;
        for (const auto& o : s.observations) {
            out.push_back(Observation{o.token, o.path.to_string(), o.format, o.seq});
        }
        return out;
    });
}

void DeviceSimulator::set_request_hook(RequestHook hook) {
    std::lock_guard lock(impl_->mu);
    impl_->hook = std::move(hook);
}

// ---- records -------------------------------------------------------------------------------

std::vector<ReceivedRequest> DeviceSimulator::requests() const {
    std::lock_guard lock(impl_->mu);
    return {impl_->records.begin(), impl_->records.end()};
}

std::size_t DeviceSimulator::request_count() const {
    std::lock_guard lock(impl_->mu);
    return impl_->next_record_index;
}

std::optional<ReceivedRequest> DeviceSimulator::wait_for_request(
    const std::function<bool(const ReceivedRequest&)>& match, Millis timeout,
    std::size_t from_index) const {
    std::unique_lock lock(impl_->mu);
    std::optional<ReceivedRequest> found;
    impl_->cv.wait_for(lock, timeout, [&] {
        for (const auto& r : impl_->records) {
            if (r.index < from_index) continue;
            if (match(r)) {
                found = r;
                return true;
            }
            from_index = r.index + 1;  // no need to look at it again
        }
        return false;
    });
    return found;
}

std::vector<ReceivedSignal> DeviceSimulator::signals() const {
    std::lock_guard lock(impl_->mu);
    return {impl_->signal_records.begin(), impl_->signal_records.end()};
}

std::vector<coap::Release> DeviceSimulator::releases() const {
    std::lock_guard lock(impl_->mu);
    std::vector<coap::Release> out;
    for (const auto& s : impl_->signal_records) {
        if (auto* r = std::get_if<coap::Release>(&s.signal)) out.push_back(*r);
    }
    return out;
}

std::vector<coap::Abort> DeviceSimulator::aborts() const {
    std::lock_guard lock(impl_->mu);
    std::vector<coap::Abort> out;
    for (const auto& s : impl_->signal_records) {
        if (auto* a = std::get_if<coap::Abort>(&s.signal)) out.push_back(*a);
    }
    return out;
}

std::vector<SentNotification> DeviceSimulator::notifications() const {
    std::lock_guard lock(impl_->mu);
    return {impl_->notification_records.begin(), impl_->notification_records.end()};
}

std::vector<Execution> DeviceSimulator::executions() const {
    std::lock_guard lock(impl_->mu);
    return {impl_->execution_records.begin(), impl_->execution_records.end()};
}

Stats DeviceSimulator::stats() const {
    std::lock_guard lock(impl_->mu);
    return impl_->stats;
}

bool DeviceSimulator::wait_for_stats(const std::function<bool(const Stats&)>& pred,
                                     Millis timeout) const {
    std::unique_lock lock(impl_->mu);
    return impl_->cv.wait_for(lock, timeout, [&] { return pred(impl_->stats); });
}

std::function<bool(const ReceivedRequest&)> DeviceSimulator::path_is(std::string path) {
    return [path = std::move(path)](const ReceivedRequest& r) { return r.path == path; };
}

std::function<bool(const ReceivedRequest&)> DeviceSimulator::code_and_path(std::uint8_t c,
                                                                           std::string path) {
    return [c, path = std::move(path)](const ReceivedRequest& r) {
        return r.code() == c && r.path == path;
    };
}

}  // namespace lwgate::devsim
