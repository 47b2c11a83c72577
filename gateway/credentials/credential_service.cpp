#include "credentials/credential_service.hpp"

#include <algorithm>
#include <set>
#include <unordered_set>

#include "credentials/credential_error.hpp"

namespace lwgate::credentials {

namespace {

Unexpected<Error> error(CredentialErrc code, std::string detail) {
    return fail(Error{code, std::move(detail)});
}

bool has_identity(const store::CredentialRecord& record, std::string_view identity) {
    return std::any_of(record.keys.begin(), record.keys.end(),
                       [&](const auto& k) { return k.identity == identity; });
}

bool in_batch(const std::vector<store::CredentialChange>& batch, const std::string& endpoint) {
    return std::any_of(batch.begin(), batch.end(),
                       [&](const auto& c) { return c.endpoint == endpoint; });
}

}  // namespace

std::vector<std::string> retired_identities(const store::CredentialRecord& before,
                                            const store::CredentialRecord* after) {
    std::vector<std::string> out;
    for (const auto& k : before.keys)
        if (!after || !has_identity(*after, k.identity)) out.push_back(k.identity);
    return out;
}

Result<std::size_t, Error> CredentialService::load() {
    auto loaded = store_.load_credentials();
    if (!loaded) return fail(std::move(loaded).error());
    std::vector<store::CredentialChange> changes;
    changes.reserve(loaded->size());
    for (auto& record : *loaded) {
        auto endpoint = record.endpoint;
        changes.push_back({std::move(endpoint), std::move(record)});
    }
    table_.apply(changes);
    return changes.size();
}

// An identity or certificate name held by another endpoint is free only when that endpoint is
// replaced in the same batch (a batch never gives one identity to two endpoints: the import
// parser refuses that).
Result<void, Error> CredentialService::check_free(
    const store::CredentialRecord& record,
    const std::vector<store::CredentialChange>& batch) const {
    for (const auto& k : record.keys) {
        const auto holder = table_.holder_of_identity(k.identity);
        if (holder && *holder != record.endpoint && !in_batch(batch, *holder))
            return error(CredentialErrc::identity_taken,
                         "psk_identity '" + k.identity + "' belongs to endpoint '" + *holder + "'");
    }
    if (record.certificate_name.empty()) return {};
    const auto holder = table_.holder_of_certificate(record.certificate_name);
    if (holder && *holder != record.endpoint && !in_batch(batch, *holder))
        return error(CredentialErrc::certificate_taken,
                     "certificate_name '" + record.certificate_name + "' belongs to endpoint '" +
                         *holder + "'");
    return {};
}

Result<void, Error> CredentialService::commit(const std::vector<store::CredentialChange>& changes,
                                              bool persist) {
    if (persist) {
        if (!store_.keeps_credentials())
            return error(CredentialErrc::unsupported,
                         "the store (store.uri) does not keep credentials: change them in the "
                         "YAML and reload");
        if (auto written = store_.write_credentials(changes); !written) {
            // Another instance sharing the store was first (its change reaches this table
            // through the store's change feed): the same answer as from this table's check.
            if (written.error().code == store::StoreErrc::name_taken)
                return error(CredentialErrc::identity_taken, written.error().detail);
            return error(CredentialErrc::store_failed, written.error().message());
        }
    }
    table_.apply(changes);
    return {};
}

Result<ChangeOutcome, Error> CredentialService::put(const CredentialInput& input,
                                                    store::UnixMillis now) {
    auto record = make_record(input, now);
    if (!record) return fail(std::move(record).error());
    std::lock_guard lock(writer_);
    const std::vector<store::CredentialChange> batch{{record->endpoint, *record}};
    if (auto free = check_free(*record, batch); !free) return fail(std::move(free).error());
    const auto before = table_.get(record->endpoint);
    if (auto done = commit(batch); !done) return fail(std::move(done).error());
    ChangeOutcome out{std::move(record).value(), !before, {}};
    if (before) out.retired = retired_identities(*before, &out.record);
    return out;
}

Result<ChangeOutcome, Error> CredentialService::rotate(const std::string& endpoint,
                                                       const std::string& identity,
                                                       const std::string& key_hex,
                                                       store::UnixMillis now) {
    std::lock_guard lock(writer_);
    auto before = table_.get(endpoint);
    if (!before) return error(CredentialErrc::not_found, "no credentials for " + endpoint);
    if (has_identity(*before, identity))
        return error(CredentialErrc::same_identity,
                     "'" + identity +
                         "' is in use: a rotation with an overlap needs a new identity (a TLS-PSK "
                         "server cannot try two keys for one identity); to replace the key at "
                         "once, add the credential again");
    auto fresh = make_record({endpoint, identity, key_hex, before->certificate_name}, now);
    if (!fresh) return fail(std::move(fresh).error());
    auto after = *before;
    after.keys.push_back(std::move(fresh->keys.front()));
    if (after.keys.size() > 2) after.keys.erase(after.keys.begin());
    after.from_config = false;
    after.updated = now;
    const std::vector<store::CredentialChange> batch{{endpoint, after}};
    if (auto free = check_free(after, batch); !free) return fail(std::move(free).error());
    if (auto done = commit(batch); !done) return fail(std::move(done).error());
    auto retired = retired_identities(*before, &after);
    return ChangeOutcome{std::move(after), false, std::move(retired)};
}

Result<ChangeOutcome, Error> CredentialService::retire(const std::string& endpoint,
                                                       const std::optional<std::string>& identity,
                                                       store::UnixMillis now) {
    std::lock_guard lock(writer_);
    auto before = table_.get(endpoint);
    if (!before) return error(CredentialErrc::not_found, "no credentials for " + endpoint);
    auto after = *before;
    if (identity) {
        if (!has_identity(after, *identity))
            return error(CredentialErrc::nothing_to_retire,
                         endpoint + " has no key with identity '" + *identity + "'");
        std::erase_if(after.keys, [&](const auto& k) { return k.identity == *identity; });
    } else if (after.keys.size() > 1) {
        after.keys.erase(after.keys.begin(), after.keys.end() - 1);
    }
    if (after.keys.size() == before->keys.size() || after.keys.empty())
        return error(CredentialErrc::nothing_to_retire,
                     endpoint + ": the only key cannot be retired (remove the credential)");
    after.from_config = false;
    after.updated = now;
    if (auto done = commit({{endpoint, after}}); !done) return fail(std::move(done).error());
    auto retired = retired_identities(*before, &after);
    return ChangeOutcome{std::move(after), false, std::move(retired)};
}

Result<ChangeOutcome, Error> CredentialService::remove(const std::string& endpoint) {
    std::lock_guard lock(writer_);
    auto before = table_.get(endpoint);
    if (!before) return error(CredentialErrc::not_found, "no credentials for " + endpoint);
    if (auto done = commit({{endpoint, std::nullopt}}); !done) return fail(std::move(done).error());
    auto retired = retired_identities(*before, nullptr);
    return ChangeOutcome{std::move(before).value(), false, std::move(retired)};
}

Result<ImportOutcome, Error> CredentialService::import(
    std::vector<store::CredentialRecord> records) {
    std::lock_guard lock(writer_);
    std::vector<store::CredentialChange> batch;
    batch.reserve(records.size());
    std::unordered_set<std::string> identities;
    for (auto& record : records) {
        for (const auto& k : record.keys)
            if (!identities.insert(k.identity).second)
                return error(CredentialErrc::identity_taken,
                             "psk_identity '" + k.identity + "' appears twice");
        auto endpoint = record.endpoint;
        batch.push_back({std::move(endpoint), std::move(record)});
    }
    ImportOutcome out;
    for (const auto& change : batch) {
        if (auto free = check_free(*change.record, batch); !free)
            return fail(std::move(free).error());
        if (auto before = table_.get(change.endpoint)) {
            ++out.replaced;
            auto retired = retired_identities(*before, &*change.record);
            out.retired.insert(out.retired.end(), retired.begin(), retired.end());
        } else {
            ++out.created;
        }
    }
    if (auto done = commit(batch); !done) return fail(std::move(done).error());
    return out;
}

std::vector<std::string> CredentialService::apply_shared(
    const std::vector<store::CredentialChange>& changes) {
    std::lock_guard lock(writer_);
    std::vector<std::string> retired;
    for (const auto& change : changes) {
        const auto before = table_.get(change.endpoint);
        if (!before) continue;
        auto gone = retired_identities(*before, change.record ? &*change.record : nullptr);
        retired.insert(retired.end(), gone.begin(), gone.end());
    }
    table_.apply(changes);
    return retired;
}

std::vector<std::string> CredentialService::replace_all(
    std::vector<store::CredentialRecord> records) {
    std::vector<store::CredentialChange> changes;
    std::set<std::string> kept;
    for (auto& record : records) {
        kept.insert(record.endpoint);
        auto endpoint = record.endpoint;
        changes.push_back({std::move(endpoint), std::move(record)});
    }
    for (std::string after;;) {  // what the store no longer has
        const auto page = table_.page(after, 1000);
        for (const auto& r : page)
            if (!kept.count(r.endpoint)) changes.push_back({r.endpoint, std::nullopt});
        if (page.size() < 1000) break;
        after = page.back().endpoint;
    }
    return apply_shared(changes);
}

}  // namespace lwgate::credentials
