#include "store/sqlite_store.hpp"
#include "store/sqlite_stmt.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <system_error>

#include <spdlog/spdlog.h>

namespace lwgate::store {

using namespace sqlite_detail;

namespace {

// migrations[v] takes a database at user_version v to v + 1. Append only: a shipped step never
// changes, so every older file upgrades the same way.
constexpr const char* migrations[] = {
    // 0 -> 1: the first layout.
    "CREATE TABLE devices(endpoint TEXT PRIMARY KEY NOT NULL, location TEXT NOT NULL,"
    " lifetime INTEGER NOT NULL, deadline INTEGER NOT NULL, queue_mode INTEGER NOT NULL,"
    " binding TEXT NOT NULL, version TEXT NOT NULL, local_port INTEGER NOT NULL);"
    "CREATE TABLE observations(endpoint TEXT NOT NULL, core_token BLOB NOT NULL,"
    " path TEXT NOT NULL, observe INTEGER NOT NULL, request BLOB NOT NULL,"
    " PRIMARY KEY(endpoint, core_token));"
    "CREATE TABLE queued(endpoint TEXT NOT NULL, seq INTEGER NOT NULL, core_token BLOB NOT NULL,"
    " request BLOB NOT NULL, enqueued_at INTEGER NOT NULL, PRIMARY KEY(endpoint, seq));",
    // 1 -> 2: what a re-registration on the device's behalf would need.
    ("ALTER TABLE devices ADD COLUMN register_query TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE devices ADD COLUMN object_links BLOB NOT NULL DEFAULT x'';"),
    // 2 -> 3: upstream.bind may list several local addresses (more than 64k devices).
    "ALTER TABLE devices ADD COLUMN local_address TEXT NOT NULL DEFAULT '';",
    // 3 -> 4: whether the registration was made over a connection authenticated as the
    // endpoint (TLS): plain TCP may not continue it after a restart either.
    "ALTER TABLE devices ADD COLUMN authenticated INTEGER NOT NULL DEFAULT 0;",
    // 4 -> 5: device credentials managed at run time (admin API), keys in their own table so
    // that a rotation's two keys are two rows, and an identity is unique across endpoints.
    "CREATE TABLE credentials(endpoint TEXT PRIMARY KEY NOT NULL,"
    " certificate_name TEXT NOT NULL, from_config INTEGER NOT NULL, updated INTEGER NOT NULL);"
    "CREATE TABLE credential_keys(endpoint TEXT NOT NULL, slot INTEGER NOT NULL,"
    " identity TEXT NOT NULL UNIQUE, psk_key BLOB NOT NULL, added INTEGER NOT NULL,"
    " PRIMARY KEY(endpoint, slot));",
};
static_assert(std::size(migrations) == sqlite_schema_version);

std::string join_location(const std::vector<std::string>& segments) {
    std::string out;
    for (const auto& s : segments)
        out += "/" + s;
    return out;
}

std::vector<std::string> split_location(const std::string& text) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos < text.size()) {
        if (text[pos] == '/') ++pos;
        const auto next = text.find('/', pos);
        out.push_back(text.substr(pos, next == std::string::npos ? next : next - pos));
        pos = next == std::string::npos ? text.size() : next;
    }
    return out;
}

Result<void, Error> upgrade(sqlite3* db) {
    int version = 0;
    {
        Stmt st;
        if (!st.prepare(db, "PRAGMA user_version") || sqlite3_step(st.s) != SQLITE_ROW) {
            return fail(db_failure(db, StoreErrc::schema, "reading schema version"));
        }
        version = static_cast<int>(st.col_int(0));
    }
    if (version > sqlite_schema_version) {
        return fail(Error{StoreErrc::schema, "schema version " + std::to_string(version) +
                                                 " is newer than this lwgate's (" +
                                                 std::to_string(sqlite_schema_version) +
                                                 "): refusing to touch it"});
    }
    if (version < 0) {
        return fail(Error{StoreErrc::schema, "bad schema version " + std::to_string(version)});
    }
    const int found = version;
    for (int v = version; v < sqlite_schema_version; ++v) {
        std::string error;
        const std::string step = std::string("BEGIN IMMEDIATE;") + migrations[v] +
                                 "PRAGMA user_version=" + std::to_string(v + 1) + ";COMMIT;";
        if (!exec(db, step.c_str(), &error)) {
            const auto code = classify(db, StoreErrc::schema);  // before ROLLBACK replaces it
            exec(db, "ROLLBACK");
            return fail(Error{
                code, "upgrading the schema from version " + std::to_string(v) + ": " + error});
        }
        if (found > 0) spdlog::info("store: schema upgraded from version {} to {}", v, v + 1);
    }
    return {};
}

