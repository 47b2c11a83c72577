#include "redis/redis_connection.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <algorithm>

#include <spdlog/spdlog.h>
#include <asio/ip/address.hpp>
#include <asio/posix/stream_descriptor.hpp>

#include "redis/redis_blocking.hpp"  // copy_reply

namespace lwgate::redis {

// Waits for the socket hiredis owns, on hiredis's behalf: async_wait is one-shot, so each wait
// re-arms itself for as long as hiredis still wants the event.
struct RedisConnection::Watcher : std::enable_shared_from_this<Watcher> {
    Watcher(asio::io_context& io, redisAsyncContext* context)
        : sd(io, context->c.fd), ac(context) {}

    asio::posix::stream_descriptor sd;
    redisAsyncContext* ac;  // nullptr once hiredis cleaned up
    bool want[2] = {false, false};
    bool armed[2] = {false, false};

    void arm(int dir) {
        if (!ac || !want[dir] || armed[dir]) return;
        armed[dir] = true;
        const auto type = dir == 0 ? asio::posix::stream_descriptor::wait_read
                                   : asio::posix::stream_descriptor::wait_write;
        sd.async_wait(type, [self = shared_from_this(), dir](const std::error_code& ec) {
            self->armed[dir] = false;
            if (ec || !self->ac || !self->want[dir]) return;
            if (dir == 0) {
                redisAsyncHandleRead(self->ac);
            } else {
                redisAsyncHandleWrite(self->ac);
            }
            self->arm(dir);  // hiredis may have cleaned up meanwhile: arm() checks
        });
    }
    void cleanup() {
        ac = nullptr;
        want[0] = want[1] = false;
        std::error_code ignored;
        sd.cancel(ignored);
        sd.release();  // hiredis closes its own socket
    }

