// Unit tests for lwgate::store (include/lwgate/store/*.hpp) against temporary SQLite files:
// schema creation and upgrade, round trips, delete, coalescing, batch atomicity, reopening after
// an unclean close, bad files. No sockets; the store's own thread is the only concurrency.
#include "store/sqlite_store.hpp"

#include <grp.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "store/memory_store.hpp"

namespace lwgate::store {
namespace {

namespace fs = std::filesystem;

class TempDb : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/lwgate-store-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir = tmpl;
        path = dir / "sub" / "state.db";
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }

    std::unique_ptr<SqliteStore> open_ok(SqliteOptions options = {}) {
        auto opened = SqliteStore::open(path, options);
        if (!opened) {
            ADD_FAILURE() << opened.error().message();
            return nullptr;
        }
        return std::move(opened).value();
    }

    static std::vector<DeviceRecord> load(Store& store) {
        auto loaded = store.load_all();
        if (!loaded) {
            ADD_FAILURE() << loaded.error().message();
            return {};
        }
        return std::move(loaded).value();
    }

    // Raw SQL on the file while no store holds it.
    void raw(const std::string& sql) {
        sqlite3* db = nullptr;
        ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
        char* err = nullptr;
        const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
        EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "");
        sqlite3_free(err);
        sqlite3_close(db);
    }
    std::int64_t raw_int(const std::string& sql) {
        sqlite3* db = nullptr;
        EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
        sqlite3_stmt* st = nullptr;
        std::int64_t v = -1;
        if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW) {
            v = sqlite3_column_int64(st, 0);
        }
        sqlite3_finalize(st);
        sqlite3_close(db);
        return v;
    }

    fs::path dir;
    fs::path path;
};

DeviceRecord device(const std::string& ep, std::size_t observations = 2, std::size_t queued = 2) {
    DeviceRecord r;
    r.endpoint = ep;
    r.location = {"rd", "7" + ep};
    r.lifetime = 300;
    r.deadline = 1'700'000'123'456;
    r.queue_mode = true;
    r.binding = "T";
    r.version = "1.1";
    r.register_query = "ep=" + ep + "&lt=300&lwm2m=1.1&b=U&Q";
    r.object_links = {'<', '/', '3', '/', '0', '>'};
    r.local_port = 40123;
    r.local_address = "127.0.0.2";
    r.authenticated = true;
    for (std::size_t i = 0; i < observations; ++i) {
        r.observations.push_back({Bytes{0xC0, static_cast<std::uint8_t>(i)},
                                  "/3/0/" + std::to_string(i), 0xfffff0u + static_cast<unsigned>(i),
                                  Bytes{0x40, 0x01, static_cast<std::uint8_t>(i)}});
    }
    for (std::size_t i = 0; i < queued; ++i) {
        r.queued.push_back({Bytes{0xAA, static_cast<std::uint8_t>(i)},
                            Bytes{0x50, 0x02, 0xAA, static_cast<std::uint8_t>(i)},
                            1'700'000'000'000 + static_cast<std::int64_t>(i)});
    }
    return r;
}