// faccessat(2)'s errno, 0 when allowed. Effective IDs (AT_EACCESS): the user lwgate runs as.
int access_error(const std::string& file, int mode) {
    return ::faccessat(AT_FDCWD, file.c_str(), mode, AT_EACCESS) == 0 ? 0 : errno;
}

// What SQLite alone reports when it may not write is "unable to open database file" or "disk
// I/O error" (the WAL journal and its index are created next to the database), which does not
// say what to fix.
Result<void, Error> check_writable(const std::filesystem::path& path) {
    const auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
    if (const int e = access_error(dir.string(), W_OK | X_OK)) {
        return fail(Error{StoreErrc::permission_denied,
                          "cannot write " + dir.string() + " (" + std::strerror(e) +
                              "): the directory must be writable by the user lwgate runs as (the "
                              "WAL journal lives next to the database)"});
    }
    for (const char* suffix : {"", "-wal", "-shm"}) {
        const std::string file = path.string() + suffix;
        if (const int e = access_error(file, R_OK | W_OK); e != 0 && e != ENOENT) {
            return fail(Error{StoreErrc::permission_denied,
                              "cannot write " + file + " (" + std::strerror(e) +
                                  "): the database and its -wal and -shm files must be readable "
                                  "and writable by the user lwgate runs as"});
        }
    }
    return {};
}

}  // namespace

struct SqliteStore::Statements {
    Stmt begin, commit, rollback;
    Stmt del_device, del_observations, del_queued;
    Stmt ins_device, ins_observation, ins_queued;

    Result<void, Error> prepare(sqlite3* db) {
        const std::pair<Stmt*, const char*> all[] = {
            {&begin, "BEGIN IMMEDIATE"},
            {&commit, "COMMIT"},
            {&rollback, "ROLLBACK"},
            {&del_device, "DELETE FROM devices WHERE endpoint=?1"},
            {&del_observations, "DELETE FROM observations WHERE endpoint=?1"},
            {&del_queued, "DELETE FROM queued WHERE endpoint=?1"},
            {&ins_device,
             "INSERT INTO devices(endpoint, location, lifetime, deadline, queue_mode, binding,"
             " version, local_port, register_query, object_links, local_address, authenticated)"
             " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"},
            {&ins_observation,
             "INSERT INTO observations(endpoint, core_token, path, observe, request)"
             " VALUES(?1, ?2, ?3, ?4, ?5)"},
            {&ins_queued,
             "INSERT INTO queued(endpoint, seq, core_token, request, enqueued_at)"
             " VALUES(?1, ?2, ?3, ?4, ?5)"},
        };
        for (const auto& [stmt, sql] : all) {
            if (!stmt->prepare(db, sql)) {
                return fail(db_failure(db, StoreErrc::schema, "preparing statements"));
            }
        }
        return {};
    }
};

