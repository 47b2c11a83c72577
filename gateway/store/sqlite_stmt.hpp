// SQLite helpers shared by the store's source files: a prepared statement that binds by
// reference and resets itself, and SQLite's errors as the store's typed errors.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "store/store.hpp"

namespace lwgate::store::sqlite_detail {

inline std::string db_error(sqlite3* db, std::string_view what) {
    return std::string(what) + ": " + sqlite3_errmsg(db);
}

// Busy or locked means another connection holds the file (in practice a second lwgate on the same
// database): worth its own code, whatever step ran into it.
inline StoreErrc classify(sqlite3* db, StoreErrc otherwise) {
    const int rc = sqlite3_errcode(db) & 0xff;  // primary code, extended codes or not
    return rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? StoreErrc::locked : otherwise;
}

inline Error db_failure(sqlite3* db, StoreErrc otherwise, std::string_view what) {
    return {classify(db, otherwise), db_error(db, what)};
}

inline bool exec(sqlite3* db, const char* sql, std::string* error = nullptr) {
    char* message = nullptr;
    const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &message);
    if (rc != SQLITE_OK && error) *error = message ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    return rc == SQLITE_OK;
}

struct Stmt {
    sqlite3_stmt* s = nullptr;
    Stmt() = default;
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;
    ~Stmt() { sqlite3_finalize(s); }
    bool prepare(sqlite3* db, const char* sql) {
        return sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) == SQLITE_OK;
    }
    Stmt& text(int i, const std::string& v) {
        sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
        return *this;
    }
    Stmt& blob(int i, const Bytes& v) {
        // A zero-length blob must still be a blob, not NULL.
        sqlite3_bind_blob(s, i, v.empty() ? "" : static_cast<const void*>(v.data()),
                          static_cast<int>(v.size()), SQLITE_STATIC);
        return *this;
    }
    Stmt& integer(int i, std::int64_t v) {
        sqlite3_bind_int64(s, i, v);
        return *this;
    }
    // Runs a statement that returns no rows; resets it for the next use.
    bool run() {
        const int rc = sqlite3_step(s);
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        return rc == SQLITE_DONE;
    }
    std::string col_text(int i) const {
        const auto* p = sqlite3_column_text(s, i);
        return p ? std::string(reinterpret_cast<const char*>(p),
                               static_cast<std::size_t>(sqlite3_column_bytes(s, i)))
                 : std::string();
    }
    Bytes col_blob(int i) const {
        const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(s, i));
        return p ? Bytes(p, p + sqlite3_column_bytes(s, i)) : Bytes();
    }
    std::int64_t col_int(int i) const { return sqlite3_column_int64(s, i); }
};

}  // namespace lwgate::store::sqlite_detail