TEST_F(TempDb, CreatesSchemaInWalModeOnFirstStart) {
    auto store = open_ok();
    ASSERT_TRUE(store);
    EXPECT_TRUE(load(*store).empty());
    EXPECT_EQ(store->check(), "");
    store.reset();
    EXPECT_TRUE(fs::exists(path)) << "parent directory and file are created";
    EXPECT_EQ(raw_int("PRAGMA user_version"), sqlite_schema_version);
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

TEST_F(TempDb, RoundTripsEveryField) {
    auto store = open_ok();
    ASSERT_TRUE(store);
    auto a = device("urn:imei:1");
    auto b = device("urn:imei:2", 0, 0);
    b.object_links.clear();  // empty blobs stay empty, not NULL
    b.queue_mode = false;
    store->put(a);
    store->put(b);
    store->flush();
    auto loaded = load(*store);
    ASSERT_EQ(loaded.size(), 2u);
    EXPECT_EQ(loaded[0], a);
    EXPECT_EQ(loaded[1], b);
    // And from disk, through a new connection.
    store.reset();
    store = open_ok();
    ASSERT_TRUE(store);
    loaded = load(*store);
    ASSERT_EQ(loaded.size(), 2u);
    EXPECT_EQ(loaded[0], a);
    EXPECT_EQ(loaded[1], b);
}

TEST_F(TempDb, PutReplacesTheWholeRecordAndEraseRemovesIt) {
    auto store = open_ok();
    ASSERT_TRUE(store);
    store->put(device("ep", 3, 3));
    store->flush();
    auto smaller = device("ep", 1, 0);
    smaller.lifetime = 60;
    store->put(smaller);
    store->flush();
    auto loaded = load(*store);
    ASSERT_EQ(loaded.size(), 1u);
    EXPECT_EQ(loaded[0], smaller) << "no observation or queued row of the old record is left";
    store->erase("ep");
    store->erase("never-stored");  // harmless
    store->flush();
    EXPECT_TRUE(load(*store).empty());
    EXPECT_EQ(store->check(), "");
    store.reset();
    EXPECT_EQ(raw_int("SELECT count(*) FROM observations"), 0);
    EXPECT_EQ(raw_int("SELECT count(*) FROM queued"), 0);
}

TEST_F(TempDb, NewerWritesForOneEndpointCoalesce) {
    auto store = open_ok();
    ASSERT_TRUE(store);
    for (int i = 0; i < 200; ++i) {
        auto r = device("ep");
        r.lifetime = static_cast<std::uint32_t>(i);
        store->put(std::move(r));
    }
    store->erase("gone");
    store->flush();
    auto loaded = load(*store);
    ASSERT_EQ(loaded.size(), 1u);
    EXPECT_EQ(loaded[0].lifetime, 199u) << "the last write wins";
    const auto stats = store->stats();
    EXPECT_EQ(stats.puts, 200u);
    EXPECT_EQ(stats.erases, 1u);
    EXPECT_LE(stats.rows_written, 201u);
    EXPECT_EQ(stats.errors, 0u);
}

TEST_F(TempDb, UpgradesAVersion1Database) {
    fs::create_directories(path.parent_path());
    raw("CREATE TABLE devices(endpoint TEXT PRIMARY KEY NOT NULL, location TEXT NOT NULL,"
        " lifetime INTEGER NOT NULL, deadline INTEGER NOT NULL, queue_mode INTEGER NOT NULL,"
        " binding TEXT NOT NULL, version TEXT NOT NULL, local_port INTEGER NOT NULL);"
        "CREATE TABLE observations(endpoint TEXT NOT NULL, core_token BLOB NOT NULL,"
        " path TEXT NOT NULL, observe INTEGER NOT NULL, request BLOB NOT NULL,"
        " PRIMARY KEY(endpoint, core_token));"
        "CREATE TABLE queued(endpoint TEXT NOT NULL, seq INTEGER NOT NULL,"
        " core_token BLOB NOT NULL, request BLOB NOT NULL, enqueued_at INTEGER NOT NULL,"
        " PRIMARY KEY(endpoint, seq));"
        "INSERT INTO devices VALUES('old', '/rd/1', 120, 5000, 0, 'T', '1.0', 41000);"
        "INSERT INTO observations VALUES('old', x'c1', '/3/0/13', 9, x'4101c1');"
        "PRAGMA user_version=1;");
    auto store = open_ok();
    ASSERT_TRUE(store);
    auto loaded = load(*store);
    ASSERT_EQ(loaded.size(), 1u);
    EXPECT_EQ(loaded[0].endpoint, "old");
    EXPECT_EQ(loaded[0].location, (std::vector<std::string>{"rd", "1"}));
    EXPECT_EQ(loaded[0].local_port, 41000);
    EXPECT_EQ(loaded[0].register_query, "") << "columns added by version 2 get their defaults";
    EXPECT_EQ(loaded[0].local_address, "") << "and by version 3: any address";
    EXPECT_FALSE(loaded[0].authenticated) << "and by version 4: made over plain TCP";
    ASSERT_TRUE(store->load_credentials()) << "and version 5 adds the credentials tables";
    EXPECT_TRUE(store->load_credentials()->empty());
    EXPECT_TRUE(loaded[0].object_links.empty());
    ASSERT_EQ(loaded[0].observations.size(), 1u);
    EXPECT_EQ(loaded[0].observations[0].observe, 9u);
    // The upgraded file takes current records.
    store->put(device("new"));
    store->flush();
    EXPECT_EQ(load(*store).size(), 2u);
    store.reset();
    EXPECT_EQ(raw_int("PRAGMA user_version"), sqlite_schema_version);
}

CredentialRecord credential(std::string endpoint, std::vector<std::string> identities) {
    CredentialRecord r;
    r.endpoint = std::move(endpoint);
    std::uint8_t b = 1;
    for (auto& id : identities)
        r.keys.push_back({std::move(id), {b, b++}, 100 + b});
    r.certificate_name = "cn-" + r.endpoint;
    r.from_config = true;
    r.updated = 42;
    return r;
}

TEST_F(TempDb, CredentialsRoundTripAndSurviveAReopenBesideTheDevices) {
    auto store = open_ok();
    ASSERT_TRUE(store);
    EXPECT_TRUE(store->keeps_credentials());
    store->put(device("d1"));
    const auto a = credential("a", {"a-old", "a-new"});
    const auto b = credential("b", {"b-1"});
    ASSERT_TRUE(store->write_credentials({{"a", a}, {"b", b}}));
    // An identity moves from b to c in one call, whatever the order of the changes.
    const auto c = credential("c", {"b-1"});
    ASSERT_TRUE(store->write_credentials({{"c", c}, {"b", std::nullopt}}));
    store.reset();
    store = open_ok();
    ASSERT_TRUE(store);
    auto loaded = store->load_credentials();
    ASSERT_TRUE(loaded);
    ASSERT_EQ(loaded->size(), 2u);
    EXPECT_EQ((*loaded)[0], a);
    EXPECT_EQ((*loaded)[1], c);
    EXPECT_EQ(load(*store).size(), 1u);
}

TEST_F(TempDb, ACredentialWriteThatBreaksUniquenessChangesNothing) {
    auto store = open_ok();
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->write_credentials({{"a", credential("a", {"shared"})}}));
    // The caller checks identities; should it not, the database refuses the whole call.
    auto refused = store->write_credentials(
        {{"x", credential("x", {"x-1"})}, {"b", credential("b", {"shared"})}});
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, StoreErrc::write_failed);
    auto loaded = store->load_credentials();
    ASSERT_TRUE(loaded);
    ASSERT_EQ(loaded->size(), 1u);
    EXPECT_EQ(loaded->front().endpoint, "a");
}