Result<std::unique_ptr<SqliteStore>, Error> SqliteStore::open(const std::filesystem::path& path,
                                                              SqliteOptions options) {
    std::error_code ec;
    if (path.has_parent_path()) {
        std::filesystem::create_directories(path.parent_path(), ec);
        if (ec) {
            return fail(
                Error{StoreErrc::cannot_create,
                      "cannot create " + path.parent_path().string() + ": " + ec.message()});
        }
    }
    if (auto writable = check_writable(path); !writable) return fail(std::move(writable).error());
    sqlite3* db = nullptr;
    const int rc =
        sqlite3_open_v2(path.c_str(), &db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        Error error{StoreErrc::cannot_open, "cannot open " + path.string() + ": " +
                                                (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc))};
        sqlite3_close(db);
        return fail(std::move(error));
    }
    auto close_with = [&](Error error) {
        sqlite3_close(db);
        error.detail = path.string() + ": " + error.detail;
        return fail(std::move(error));
    };
    auto exec_error = [&](std::string text) {
        return Error{classify(db, StoreErrc::cannot_open), std::move(text)};
    };
    sqlite3_busy_timeout(db, 2000);
    std::string error;
    // Exclusive: one lwgate per database file. A second process fails here instead of two
    // gateways overwriting each other's devices.
    if (!exec(db, "PRAGMA locking_mode=EXCLUSIVE", &error)) return close_with(exec_error(error));
    {
        Stmt wal;
        if (!wal.prepare(db, "PRAGMA journal_mode=WAL") || sqlite3_step(wal.s) != SQLITE_ROW) {
            return close_with(db_failure(db, StoreErrc::cannot_open, "enabling WAL"));
        }
        if (wal.col_text(0) != "wal") {
            return close_with({StoreErrc::cannot_open, "the file does not support WAL mode"});
        }
    }
    if (!exec(db, "PRAGMA synchronous=FULL", &error)) return close_with(exec_error(error));
    if (auto upgraded = upgrade(db); !upgraded) return close_with(std::move(upgraded).error());
    auto statements = std::make_unique<Statements>();
    if (auto prepared = statements->prepare(db); !prepared) {
        return close_with(std::move(prepared).error());
    }
    return std::unique_ptr<SqliteStore>(new SqliteStore(db, std::move(statements), options));
}

SqliteStore::SqliteStore(sqlite3* db, std::unique_ptr<Statements> statements, SqliteOptions options)
    : db_(db), stmts_(std::move(statements)), options_(options) {
    thread_ = std::thread([this] { run(); });
}

SqliteStore::~SqliteStore() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
    stmts_.reset();  // statements before the connection
    sqlite3_close(db_);
}

std::uint64_t SqliteStore::put(DeviceRecord record) {
    std::uint64_t seq = 0;
    {
        std::lock_guard lock(mutex_);
        ++stats_.puts;
        seq = ++queued_seq_;
        auto [it, inserted] = pending_.try_emplace(record.endpoint);
        if (!inserted) ++stats_.coalesced;
        it->second = std::move(record);
    }
    wake_.notify_one();
    return seq;
}

std::uint64_t SqliteStore::erase(const std::string& endpoint, std::uint64_t) {
    std::uint64_t seq = 0;
    {
        std::lock_guard lock(mutex_);
        ++stats_.erases;
        seq = ++queued_seq_;
        auto [it, inserted] = pending_.try_emplace(endpoint);
        if (!inserted) ++stats_.coalesced;
        it->second.reset();
    }
    wake_.notify_one();
    return seq;
}

void SqliteStore::flush() {
    std::unique_lock lock(mutex_);
    const auto target = queued_seq_;
    done_.wait(lock, [&] { return done_seq_ >= target || stop_; });
}

StoreStats SqliteStore::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

void SqliteStore::run() {
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait(lock, [&] { return stop_ || !pending_.empty(); });
        if (pending_.empty()) return;  // stopping with nothing left to write
        auto batch = std::exchange(pending_, {});
        const auto seq = queued_seq_;
        lock.unlock();
        const bool ok = write_batch(batch);
        lock.lock();
        if (ok) {
            ++stats_.batches;
            stats_.rows_written += batch.size();
            spdlog::debug("store: committed batch {} ({} record(s))", stats_.batches, batch.size());
        } else {
            ++stats_.errors;
            // Put the batch back under anything newer that arrived meanwhile, and wait a little
            // before retrying (a full disk does not fix itself in a microsecond).
            for (auto& [endpoint, record] : batch)
                pending_.try_emplace(endpoint, std::move(record));
            if (!stop_) wake_.wait_for(lock, std::chrono::milliseconds(500), [&] { return stop_; });
        }
        if (ok && listener_) {
            // Every write up to `seq` is in this or an earlier batch: durable now. Before
            // flush() returns, so that whoever flushed has heard of the commit too.
            lock.unlock();
            listener_(seq);
            lock.lock();
        }
        done_seq_ = seq;
        done_.notify_all();
        if (!ok && stop_) return;  // cannot write, and asked to go: give up
    }
}

