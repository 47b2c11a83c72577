// `store.uri: sqlite:///path.db`: the embedded default (libsqlite3).
//
// Layout: tables `devices`, `observations`, `queued` (one row per device / observation / held
// request), `credentials` and `credential_keys` (one row per endpoint / PSK key), schema version in `PRAGMA user_version`, upgraded in place on open (each step in
// its own transaction). WAL journal, synchronous=FULL: a committed batch survives a process
// crash and a power loss; a crash at any point leaves the previous batch's state (every batch is
// one transaction, every device record is replaced whole inside it).
//
// Writes: put()/erase() only record the newest wanted state per endpoint in a pending map
// (coalescing: a device that changes ten times while the disk is busy is written once) and wake
// the store thread, which takes everything pending and commits it as one transaction. The
// pending map is bounded by the number of endpoints, whatever the write rate. A failed
// transaction is rolled back, logged and retried (newer writes for the same endpoint win).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "store/store.hpp"

struct sqlite3;

namespace lwgate::store {

inline constexpr int sqlite_schema_version = 5;

struct SqliteOptions {
    // Fault injection for crash tests: on the Nth batch (1-based), after writing the first record
    // and before COMMIT, the process SIGKILLs itself. 0 = off. From LWGATE_STORE_CRASH_IN_BATCH.
    std::uint64_t crash_in_batch = 0;
};

class SqliteStore final : public Store {
  public:
    // Opens or creates the database (and its parent directory), upgrades the schema, starts the
    // store thread. On failure a StoreErrc, and in detail what is wrong in words (names the
    // directory or file, and the permission it lacks).
    static Result<std::unique_ptr<SqliteStore>, Error> open(const std::filesystem::path& path,
                                                            SqliteOptions options = {});
    ~SqliteStore() override;  // commits what is pending, then closes

    Result<std::vector<DeviceRecord>, Error> load_all() override;
    std::uint64_t put(DeviceRecord record) override;
    std::uint64_t erase(const std::string& endpoint, std::uint64_t owner_epoch = 0) override;
    // Set before the first write (the store thread reads it without a lock).
    void set_commit_listener(std::function<void(std::uint64_t)> listener) override {
        listener_ = std::move(listener);
    }
    void flush() override;
    StoreStats stats() const override;
    // On the caller's thread, under the connection's lock (between two of the store thread's
    // batches): one transaction of up to a few thousand rows.
    Result<std::vector<CredentialRecord>, Error> load_credentials() override;
    Result<void, Error> write_credentials(const std::vector<CredentialChange>& changes) override;
    bool keeps_credentials() const override { return true; }

    // PRAGMA integrity_check plus the store's own invariants (no observation or held request
    // without its device). Empty when consistent, else what is wrong.
    std::string check();

  private:
    struct Statements;
    SqliteStore(sqlite3* db, std::unique_ptr<Statements> statements, SqliteOptions options);
    void run();
    bool write_batch(const std::map<std::string, std::optional<DeviceRecord>>& batch);

    sqlite3* db_;
    std::unique_ptr<Statements> stmts_;
    SqliteOptions options_;
    std::mutex db_mutex_;  // the connection: the store thread, and load_all/check at start-up

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable done_;
    std::map<std::string, std::optional<DeviceRecord>> pending_;  // nullopt: erase
    std::uint64_t queued_seq_ = 0;                                // writes queued so far
    std::uint64_t done_seq_ = 0;  // writes attempted so far (flush waits on it)
    std::function<void(std::uint64_t)> listener_;
    bool stop_ = false;
    StoreStats stats_;
    std::thread thread_;
};

// Parses "sqlite:///abs/path" -> "/abs/path"; nullopt for anything else.
std::optional<std::filesystem::path> sqlite_path(const std::string& uri);

}  // namespace lwgate::store
