// `store.uri: redis://HOST:PORT[/DB]` or `redis+unix:///PATH[?db=N]`: the device records in
// Redis, for gateways that share their state or keep it off the local disk.
//
// Layout: one hash per endpoint, `lwgate:dev:{<endpoint>}` (record_codec.hpp), nothing else.
// load_all() finds the hashes with SCAN MATCH lwgate:dev:* (no global set: on Redis Cluster that
// would be a cross-slot key), on a blocking connection of its own, before the shards start.
//
// Writes: put()/erase() take a lock and record the newest wanted state per endpoint in a pending
// map (coalescing, as SqliteStore does: the map is bounded by the number of endpoints whatever
// the write rate or the length of an outage). The store's own thread runs an io_context with one
// RedisConnection and writes everything pending as one pipeline: per endpoint MULTI, DEL, HSET,
// EXEC (a record is replaced whole and atomically; each transaction touches one hash slot), or a
// DEL for an erase. The commit listener fires once every reply of the batch is in.
//
// While Redis is unreachable, batches fail at once (counted in stats().errors, put back under
// anything newer) and are retried every retry_delay and as soon as the connection is back.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include "redis/redis_blocking.hpp"
#include "redis/redis_connection.hpp"
#include "redis/redis_uri.hpp"
#include "store/store.hpp"

namespace lwgate::redis {

struct RedisStoreOptions {
    ConnectionOptions connection;
    std::chrono::milliseconds open_timeout{3000};      // open(): first connection, load_all()
    std::chrono::milliseconds reply_timeout{5000};     // a batch without every reply: reconnect
    std::chrono::milliseconds retry_delay{500};        // after a failed batch
    std::chrono::milliseconds shutdown_timeout{3000};  // destructor: writing what is pending
    std::size_t max_batch_records = 1000;  // 4 commands each, well under the connection's bound
    // Credential changes the shared log keeps (exactly): an instance away for longer than this
    // many changes loads every entry again.
    std::size_t credential_log_cap = 100'000;
};

class RedisStore final : public store::Store {
  public:
    // Connects (within open_timeout) and starts the store thread. On failure
    // StoreErrc::cannot_open naming the address and Redis's words.
    static Result<std::unique_ptr<RedisStore>, Error> open(const RedisAddress& address,
                                                           RedisStoreOptions options = {});
    ~RedisStore() override;  // writes what is pending (up to shutdown_timeout), then closes

    Result<std::vector<store::DeviceRecord>, Error> load_all() override;
    std::uint64_t put(store::DeviceRecord record) override;
    std::uint64_t erase(const std::string& endpoint, std::uint64_t owner_epoch = 0) override;
    // Set before the first write (the store thread reads them without a lock).
    void set_fence(std::string instance, std::uint64_t incarnation, FenceListener refused) override;
    // Set before the first write (the store thread reads it without a lock).
    void set_commit_listener(std::function<void(std::uint64_t)> listener) override {
        listener_ = std::move(listener);
    }
    void flush() override;
    store::StoreStats stats() const override;

    // Credentials, shared by every instance on this Redis (redis_credentials.cpp).
    Result<std::vector<store::CredentialRecord>, Error> load_credentials() override;
    Result<void, Error> write_credentials(
        const std::vector<store::CredentialChange>& changes) override;
    bool keeps_credentials() const override { return true; }
    bool shares_credentials() const override { return true; }
    Result<store::CredentialFeed, Error> credential_changes(const std::string& cursor) override;

  private:
    // The newest wanted state of one endpoint: its record, or nullopt to erase it; under the
    // owner epoch of the instance that wants it (0: unfenced).
    struct Write {
        std::optional<store::DeviceRecord> record;
        std::uint64_t epoch = 0;
    };
    using Batch = std::map<std::string, Write>;
    struct InFlight;

    RedisStore(RedisAddress address, RedisStoreOptions options);
    bool wait_connected();
    std::uint64_t queue(const std::string& endpoint, Write write);
    std::vector<std::vector<std::string>> commands_for(const std::string& endpoint,
                                                       const Write& write) const;
    void wake();
    void write_next();
    void send_batch(const std::shared_ptr<InFlight>& batch);
    void finish(const std::shared_ptr<InFlight>& batch);
    void retry_later();
    void mark_done(const std::shared_ptr<InFlight>& batch);  // flush() waits for it

    RedisAddress address_;
    RedisStoreOptions options_;
    // Credentials: their own blocking connection, one caller at a time.
    Result<BlockingRedis*, Error> credential_connection();
    Result<RedisReply, Error> credential_command(const std::vector<std::string>& argv);
    Result<std::pair<std::string, unsigned long long>, Error> change_log_state();
    std::mutex credential_mutex_;
    std::unique_ptr<BlockingRedis> credential_redis_;
    std::string loaded_cursor_ = "0-0 0";  // the change log's end when credentials were loaded
    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> work_;
    std::unique_ptr<RedisConnection> conn_;  // the store thread only
    asio::steady_timer retry_timer_;
    asio::steady_timer reply_timer_;
    bool failing_ = false;  // the last batch failed (store thread only)

    mutable std::mutex mutex_;
    std::condition_variable done_;
    Batch pending_;  // nullopt: erase
    std::uint64_t queued_seq_ = 0;
    std::uint64_t done_seq_ = 0;  // writes attempted so far (flush waits on it)
    bool wake_posted_ = false;
    bool writing_ = false;
    bool connected_once_ = false;
    bool stop_ = false;
    store::StoreStats stats_;
    std::function<void(std::uint64_t)> listener_;
    std::string fence_instance_;  // empty: writes are not fenced
    std::string fence_incarnation_;
    FenceListener fence_listener_;
    std::thread thread_;
};

}  // namespace lwgate::redis
