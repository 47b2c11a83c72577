#include <cstdlib>

#include "store/memory_store.hpp"
#include "store/sqlite_store.hpp"

namespace lwgate::store {

std::optional<std::filesystem::path> sqlite_path(const std::string& uri) {
    constexpr std::string_view scheme = "sqlite://";
    if (uri.rfind(scheme, 0) != 0) return std::nullopt;
    std::filesystem::path path = uri.substr(scheme.size());
    if (!path.is_absolute() || !path.has_filename()) return std::nullopt;
    return path;
}

Result<std::unique_ptr<Store>, Error> open_store(const std::string& uri) {
    if (uri == "memory:" || uri == "memory") return std::make_unique<MemoryStore>();
    auto path = sqlite_path(uri);
    if (!path) {
        return fail(Error{StoreErrc::bad_uri, "expected memory: or sqlite:///absolute/path.db"});
    }
    SqliteOptions options;
    if (const char* crash = std::getenv("LWGATE_STORE_CRASH_IN_BATCH")) {
        options.crash_in_batch = std::strtoull(crash, nullptr, 10);
    }
    auto opened = SqliteStore::open(*path, options);
    if (!opened) return fail(std::move(opened).error());
    return std::unique_ptr<Store>(std::move(opened).value());
}

}  // namespace lwgate::store