bool SqliteStore::write_batch(const std::map<std::string, std::optional<DeviceRecord>>& batch) {
    std::lock_guard db_lock(db_mutex_);
    auto& s = *stmts_;
    const std::uint64_t batch_number = stats().batches + stats().errors + 1;
    if (!s.begin.run()) {
        spdlog::error("store: {}", db_error(db_, "BEGIN"));
        return false;
    }
    bool ok = true;
    std::size_t written = 0;
    for (const auto& [endpoint, record] : batch) {
        ok = s.del_device.text(1, endpoint).run() && s.del_observations.text(1, endpoint).run() &&
             s.del_queued.text(1, endpoint).run();
        if (ok && record) {
            const auto location = join_location(record->location);
            ok = s.ins_device.text(1, endpoint)
                     .text(2, location)
                     .integer(3, record->lifetime)
                     .integer(4, record->deadline)
                     .integer(5, record->queue_mode ? 1 : 0)
                     .text(6, record->binding)
                     .text(7, record->version)
                     .integer(8, record->local_port)
                     .text(9, record->register_query)
                     .blob(10, record->object_links)
                     .text(11, record->local_address)
                     .integer(12, record->authenticated ? 1 : 0)
                     .run();
            for (const auto& o : record->observations) {
                ok = ok && s.ins_observation.text(1, endpoint)
                               .blob(2, o.core_token)
                               .text(3, o.path)
                               .integer(4, o.observe)
                               .blob(5, o.request)
                               .run();
            }
            std::int64_t seq = 0;
            for (const auto& q : record->queued) {
                ok = ok && s.ins_queued.text(1, endpoint)
                               .integer(2, seq++)
                               .blob(3, q.core_token)
                               .blob(4, q.request)
                               .integer(5, q.enqueued_at)
                               .run();
            }
        }
        if (!ok) break;
        if (++written == 1 && options_.crash_in_batch == batch_number) {
            // Fault injection: die inside the transaction, as a kill -9 or a crash would.
            spdlog::warn("store: LWGATE_STORE_CRASH_IN_BATCH={}: SIGKILL inside a transaction",
                         batch_number);
            spdlog::default_logger()->flush();
            std::raise(SIGKILL);
        }
    }
    if (ok && s.commit.run()) return true;
    spdlog::error("store: write of {} record(s) failed: {}", batch.size(), sqlite3_errmsg(db_));
    s.rollback.run();
    return false;
}

namespace {

using DeviceMap = std::map<std::string, DeviceRecord>;

// nullopt (with a warning) for a row whose values do not fit the record: one bad row must not
// keep every other device from loading.
std::optional<DeviceRecord> device_from_row(const Stmt& st) {
    DeviceRecord r;
    r.endpoint = st.col_text(0);
    r.location = split_location(st.col_text(1));
    const auto lifetime = st.col_int(2);
    const auto port = st.col_int(7);
    if (lifetime < 0 || lifetime > UINT32_MAX || port < 0 || port > 65535) {
        spdlog::warn("store: skipping device '{}' with out-of-range values", r.endpoint);
        return std::nullopt;
    }
    r.lifetime = static_cast<std::uint32_t>(lifetime);
    r.deadline = st.col_int(3);
    r.queue_mode = st.col_int(4) != 0;
    r.binding = st.col_text(5);
    r.version = st.col_text(6);
    r.local_port = static_cast<std::uint16_t>(port);
    r.register_query = st.col_text(8);
    r.object_links = st.col_blob(9);
    r.local_address = st.col_text(10);
    r.authenticated = st.col_int(11) != 0;
    return r;
}

Result<void, Error> load_devices(sqlite3* db, DeviceMap& devices) {
    Stmt st;
    if (!st.prepare(db,
                    "SELECT endpoint, location, lifetime, deadline, queue_mode, binding, version,"
                    " local_port, register_query, object_links, local_address, authenticated"
                    " FROM devices")) {
        return fail(db_failure(db, StoreErrc::io, "loading devices"));
    }
    int rc;
    while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) {
        auto r = device_from_row(st);
        if (!r) continue;
        auto endpoint = r->endpoint;
        devices.emplace(std::move(endpoint), std::move(*r));
    }
    if (rc != SQLITE_DONE) return fail(db_failure(db, StoreErrc::io, "loading devices"));
    return {};
}

