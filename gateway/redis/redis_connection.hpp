// One asynchronous connection to Redis: hiredis's async context driven by an Asio io_context
// through hiredis's event hooks (a stream_descriptor that waits on the socket hiredis owns).
//
// Not thread-safe: every call, and every callback, runs on the io_context's thread.
//
// With a password in the address, AUTH is the first command on every connection, and the
// connection counts as up only once Redis accepted it: nothing else is sent before (a refused
// AUTH must not leave the commands to run as Redis's default user). A refused AUTH is logged
// and the connection dropped and tried again with the backoff.
//
// Commands given while the connection is down wait in a bounded queue and are sent, in order,
// once it is back; commands in flight when it drops complete with RedisErrc::disconnected
// (whether Redis executed them is unknown: callers resend idempotent writes). A dropped or failed
// connection is tried again with exponential backoff.
//
// A host name (not an IP literal) is resolved with Asio's resolver, whose blocking getaddrinfo
// runs on a thread of Asio's own, so a slow DNS server never stalls the io_context's other work
// (a shard's devices). The connect timeout bounds the whole attempt, resolution included, and
// every reconnect resolves again: a Redis moved by DNS failover is found at its new address.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include "redis/redis_reply.hpp"
#include "redis/redis_uri.hpp"

struct redisAsyncContext;

namespace lwgate::redis {

struct ConnectionOptions {
    std::size_t max_queued = 100000;  // commands waiting plus in flight
    std::chrono::milliseconds backoff_min{100};
    std::chrono::milliseconds backoff_max{5000};
    std::chrono::milliseconds connect_timeout{2000};
};

class RedisConnection {
  public:
    // ec set: the command failed (the reply is then empty). A Redis error reply is a success
    // here, with reply.is_error(): a MULTI/EXEC caller looks at each reply itself.
    using Callback = std::function<void(std::error_code, RedisReply)>;

    RedisConnection(asio::io_context& io, RedisAddress address, ConnectionOptions options = {});
    ~RedisConnection();  // pending callbacks complete with shutting_down
    RedisConnection(const RedisConnection&) = delete;
    RedisConnection& operator=(const RedisConnection&) = delete;

    void start();  // connects (and keeps reconnecting)
    // Called after each successful connect, once the waiting commands are sent.
    void set_on_connected(std::function<void()> f) { on_connected_ = std::move(f); }
    void command(std::vector<std::string> argv, Callback done);
    // Drops the connection (commands in flight fail with disconnected) and reconnects: for a
    // caller whose reply is overdue.
    void reconnect();

    bool connected() const { return connected_; }
    std::size_t queued() const { return waiting_.size() + in_flight_; }
    std::uint64_t connects() const { return connects_; }  // successful connections so far
    const RedisAddress& address() const { return address_; }

  private:
    struct Watcher;
    struct Pending {
        RedisConnection* self;
        Callback done;
    };

    void connect();
    void resolve();
    void on_resolved(const std::error_code& ec, const asio::ip::tcp::resolver::results_type& r);
    void cancel_resolve();
    bool open(const std::string& host);  // false (logged) when hiredis fails at once
    void arm_connect_timer();
    void attach(redisAsyncContext* ac);
    void on_connected(int status);
    void authenticate();
    void on_ready();  // connected, and authenticated when there is a password
    void on_disconnected();
    void schedule_reconnect();
    void send(std::vector<std::string> argv, Callback done);
    void free_context();
    static void reply_hook(redisAsyncContext* ac, void* reply, void* privdata);
    static void connect_hook(const redisAsyncContext* ac, int status);
    static void disconnect_hook(const redisAsyncContext* ac, int status);

    asio::io_context& io_;
    RedisAddress address_;
    ConnectionOptions options_;
    redisAsyncContext* ac_ = nullptr;
    std::shared_ptr<Watcher> watcher_;
    asio::steady_timer retry_timer_;
    asio::steady_timer connect_timer_;
    asio::ip::tcp::resolver resolver_;
    // Set while a resolution is under way. Its completion holds only a weak_ptr: a cancel that
    // comes after getaddrinfo returned does not stop the handler, so the handler checks that
    // this resolution is still the one wanted (and `this` still alive) before anything else.
    std::shared_ptr<char> resolving_;
    std::chrono::milliseconds backoff_;
    bool connected_ = false;
    bool stopping_ = false;
    std::size_t in_flight_ = 0;
    std::uint64_t connects_ = 0;
    std::deque<std::pair<std::vector<std::string>, Callback>> waiting_;
    std::function<void()> on_connected_;
};

}  // namespace lwgate::redis
