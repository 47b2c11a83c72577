// SqliteStore's credentials: two tables, written synchronously by the caller (see store.hpp).
#include <map>

#include "store/sqlite_stmt.hpp"
#include "store/sqlite_store.hpp"

namespace lwgate::store {

using namespace sqlite_detail;

namespace {

using CredentialMap = std::map<std::string, CredentialRecord>;

Result<void, Error> load_entries(sqlite3* db, CredentialMap& out) {
    Stmt st;
    if (!st.prepare(db, "SELECT endpoint, certificate_name, from_config, updated FROM credentials"))
        return fail(db_failure(db, StoreErrc::io, "loading credentials"));
    int rc;
    while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) {
        CredentialRecord r;
        r.endpoint = st.col_text(0);
        r.certificate_name = st.col_text(1);
        r.from_config = st.col_int(2) != 0;
        r.updated = st.col_int(3);
        auto endpoint = r.endpoint;
        out.emplace(std::move(endpoint), std::move(r));
    }
    if (rc != SQLITE_DONE) return fail(db_failure(db, StoreErrc::io, "loading credentials"));
    return {};
}

// Keys of endpoints that were not loaded are left out.
Result<void, Error> load_keys(sqlite3* db, CredentialMap& entries) {
    Stmt st;
    if (!st.prepare(db,
                    "SELECT endpoint, identity, psk_key, added FROM credential_keys"
                    " ORDER BY endpoint, slot"))
        return fail(db_failure(db, StoreErrc::io, "loading credential keys"));
    int rc;
    while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) {
        auto it = entries.find(st.col_text(0));
        if (it == entries.end()) continue;
        it->second.keys.push_back({st.col_text(1), st.col_blob(2), st.col_int(3)});
    }
    if (rc != SQLITE_DONE) return fail(db_failure(db, StoreErrc::io, "loading credential keys"));
    return {};
}

struct CredentialStatements {
    Stmt begin, commit, rollback, del_entry, del_keys, ins_entry, ins_key;
    bool prepare(sqlite3* db) {
        return begin.prepare(db, "BEGIN IMMEDIATE") && commit.prepare(db, "COMMIT") &&
               rollback.prepare(db, "ROLLBACK") &&
               del_entry.prepare(db, "DELETE FROM credentials WHERE endpoint = ?1") &&
               del_keys.prepare(db, "DELETE FROM credential_keys WHERE endpoint = ?1") &&
               ins_entry.prepare(db,
                                 "INSERT INTO credentials(endpoint, certificate_name,"
                                 " from_config, updated) VALUES(?1, ?2, ?3, ?4)") &&
               ins_key.prepare(db,
                               "INSERT INTO credential_keys(endpoint, slot, identity, psk_key,"
                               " added) VALUES(?1, ?2, ?3, ?4, ?5)");
    }
};

bool write_change(CredentialStatements& s, const CredentialChange& change) {
    if (!s.del_keys.text(1, change.endpoint).run() || !s.del_entry.text(1, change.endpoint).run())
        return false;
    if (!change.record) return true;
    const auto& r = *change.record;
    if (!s.ins_entry.text(1, r.endpoint)
             .text(2, r.certificate_name)
             .integer(3, r.from_config ? 1 : 0)
             .integer(4, r.updated)
             .run())
        return false;
    std::int64_t slot = 0;
    for (const auto& k : r.keys) {
        if (!s.ins_key.text(1, r.endpoint)
                 .integer(2, slot++)
                 .text(3, k.identity)
                 .blob(4, k.key)
                 .integer(5, k.added)
                 .run())
            return false;
    }
    return true;
}

}  // namespace

Result<std::vector<CredentialRecord>, Error> SqliteStore::load_credentials() {
    std::lock_guard db_lock(db_mutex_);
    CredentialMap entries;
    if (auto r = load_entries(db_, entries); !r) return fail(std::move(r).error());
    if (auto r = load_keys(db_, entries); !r) return fail(std::move(r).error());
    std::vector<CredentialRecord> out;
    out.reserve(entries.size());
    for (auto& [endpoint, record] : entries)
        out.push_back(std::move(record));
    return out;
}

// Deletes before inserts, in the order given: an identity that moves from one endpoint to
// another within one call is free again by the time it is inserted, whatever the order.
Result<void, Error> SqliteStore::write_credentials(const std::vector<CredentialChange>& changes) {
    std::lock_guard db_lock(db_mutex_);
    CredentialStatements s;
    if (!s.prepare(db_)) return fail(db_failure(db_, StoreErrc::write_failed, "credentials"));
    if (!s.begin.run()) return fail(db_failure(db_, StoreErrc::write_failed, "BEGIN"));
    bool ok = true;
    for (const auto& change : changes) {
        ok = s.del_keys.text(1, change.endpoint).run();
        if (!ok) break;
    }
    for (const auto& change : changes) {
        if (ok) ok = write_change(s, change);
    }
    if (ok && s.commit.run()) return {};
    auto error = db_failure(db_, StoreErrc::write_failed, "writing credentials");
    s.rollback.run();
    return fail(std::move(error));
}

}  // namespace lwgate::store