    static void add_read(void* p) { set(p, 0, true); }
    static void del_read(void* p) { set(p, 0, false); }
    static void add_write(void* p) { set(p, 1, true); }
    static void del_write(void* p) { set(p, 1, false); }
    static void cleanup_hook(void* p) { static_cast<Watcher*>(p)->cleanup(); }
    static void set(void* p, int dir, bool on) {
        auto* w = static_cast<Watcher*>(p);
        w->want[dir] = on;
        if (on) w->arm(dir);
    }
};

RedisConnection::RedisConnection(asio::io_context& io, RedisAddress address,
                                 ConnectionOptions options)
    : io_(io),
      address_(std::move(address)),
      options_(options),
      retry_timer_(io),
      connect_timer_(io),
      resolver_(io),
      backoff_(options.backoff_min) {}

RedisConnection::~RedisConnection() {
    stopping_ = true;
    cancel_resolve();
    retry_timer_.cancel();
    connect_timer_.cancel();
    free_context();  // in-flight callbacks run now, with shutting_down
    auto waiting = std::exchange(waiting_, {});
    for (auto& [argv, done] : waiting)
        done(RedisErrc::shutting_down, {});
}

void RedisConnection::start() {
    connect();
}

namespace {

bool is_ip_literal(const std::string& host) {
    std::error_code ec;
    asio::ip::make_address(host, ec);
    return !ec;
}

}  // namespace

void RedisConnection::connect() {
    if (stopping_ || ac_ || resolving_) return;
    if (!address_.is_unix() && !is_ip_literal(address_.host)) return resolve();
    if (!open(address_.host)) return schedule_reconnect();
    arm_connect_timer();
}

void RedisConnection::resolve() {
    resolving_ = std::make_shared<char>();
    // numeric_service: the port is a number, no services database lookup.
    resolver_.async_resolve(
        address_.host, std::to_string(address_.port),
        asio::ip::tcp::resolver::numeric_service | asio::ip::tcp::resolver::address_configured,
        [this, alive = std::weak_ptr<char>(resolving_)](
            const std::error_code& ec, const asio::ip::tcp::resolver::results_type& results) {
            if (alive.expired()) return;  // cancelled, timed out, or `this` is gone
            resolving_.reset();
            on_resolved(ec, results);
        });
    arm_connect_timer();  // bounds the resolution and the connect after it together
}

void RedisConnection::on_resolved(const std::error_code& ec,
                                  const asio::ip::tcp::resolver::results_type& results) {
    if (stopping_) return;
    if (ec || results.empty()) {
        spdlog::warn("redis {}: cannot resolve {}: {}", address_.describe(), address_.host,
                     ec ? ec.message() : "no address");
        connect_timer_.cancel();
        return schedule_reconnect();
    }
    // IPv4 first, as hiredis's own lookup did (AF_INET, then AF_INET6): a name that also has an
    // IPv6 address keeps reaching a Redis bound to 127.0.0.1 only.
    auto chosen = results.begin();
    for (auto it = results.begin(); it != results.end(); ++it) {
        if (it->endpoint().address().is_v4()) {
            chosen = it;
            break;
        }
    }
    // to_string(): an IPv6 address without brackets, as hiredis wants it.
    if (!open(chosen->endpoint().address().to_string())) {
        connect_timer_.cancel();
        return schedule_reconnect();
    }
    // connect_timer_ is still armed from resolve().
}

void RedisConnection::cancel_resolve() {
    resolving_.reset();
    resolver_.cancel();
}

bool RedisConnection::open(const std::string& host) {
    redisAsyncContext* ac = address_.is_unix() ? redisAsyncConnectUnix(address_.unix_path.c_str())
                                               : redisAsyncConnect(host.c_str(), address_.port);
    if (!ac || ac->err) {
        spdlog::debug("redis {}: connect failed: {}", address_.describe(),
                      ac ? ac->errstr : "out of memory");
        if (ac) redisAsyncFree(ac);
        return false;
    }
    attach(ac);
    return true;
}

void RedisConnection::arm_connect_timer() {
    connect_timer_.expires_after(options_.connect_timeout);
    connect_timer_.async_wait([this](const std::error_code& ec) {
        if (ec || connected_) return;
        if (resolving_) {
            // getaddrinfo itself cannot be interrupted: its late answer is ignored.
            spdlog::warn("redis {}: cannot resolve {}: timed out after {} ms", address_.describe(),
                         address_.host, options_.connect_timeout.count());
            cancel_resolve();
            return schedule_reconnect();
        }
        if (!ac_) return;
        spdlog::debug("redis {}: connect timed out", address_.describe());
        free_context();
        schedule_reconnect();
    });
}

void RedisConnection::attach(redisAsyncContext* ac) {
    ac_ = ac;
    ac->data = this;
    watcher_ = std::make_shared<Watcher>(io_, ac);
    ac->ev.data = watcher_.get();
    ac->ev.addRead = &Watcher::add_read;
    ac->ev.delRead = &Watcher::del_read;
    ac->ev.addWrite = &Watcher::add_write;
    ac->ev.delWrite = &Watcher::del_write;
    ac->ev.cleanup = &Watcher::cleanup_hook;
    // Setting the connect callback asks for the first write event, which reports the connect.
    redisAsyncSetDisconnectCallback(ac, &RedisConnection::disconnect_hook);
    redisAsyncSetConnectCallback(ac, &RedisConnection::connect_hook);
}

void RedisConnection::connect_hook(const redisAsyncContext* ac, int status) {
    auto* self = static_cast<RedisConnection*>(ac->data);
    if (status != REDIS_OK) {
        spdlog::debug("redis {}: connect failed: {}", self->address_.describe(), ac->errstr);
        self->ac_ = nullptr;  // hiredis frees the context after this callback
    }
    self->on_connected(status);
}

void RedisConnection::disconnect_hook(const redisAsyncContext* ac, int) {
    auto* self = static_cast<RedisConnection*>(ac->data);
    if (self->ac_ != ac) return;  // we freed it ourselves: free_context() handles the rest
    spdlog::warn("redis {}: connection lost: {}", self->address_.describe(),
                 ac->err ? ac->errstr : "closed");
    self->ac_ = nullptr;  // hiredis frees it after this callback
    self->on_disconnected();
}

void RedisConnection::on_connected(int status) {
    if (status != REDIS_OK) {
        connect_timer_.cancel();
        return schedule_reconnect();
    }
    if (address_.password.empty()) return on_ready();
    // The connect timer stays armed until AUTH is answered: a Redis that accepts the connection
    // but never answers is dropped like one that never accepts it.
    authenticate();
}

void RedisConnection::authenticate() {
    std::vector<std::string> auth{"AUTH"};
    if (!address_.username.empty()) auth.push_back(address_.username);
    auth.push_back(address_.password);
    send(std::move(auth), [this, ac = ac_](std::error_code ec, RedisReply r) {
        // Dropped meanwhile (timeout, Redis gone): the reconnection is already under way.
        if (ec || ac_ != ac) return;
        if (r.is_error()) {
            // Redis's answer ("WRONGPASS invalid username-password pair ...") never quotes
            // the password.
            spdlog::error("redis {}: AUTH refused: {}", address_.describe(), r.str);
            connect_timer_.cancel();
            free_context();  // hiredis defers the free to the end of this callback
            return schedule_reconnect();
        }
        on_ready();
    });
}

void RedisConnection::on_ready() {
    connect_timer_.cancel();
    connected_ = true;
    ++connects_;
    backoff_ = options_.backoff_min;
    spdlog::info("redis {}: connected{}", address_.describe(),
                 address_.password.empty() ? "" : " (authenticated)");
    if (address_.db != 0) {
        // First on the wire, so every command after it runs in the right database.
        send({"SELECT", std::to_string(address_.db)}, [this](std::error_code ec, RedisReply r) {
            if (!ec && r.is_error()) {
                spdlog::error("redis {}: SELECT failed: {}", address_.describe(), r.str);
            }
        });
    }
    auto waiting = std::exchange(waiting_, {});
    for (auto& [argv, done] : waiting)
        send(std::move(argv), std::move(done));
    if (on_connected_) on_connected_();
}

void RedisConnection::on_disconnected() {
    connected_ = false;
    schedule_reconnect();
}

void RedisConnection::schedule_reconnect() {
    connected_ = false;
    if (stopping_) return;
    retry_timer_.expires_after(backoff_);
    backoff_ = std::min(backoff_ * 2, options_.backoff_max);
    retry_timer_.async_wait([this](const std::error_code& ec) {
        if (!ec) connect();
    });
}

void RedisConnection::reconnect() {
    if (!ac_) return;  // already reconnecting
    free_context();
    schedule_reconnect();
}

void RedisConnection::free_context() {
    if (!ac_) return;
    auto* ac = std::exchange(ac_, nullptr);
    connected_ = false;
    redisAsyncFree(ac);  // callbacks in flight complete with a null reply
}

void RedisConnection::command(std::vector<std::string> argv, Callback done) {
    if (stopping_) return done(RedisErrc::shutting_down, {});
    if (queued() >= options_.max_queued) return done(RedisErrc::queue_full, {});
    if (!connected_) {
        waiting_.emplace_back(std::move(argv), std::move(done));
        return;
    }
    send(std::move(argv), std::move(done));
}

void RedisConnection::send(std::vector<std::string> argv, Callback done) {
    std::vector<const char*> args;
    std::vector<std::size_t> lengths;
    for (const auto& a : argv) {
        args.push_back(a.data());
        lengths.push_back(a.size());
    }
    auto* pending = new Pending{this, std::move(done)};
    ++in_flight_;
    if (redisAsyncCommandArgv(ac_, &RedisConnection::reply_hook, pending,
                              static_cast<int>(args.size()), args.data(),
                              lengths.data()) != REDIS_OK) {
        --in_flight_;
        std::unique_ptr<Pending> owned(pending);
        owned->done(RedisErrc::disconnected, {});
    }
}

void RedisConnection::reply_hook(redisAsyncContext*, void* reply, void* privdata) {
    std::unique_ptr<Pending> pending(static_cast<Pending*>(privdata));
    auto* self = pending->self;
    --self->in_flight_;
    if (!reply) {
        pending->done(self->stopping_ ? RedisErrc::shutting_down : RedisErrc::disconnected, {});
        return;
    }
    pending->done({}, copy_reply(static_cast<const redisReply*>(reply)));
}

}  // namespace lwgate::redis
