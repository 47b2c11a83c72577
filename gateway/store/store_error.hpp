// Typed errors of the store (open_store, SqliteStore::open, load_all), for std::error_code. The
// words (which file, which permission, SQLite's own message) are in Error::detail; the code says
// what kind of problem it is, so that a caller can react without parsing text.
//
// The category is defined in this header (inline: still one instance per program), which keeps
// the codes usable from anything that includes store.hpp without linking the store library.
#pragma once

#include <string>
#include <system_error>

namespace lwgate::store {

enum class StoreErrc {
    bad_uri = 1,        // store.uri is neither memory: nor sqlite:///absolute/path.db
    cannot_create,      // the database's directory could not be created
    permission_denied,  // the directory or a database file is not writable by lwgate's user
    cannot_open,        // SQLite cannot open the file or set it up (not a database, no WAL)
    locked,             // another process holds the database (one lwgate per file)
    schema,             // schema newer than this lwgate, or reading / upgrading it failed
    io,                 // reading the stored records failed
    write_failed,       // a synchronous write (credentials) failed and was rolled back
    unsupported,        // the store cannot do this (credentials in a store without them)
    name_taken,         // a shared store: another instance gave the identity to another endpoint
};

class StoreCategory final : public std::error_category {
  public:
    const char* name() const noexcept override { return "lwgate.store"; }
    std::string message(int value) const override {
        switch (static_cast<StoreErrc>(value)) {
            case StoreErrc::bad_uri:
                return "bad store URI";
            case StoreErrc::cannot_create:
                return "cannot create the store's directory";
            case StoreErrc::permission_denied:
                return "store not writable";
            case StoreErrc::cannot_open:
                return "cannot open the store";
            case StoreErrc::locked:
                return "store in use by another process";
            case StoreErrc::schema:
                return "store schema error";
            case StoreErrc::io:
                return "store read error";
            case StoreErrc::write_failed:
                return "store write error";
            case StoreErrc::unsupported:
                return "not supported by this store";
            case StoreErrc::name_taken:
                return "held by another endpoint in the shared store";
        }
        return "unknown lwgate.store error " + std::to_string(value);
    }
};

inline const std::error_category& store_category() noexcept {
    // Inline with a function-local static: every TU gets the same category address, which
    // error_code comparison relies on.
    static const StoreCategory category;
    return category;
}

inline std::error_code make_error_code(StoreErrc e) noexcept {
    return {static_cast<int>(e), store_category()};
}

}  // namespace lwgate::store

template <>
struct std::is_error_code_enum<lwgate::store::StoreErrc> : std::true_type {};
