// DeviceSimulator internals. Everything below "loop thread only" is touched exclusively on the
// EventLoop thread; the "shared" block is guarded by `mu` and is what the public getters and
// waits read.
//
// Source layout:
//   device_simulator.cpp   public API (posting to the loop, waiting), records, shutdown
//   device_connection.cpp  sockets, TLS, reading/writing, closing, signaling
//   device_server.cpp      requests from the gateway, the object model, Observe, Block1/Block2
//   device_client.cpp      our own requests (Register, Update, Send ...), Block1 out, Block2 in
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "lwgate/coap/tcp_codec.hpp"
#include "lwgate/device/pending.hpp"
#include "lwgate/device/stream.hpp"
#include "lwgate/devsim/device_simulator.hpp"

namespace lwgate::devsim {

using ResultCallback = std::function<void(Result)>;

namespace detail {

enum class Phase {
    tcp_connecting,
    tls_handshaking,
    open,
    closing,    // flushing what is queued before our FIN
    lingering,  // FIN sent; draining input until the peer's FIN or the linger timeout
    closed,
};

struct Connection {
    explicit Connection(std::size_t max_message_size) : decoder(max_message_size) {}

    std::size_t number = 0;  // set when established
    int fd = -1;
    EventLoop::WatchId watch = 0;
    std::uint32_t interest = 0;
    std::unique_ptr<device::Stream> stream;
    Phase phase = Phase::tcp_connecting;
    std::string description = "tcp";
    coap::TcpDecoder decoder;
    coap::Bytes tx;
    std::size_t tx_off = 0;
    bool write_wants_read = false;
    bool read_wants_write = false;
    bool handshake_wants_write = false;
    bool silent = false;
    coap::PeerCapabilities peer;
    bool peer_csm = false;
    EventLoop::TimerId timer = 0;  // connect deadline or linger deadline
    SteadyClock::time_point last_rx{};
    SteadyClock::time_point last_tx{};
    std::vector<ResultCallback> on_fin;  // disconnect() waiters
};

// One request of ours in flight (all its blocks).
struct Pending {
    coap::Message original;
    coap::Bytes body;  // full request payload
    bool block1 = false;
    std::uint8_t block1_szx = 6;
    std::size_t block1_end = 0;  // end offset of what has been sent
    bool block2 = false;
    coap::Bytes body2;
    coap::Token token;  // of the frame awaiting an answer
    SteadyClock::time_point deadline{};
    bool is_ping = false;
    ResultCallback done;
};

using PendingSet = device::PendingRequests<std::shared_ptr<Pending>>;

struct ServerObservation {
    coap::Token token;
    Path path;
    std::optional<std::uint32_t> accept;  // of the Observe request
    std::uint16_t format = 0;             // of the last representation sent
    std::uint32_t seq = 0;
};

struct Block1Receive {
    coap::Bytes body;
    std::uint8_t szx = 6;
};

}  // namespace detail

struct DeviceSimulator::Impl : std::enable_shared_from_this<DeviceSimulator::Impl> {
    Impl(DeviceOptions options, EventLoop& loop);

    // ---- immutable ---------------------------------------------------------------------
    DeviceOptions opts;  // set_server_port() changes the port, on the loop
    EventLoop& loop;

    // ---- shared (mu) -------------------------------------------------------------------
    mutable std::mutex mu;
    mutable std::condition_variable cv;
    ConnectionState shared_state = ConnectionState::idle;
    bool shared_silent = false;
    std::optional<CloseInfo> shared_last_close;
    std::size_t shared_closes = 0;  // how many connections closed (for wait_closed)
    std::optional<coap::PeerCapabilities> shared_gateway_csm;
    std::uint16_t shared_local_port = 0;
    std::optional<std::string> shared_location;
    std::deque<ReceivedRequest> records;
    std::size_t next_record_index = 0;
    std::deque<ReceivedSignal> signal_records;
    std::deque<SentNotification> notification_records;
    std::deque<Execution> execution_records;
    Stats stats;
    RequestHook hook;

    template <class F>
    void update_shared(F&& f) {
        {
            std::lock_guard lock(mu);
            f();
        }
        cv.notify_all();
    }
    template <class T>
    void push_record(std::deque<T>& d, T value) {
        d.push_back(std::move(value));
        while (d.size() > opts.max_records)
            d.pop_front();
    }

