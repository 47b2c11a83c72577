// RedisStore's credentials: shared by every instance on the same Redis (credential_codec.hpp has
// the layout, credential_script.hpp the write). Synchronous, on a blocking connection of their
// own (the caller is an operator's request, the start or the change feed's thread, never a
// shard), opened at first use and again after a failure.
#include <optional>
#include <set>

#include <spdlog/spdlog.h>

#include "redis/credential_codec.hpp"
#include "redis/credential_script.hpp"
#include "redis/redis_blocking.hpp"
#include "redis/redis_store.hpp"

namespace lwgate::redis {
namespace {

// Entries read per call of credential_changes().
constexpr std::size_t changes_per_read = 10'000;

Error shape_error(const std::string& what, const RedisReply& r) {
    return Error{store::StoreErrc::io,
                 what + ": unexpected reply" + (r.is_error() ? ": " + r.str : std::string())};
}

// Where a reader is in the change log: the id of the last entry it read, and how many entries
// the log had had added by then. Redis 7.0 trims a capped stream without telling which entries
// went (XINFO's max-deleted-entry-id moves for XDEL only), but it counts what was ever added:
// more entries added since the cursor than the log holds now means some were trimmed unread.
struct LogPosition {
    std::string id = "0-0";
    unsigned long long added = 0;
};

std::string to_cursor(const LogPosition& p) {
    return p.id + " " + std::to_string(p.added);
}

std::optional<LogPosition> parse_cursor(const std::string& cursor) {
    const auto space = cursor.find(' ');
    if (space == std::string::npos) return std::nullopt;
    try {
        return LogPosition{cursor.substr(0, space), std::stoull(cursor.substr(space + 1))};
    } catch (...) {
        return std::nullopt;
    }
}

}  // namespace

Result<BlockingRedis*, Error> RedisStore::credential_connection() {
    if (!credential_redis_) {
        auto connected = BlockingRedis::connect(address_, options_.open_timeout);
        if (!connected) return fail(std::move(connected).error());
        credential_redis_ = std::make_unique<BlockingRedis>(std::move(connected).value());
    }
    return credential_redis_.get();
}

// Run `argv` on the credentials' connection; a connection that failed is dropped (opened again
// by the next call).
Result<RedisReply, Error> RedisStore::credential_command(const std::vector<std::string>& argv) {
    auto c = credential_connection();
    if (!c) return fail(std::move(c).error());
    auto r = (*c)->command(argv);
    if (!r) credential_redis_.reset();
    return r;
}

// The log's end as a cursor, and how many entries it holds now.
Result<std::pair<std::string, unsigned long long>, Error> RedisStore::change_log_state() {
    auto r = credential_command({"XINFO", "STREAM", std::string(credential_changes_key)});
    if (!r) return fail(std::move(r).error());
    LogPosition end;
    unsigned long long length = 0;
    if (r->is_error()) return std::pair{to_cursor(end), length};  // nothing written yet
    if (r->type != RedisReply::Type::array) return fail(shape_error("XINFO STREAM", *r));
    for (std::size_t i = 0; i + 1 < r->elements.size(); i += 2) {
        const auto& name = r->elements[i].str;
        const auto& value = r->elements[i + 1];
        if (name == "last-generated-id") end.id = value.str;
        if (name == "entries-added") end.added = static_cast<unsigned long long>(value.integer);
        if (name == "length") length = static_cast<unsigned long long>(value.integer);
    }
    return std::pair{to_cursor(end), length};
}

Result<std::vector<store::CredentialRecord>, Error> RedisStore::load_credentials() {
    std::lock_guard lock(credential_mutex_);
    // The log's end first: what changes while the entries are read comes again through the feed.
    auto end = change_log_state();
    if (!end) return fail(std::move(end).error());
    std::vector<store::CredentialRecord> records;
    std::string cursor = "0";
    do {
        auto r =
            credential_command({"HSCAN", std::string(credentials_key), cursor, "COUNT", "1000"});
        if (!r) return fail(std::move(r).error());
        if (r->type != RedisReply::Type::array || r->elements.size() != 2 ||
            r->elements[1].type != RedisReply::Type::array)
            return fail(shape_error("HSCAN", *r));
        cursor = r->elements[0].str;
        const auto& pairs = r->elements[1].elements;
        for (std::size_t i = 0; i + 1 < pairs.size(); i += 2) {
            auto record = decode_credential(pairs[i + 1].str);
            if (!record || record->endpoint != pairs[i].str) {
                spdlog::warn("store: skipping the credentials of '{}': {}", pairs[i].str,
                             record ? "another endpoint's" : record.error());
                continue;
            }
            records.push_back(std::move(*record));
        }
    } while (cursor != "0");
    loaded_cursor_ = std::move(end->first);
    return records;
}

Result<void, Error> RedisStore::write_credentials(
    const std::vector<store::CredentialChange>& changes) {
    if (changes.empty()) return {};
    std::vector<std::string> argv{"EVAL",
                                  std::string(write_credentials_script),
                                  "4",
                                  std::string(credentials_key),
                                  std::string(credential_names_key),
                                  std::string(credential_names_of_key),
                                  std::string(credential_changes_key),
                                  std::to_string(options_.credential_log_cap)};
    argv.reserve(argv.size() + 3 * changes.size());
    for (const auto& c : changes) {
        argv.push_back(c.endpoint);
        argv.push_back(c.record ? encode_credential(*c.record) : std::string());
        argv.push_back(c.record ? credential_names(*c.record) : std::string());
    }
    std::lock_guard lock(credential_mutex_);
    auto r = credential_command(argv);
    if (!r) return fail(Error{store::StoreErrc::write_failed, std::move(r).error().message()});
    if (r->type == RedisReply::Type::array && r->elements.size() == 3 &&
        r->elements[0].str == "taken")
        return fail(
            Error{store::StoreErrc::name_taken,
                  r->elements[1].str + " belongs to endpoint '" + r->elements[2].str + "'"});
    if (r->type != RedisReply::Type::array || r->elements.empty() || r->elements[0].str != "ok")
        return fail(Error{store::StoreErrc::write_failed, shape_error("EVAL", *r).detail});
    return {};
}

Result<store::CredentialFeed, Error> RedisStore::credential_changes(const std::string& from) {
    std::lock_guard lock(credential_mutex_);
    store::CredentialFeed feed{{}, false, from.empty() ? loaded_cursor_ : from};
    auto state = change_log_state();
    if (!state) return fail(std::move(state).error());
    const auto end = parse_cursor(state->first);
    auto at = parse_cursor(feed.cursor);
    // Entries trimmed unread, a damaged cursor, or a log that was deleted and begun again.
    if (!at || !end || end->added < at->added || end->added - at->added > state->second)
        return store::CredentialFeed{{}, true, std::move(state->first)};
    auto r = credential_command({"XREAD", "COUNT", std::to_string(changes_per_read), "STREAMS",
                                 std::string(credential_changes_key), at->id});
    if (!r) return fail(std::move(r).error());
    if (r->type == RedisReply::Type::nil) return feed;
    if (r->type != RedisReply::Type::array || r->elements.empty() ||
        r->elements[0].elements.size() != 2)
        return fail(shape_error("XREAD", *r));
    std::vector<std::string> endpoints;
    std::set<std::string> seen;
    for (const auto& entry : r->elements[0].elements[1].elements) {
        if (entry.elements.size() != 2) continue;
        at->id = entry.elements[0].str;
        ++at->added;
        feed.cursor = to_cursor(*at);
        const auto& fields = entry.elements[1].elements;
        if (fields.size() == 2 && seen.insert(fields[1].str).second)
            endpoints.push_back(fields[1].str);
    }
    if (endpoints.empty()) return feed;
    std::vector<std::string> get{"HMGET", std::string(credentials_key)};
    get.insert(get.end(), endpoints.begin(), endpoints.end());
    auto records = credential_command(get);
    if (!records) return fail(std::move(records).error());
    if (records->elements.size() != endpoints.size()) return fail(shape_error("HMGET", *records));
    for (std::size_t i = 0; i < endpoints.size(); ++i) {
        store::CredentialChange change{endpoints[i], std::nullopt};
        if (records->elements[i].type == RedisReply::Type::string) {
            auto decoded = decode_credential(records->elements[i].str);
            if (!decoded) {
                spdlog::warn("store: skipping the credentials of '{}': {}", endpoints[i],
                             decoded.error());
                continue;
            }
            change.record = std::move(*decoded);
        }
        feed.changes.push_back(std::move(change));
    }
    return feed;
}

}  // namespace lwgate::redis