TEST_F(TempDb, RefusesANewerSchemaAndGarbageFiles) {
    fs::create_directories(path.parent_path());
    raw("PRAGMA user_version=99;");
    auto opened = SqliteStore::open(path);
    ASSERT_FALSE(opened);
    EXPECT_EQ(opened.error().code, StoreErrc::schema);
    EXPECT_NE(opened.error().detail.find("newer"), std::string::npos) << opened.error().detail;

    const auto garbage = dir / "garbage.db";
    std::ofstream(garbage) << "this is not a database, it is a text file that is long enough";
    opened = SqliteStore::open(garbage);
    ASSERT_FALSE(opened);
    EXPECT_EQ(opened.error().code, StoreErrc::cannot_open) << opened.error().detail;
    EXPECT_NE(opened.error().detail.find(garbage.string()), std::string::npos);

    opened = SqliteStore::open("/proc/lwgate-cannot-be-here/state.db");
    ASSERT_FALSE(opened);
    EXPECT_EQ(opened.error().code, StoreErrc::cannot_create) << opened.error().detail;
}

TEST_F(TempDb, ASecondProcessCannotOpenTheSameFile) {
    auto store = open_ok();
    ASSERT_TRUE(store);
    store->put(device("ep"));
    store->flush();
    auto second = SqliteStore::open(path);
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().code, StoreErrc::locked) << second.error().detail;
    EXPECT_NE(second.error().detail.find("locked"), std::string::npos) << second.error().detail;
}

// A child process writes records in batches and is SIGKILLed inside its 3rd transaction (fault
// injection). Batches hold whatever was put while the previous one was being written, so their
// boundaries are not fixed; what must hold: the file has a prefix of the writes in put order
// (whole batches), each record whole, and nothing of the killed transaction.
TEST_F(TempDb, KillInsideATransactionLeavesWholeEarlierBatches) {
    fs::create_directories(path.parent_path());
    constexpr int total = 20;
    auto name = [](int i) { return "r" + std::to_string(100 + i); };  // sorts in put order
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        auto opened = SqliteStore::open(path, SqliteOptions{3});
        if (!opened) ::_exit(2);
        auto& store = **opened;
        for (int i = 0; i < total; ++i) {
            store.put(device(name(i), 3, 3));
            if (i % 4 == 3) store.flush();
        }
        store.flush();
        ::_exit(0);  // not reached: the 3rd transaction kills the process
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "status " << status;
    EXPECT_EQ(WTERMSIG(status), SIGKILL);

    auto store = open_ok();
    ASSERT_TRUE(store);
    EXPECT_EQ(store->check(), "");
    auto loaded = load(*store);
    ASSERT_GE(loaded.size(), 2u) << "two transactions committed before the kill";
    ASSERT_LT(loaded.size(), static_cast<std::size_t>(total)) << "the killed one did not";
    for (std::size_t i = 0; i < loaded.size(); ++i) {
        EXPECT_EQ(loaded[i], device(name(static_cast<int>(i)), 3, 3)) << "a prefix, each whole";
    }
}