// Rows of devices that were not loaded are left out.
Result<void, Error> load_observations(sqlite3* db, DeviceMap& devices) {
    Stmt obs;
    if (!obs.prepare(db,
                     "SELECT endpoint, core_token, path, observe, request FROM observations"
                     " ORDER BY endpoint, core_token")) {
        return fail(db_failure(db, StoreErrc::io, "loading observations"));
    }
    int rc;
    while ((rc = sqlite3_step(obs.s)) == SQLITE_ROW) {
        auto it = devices.find(obs.col_text(0));
        if (it == devices.end()) continue;
        it->second.observations.push_back({obs.col_blob(1), obs.col_text(2),
                                           static_cast<std::uint32_t>(obs.col_int(3) & 0xffffff),
                                           obs.col_blob(4)});
    }
    if (rc != SQLITE_DONE) return fail(db_failure(db, StoreErrc::io, "loading observations"));
    return {};
}

// Rows of devices that were not loaded are left out.
Result<void, Error> load_queued(sqlite3* db, DeviceMap& devices) {
    Stmt q;
    if (!q.prepare(db,
                   "SELECT endpoint, core_token, request, enqueued_at FROM queued"
                   " ORDER BY endpoint, seq")) {
        return fail(db_failure(db, StoreErrc::io, "loading queued requests"));
    }
    int rc;
    while ((rc = sqlite3_step(q.s)) == SQLITE_ROW) {
        auto it = devices.find(q.col_text(0));
        if (it == devices.end()) continue;
        it->second.queued.push_back({q.col_blob(1), q.col_blob(2), q.col_int(3)});
    }
    if (rc != SQLITE_DONE) return fail(db_failure(db, StoreErrc::io, "loading queued requests"));
    return {};
}

}  // namespace

Result<std::vector<DeviceRecord>, Error> SqliteStore::load_all() {
    std::lock_guard db_lock(db_mutex_);
    DeviceMap devices;
    if (auto r = load_devices(db_, devices); !r) return fail(std::move(r).error());
    if (auto r = load_observations(db_, devices); !r) return fail(std::move(r).error());
    if (auto r = load_queued(db_, devices); !r) return fail(std::move(r).error());
    std::vector<DeviceRecord> out;
    out.reserve(devices.size());
    for (auto& [endpoint, record] : devices)
        out.push_back(std::move(record));
    return out;
}

std::string SqliteStore::check() {
    flush();
    std::lock_guard db_lock(db_mutex_);
    std::string problems;
    Stmt integrity;
    if (!integrity.prepare(db_, "PRAGMA integrity_check")) return db_error(db_, "integrity_check");
    while (sqlite3_step(integrity.s) == SQLITE_ROW) {
        const auto line = integrity.col_text(0);
        if (line != "ok") problems += line + "\n";
    }
    Stmt orphans;
    if (!orphans.prepare(db_,
                         "SELECT (SELECT count(*) FROM observations WHERE endpoint NOT IN"
                         " (SELECT endpoint FROM devices)),"
                         " (SELECT count(*) FROM queued WHERE endpoint NOT IN"
                         " (SELECT endpoint FROM devices))") ||
        sqlite3_step(orphans.s) != SQLITE_ROW) {
        return problems + db_error(db_, "orphan check");
    }
    if (orphans.col_int(0) != 0) problems += "observations without a device\n";
    if (orphans.col_int(1) != 0) problems += "queued requests without a device\n";
    return problems;
}

}  // namespace lwgate::store