    // ---- loop thread only ----------------------------------------------------------------
    ObjectModel model;
    std::unique_ptr<detail::Connection> conn;
    std::vector<std::unique_ptr<detail::Connection>> lingering;
    std::vector<std::unique_ptr<detail::Connection>> graveyard;
    std::shared_ptr<device::TlsClientContext> tls_context;
    std::vector<ResultCallback> connect_waiters;
    // Our requests and Pings in flight; one loop timer at the earliest deadline.
    detail::PendingSet pending;
    EventLoop::TimerId deadline_timer = 0;
    SteadyClock::time_point deadline_timer_at{};
    std::vector<detail::ServerObservation> observations;
    std::map<std::string, detail::Block1Receive> block1_receives;
    // Consequences of a request (notifications) that go out after its response.
    std::vector<std::function<void()>> after_response;
    std::optional<std::string> location;
    EventLoop::TimerId ping_timer = 0;
    bool shut_down = false;

    // Entry points from the loop clear the graveyard first.
    void enter() { graveyard.clear(); }
    void emit(Event::Kind kind, std::string text);

    // device_connection.cpp
    void start_connect(SteadyClock::time_point deadline, ResultCallback done);
    void on_io(detail::Connection& c, std::uint32_t events);
    void do_handshake(detail::Connection& c);
    void on_open(detail::Connection& c);
    void fail_connect(detail::Connection& c, Status status, CloseReason reason, int err,
                      std::string detail);
    void do_read(detail::Connection& c);
    void drain_lingering(detail::Connection& c);
    void feed(detail::Connection& c, coap::ByteView bytes);
    void on_decoded(detail::Connection& c, coap::DecodeResult&& result);
    void on_signal(detail::Connection& c, const coap::Message& m);
    bool send_on(detail::Connection& c, const coap::Message& m);
    bool send_bytes_on(detail::Connection& c, coap::ByteView bytes);
    void flush(detail::Connection& c);
    void update_interest(detail::Connection& c);
    enum class CloseMode { graceful, immediate, reset };
    void close_connection(detail::Connection& c, CloseReason reason, CloseMode mode, int err = 0,
                          std::string detail = {});
    void send_fin(detail::Connection& c);
    void final_close(detail::Connection& c, bool reset);
    // final_close() and, if it is lingering, move it to the graveyard.
    void retire(detail::Connection& c, bool reset);
    void abort_connection(detail::Connection& c, std::optional<std::uint16_t> bad_csm_option,
                          std::string diagnostic);
    void set_silent(bool silent);
    void arm_ping_timer();
    void shutdown();
    detail::Connection* open_connection() {
        return conn && conn->phase == detail::Phase::open ? conn.get() : nullptr;
    }
    std::uint32_t peer_max_message_size() const {
        return conn ? conn->peer.max_message_size : coap::base_max_message_size;
    }

    // device_server.cpp
    void on_request(detail::Connection& c, coap::Message&& m);
    coap::Message dispatch(const coap::Message& request, const Path* path);
    coap::Message handle_get(const coap::Message& request, const Path& path);
    // The representation of `path` for Accept `accept` (nullopt = default), or an error code.
    std::variant<std::pair<std::uint16_t, coap::Bytes>, std::uint8_t> represent(
        const Path& path, std::optional<std::uint32_t> accept) const;
    coap::Message apply_block2(const coap::Message& request, coap::Message response) const;
    std::size_t notify_observers(const Path& changed);
    void send_notification(detail::Connection& c, detail::ServerObservation& o);
    void drop_observations_under(const Path& removed);

    // device_client.cpp
    coap::Token make_token() { return pending.next_token(); }
    void start_request(coap::Message message, SteadyClock::time_point deadline,
                       ResultCallback done);
    void send_frame(const std::shared_ptr<detail::Pending>& p, coap::Message frame);
    void send_block1(const std::shared_ptr<detail::Pending>& p, std::size_t offset);
    void on_response(detail::Connection& c, coap::Message&& m);
    void complete(const std::shared_ptr<detail::Pending>& p, Result result);
    void fail_all_pending(Status status, const std::string& detail);
    void arm_deadline_timer();
    void start_ping(SteadyClock::time_point deadline, ResultCallback done);
    coap::Message make_register() const;
    void do_register(SteadyClock::time_point deadline, ResultCallback done);
    void do_update(const UpdateParams& params, SteadyClock::time_point deadline,
                   ResultCallback done);
    void do_deregister(SteadyClock::time_point deadline, ResultCallback done);
    void set_location(std::optional<std::string> value);
};

}  // namespace lwgate::devsim