// Reopening after the writer died between transactions (no clean close, WAL not checkpointed).
TEST_F(TempDb, ReopensAfterAnUncleanClose) {
    fs::create_directories(path.parent_path());
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        auto opened = SqliteStore::open(path);
        if (!opened) ::_exit(2);
        auto& store = **opened;
        store.put(device("kept", 1, 1));
        store.flush();
        std::raise(SIGKILL);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status));
    auto store = open_ok();
    ASSERT_TRUE(store);
    auto loaded = load(*store);
    ASSERT_EQ(loaded.size(), 1u);
    EXPECT_EQ(loaded[0], device("kept", 1, 1));
    EXPECT_EQ(store->check(), "");
}

// SqliteStore::open(file) in a child process that runs as an unprivileged user (nobody when
// the test runs as root, as in CI); its error's detail (prefixed by "permission_denied: " when
// that is its code), or "opened".
std::string open_unprivileged(const fs::path& file) {
    int fds[2];
    if (::pipe(fds) != 0) return "pipe failed";
    const pid_t child = ::fork();
    if (child == 0) {
        ::close(fds[0]);
        constexpr uid_t nobody = 65534;
        if (::geteuid() == 0 &&
            (::setgroups(0, nullptr) != 0 || ::setgid(nobody) != 0 || ::setuid(nobody) != 0))
            ::_exit(3);
        auto opened = SqliteStore::open(file);
        std::string text = "opened";
        if (!opened) {
            const bool denied = opened.error().code == StoreErrc::permission_denied;
            text = (denied ? "permission_denied: " : "") + opened.error().detail;
        }
        const bool written =
            ::write(fds[1], text.data(), text.size()) == static_cast<ssize_t>(text.size());
        ::_exit(written ? 0 : 4);
    }
    ::close(fds[1]);
    std::string text;
    char buffer[512];
    for (ssize_t n; (n = ::read(fds[0], buffer, sizeof buffer)) > 0;)
        text.append(buffer, static_cast<std::size_t>(n));
    ::close(fds[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
    return text;
}

// Alone, SQLite says "unable to open database file" or, for an existing database, "enabling
// WAL: disk I/O error" (it cannot create the journal next to it): the error must name the
// directory or file and the permission instead.
TEST_F(TempDb, UnwritableDirectoryOrFileIsNamed) {
    const auto x = fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec;
    const auto r = fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read;
    const auto rw = fs::perms::all & ~x;
    fs::permissions(dir, fs::perms::owner_all | x);
    const auto locked = dir / "locked";
    fs::create_directory(locked);
    path = locked / "existing.db";
    raw("PRAGMA journal_mode=WAL; CREATE TABLE t(x)");  // as lwgate left it, run as root before
    fs::permissions(path, rw);
    // root's directory, read-only to others; or our own, read-only to us.
    fs::permissions(locked, ::geteuid() == 0 ? r | x | fs::perms::owner_write : r | x);
    const std::string in_locked =
        "permission_denied: cannot write " + locked.string() +
        " (Permission denied): the directory must be writable by the user lwgate runs as (the "
        "WAL journal lives next to the database)";
    EXPECT_EQ(open_unprivileged(locked / "state.db"), in_locked) << "a new database";
    EXPECT_EQ(open_unprivileged(path), in_locked) << "a WAL database the user may write";

    // A writable directory: a database file the user may only read, then a writable one whose
    // WAL journal an earlier run as another user left (empty: a valid journal).
    const auto open = dir / "open";
    fs::create_directory(open);
    fs::permissions(open, fs::perms::all);
    const std::string must =
        " (Permission denied): the database and its -wal and -shm files must be readable and "
        "writable by the user lwgate runs as";
    path = open / "state.db";
    raw("CREATE TABLE t(x)");
    fs::permissions(path, r);
    EXPECT_EQ(open_unprivileged(path), "permission_denied: cannot write " + path.string() + must);
    path = open / "other.db";
    raw("CREATE TABLE t(x)");
    fs::permissions(path, rw);
    std::ofstream(open / "other.db-wal").flush();
    fs::permissions(open / "other.db-wal", r);
    EXPECT_EQ(open_unprivileged(path),
              "permission_denied: cannot write " + path.string() + "-wal" + must);
    fs::permissions(locked, fs::perms::owner_all);  // so that TearDown can remove it
}

TEST(OpenStore, ParsesUris) {
    auto memory = open_store("memory:");
    ASSERT_TRUE(memory);
    EXPECT_NE(dynamic_cast<MemoryStore*>(memory->get()), nullptr);
    for (const char* uri : {"sqlite://relative.db", "redis://x"}) {
        auto bad = open_store(uri);
        ASSERT_FALSE(bad) << uri;
        EXPECT_EQ(bad.error().code, StoreErrc::bad_uri) << uri;
        EXPECT_EQ(bad.error().detail, "expected memory: or sqlite:///absolute/path.db");
    }
    EXPECT_EQ(sqlite_path("sqlite:///var/lib/x.db"), fs::path("/var/lib/x.db"));
    EXPECT_EQ(sqlite_path("sqlite:///"), std::nullopt);
}

// store.ack_after_commit acknowledges the core's requests only once the listener says the write
// holding them is durable: it must never report a sequence number before its commit.
TEST_F(TempDb, TheCommitListenerReportsOnlyCommittedWrites) {
    auto store = open_ok();
    ASSERT_TRUE(store);
    std::mutex m;
    std::uint64_t committed = 0;
    store->set_commit_listener([&](std::uint64_t seq) {
        std::lock_guard lock(m);
        EXPECT_GE(seq, committed) << "never goes back";
        committed = seq;
    });
    const auto first = store->put(device("a"));
    const auto second = store->erase("b");
    const auto third = store->put(device("c"));
    EXPECT_LT(first, second);
    EXPECT_LT(second, third);
    store->flush();
    {
        std::lock_guard lock(m);
        EXPECT_GE(committed, third);
    }
    // What the listener reported is on disk: a second connection to the file sees it.
    store.reset();
    auto reopened = open_ok();
    ASSERT_TRUE(reopened);
    EXPECT_EQ(load(*reopened).size(), 2u);
}

TEST(MemoryStoreTest, RoundTripAndErase) {
    MemoryStore store;
    std::uint64_t committed = 0;
    store.set_commit_listener([&](std::uint64_t seq) { committed = seq; });
    store.put(device("a"));
    store.put(device("b"));
    EXPECT_EQ(store.erase("a"), 3u);
    EXPECT_EQ(committed, 3u) << "memory is durable at once";
    auto loaded = store.load_all().value();
    ASSERT_EQ(loaded.size(), 1u);
    EXPECT_EQ(loaded[0], device("b"));
}

// Not a pass/fail test: the cost numbers quoted in docs/bridge.md. The shard pays put() (a lock and
// a map insert); the store thread pays the transaction.
TEST_F(TempDb, CostPerWrite) {
    auto store = open_ok();
    ASSERT_TRUE(store);
    constexpr int devices = 2000;
    std::vector<DeviceRecord> records;
    for (int i = 0; i < devices; ++i)
        records.push_back(device("urn:imei:" + std::to_string(i), 2, 1));
    using C = std::chrono::steady_clock;
    // 1. Bursts: every device changes once, as fast as the shards can produce.
    auto t0 = C::now();
    for (auto& r : records)
        store->put(r);
    const auto put_ns = std::chrono::duration<double, std::nano>(C::now() - t0).count() / devices;
    store->flush();
    const auto burst_ms = std::chrono::duration<double, std::milli>(C::now() - t0).count();
    // 2. One write at a time, each waited for: one transaction (one fsync) per write.
    t0 = C::now();
    constexpr int singles = 50;
    for (int i = 0; i < singles; ++i) {
        store->put(records[static_cast<std::size_t>(i)]);
        store->flush();
    }
    const auto single_ms =
        std::chrono::duration<double, std::milli>(C::now() - t0).count() / singles;
    const auto s = store->stats();
    std::cout << "[ COST     ] shard-side put(): " << put_ns << " ns; burst of " << devices
              << " device writes durable in " << burst_ms << " ms (" << s.batches - singles
              << " transactions, " << burst_ms * 1000.0 / devices
              << " us/write); a lone write: " << single_ms << " ms (one transaction + fsync)\n";
    EXPECT_EQ(load(*store).size(), static_cast<std::size_t>(devices));
}

}  // namespace
}  // namespace lwgate::store
