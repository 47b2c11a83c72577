// CredentialService::seed: the YAML's credentials into the table and the store (see
// credential_service.hpp for the rules).
#include <unordered_set>

#include "credentials/credential_service.hpp"

namespace lwgate::credentials {

namespace {

// The YAML entry as a record; the key keeps its `added` time when it did not change.
store::CredentialRecord from_yaml(const config::Credential& c,
                                  const std::optional<store::CredentialRecord>& before,
                                  store::UnixMillis now) {
    store::CredentialRecord r;
    r.endpoint = c.endpoint;
    store::UnixMillis added = now;
    if (before && before->keys.size() == 1 && before->keys.front().identity == c.psk_identity &&
        before->keys.front().key == c.psk_key)
        added = before->keys.front().added;
    r.keys.push_back({c.psk_identity, c.psk_key, added});
    r.from_config = true;
    r.updated = before && before->from_config && before->keys == r.keys ? before->updated : now;
    return r;
}

// Entries seeded from an earlier YAML that the YAML no longer has.
void removals(const CredentialTable& table, const std::unordered_set<std::string>& in_yaml,
              std::vector<store::CredentialChange>& changes, SeedOutcome& out) {
    std::string after;
    for (;;) {
        const auto page = table.page(after, 4096);
        if (page.empty()) return;
        for (const auto& record : page) {
            if (!record.from_config || in_yaml.count(record.endpoint)) continue;
            ++out.removed;
            auto retired = retired_identities(record, nullptr);
            out.retired.insert(out.retired.end(), retired.begin(), retired.end());
            changes.push_back({record.endpoint, std::nullopt});
        }
        after = page.back().endpoint;
    }
}

}  // namespace

Result<SeedOutcome, Error> CredentialService::seed(const std::vector<config::Credential>& yaml,
                                                   store::UnixMillis now) {
    std::lock_guard lock(writer_);
    SeedOutcome out;
    std::vector<store::CredentialChange> changes;
    std::unordered_set<std::string> in_yaml;
    for (const auto& c : yaml)
        in_yaml.insert(c.endpoint);
    // Removals first: an identity the YAML moves to another endpoint is free by then.
    removals(table_, in_yaml, changes, out);
    for (const auto& c : yaml) {
        const auto before = table_.get(c.endpoint);
        if (before && !before->from_config) {
            out.overridden.push_back(c.endpoint);
            continue;
        }
        auto record = from_yaml(c, before, now);
        if (before && *before == record) continue;
        if (auto free = check_free(record, changes); !free) {
            out.conflicts.push_back(c.endpoint + ": " + free.error().detail);
            continue;
        }
        ++(before ? out.changed : out.added);
        if (before) {
            auto retired = retired_identities(*before, &record);
            out.retired.insert(out.retired.end(), retired.begin(), retired.end());
        }
        changes.push_back({c.endpoint, std::move(record)});
    }
    if (changes.empty()) return out;
    if (auto done = commit(changes, store_.keeps_credentials()); !done)
        return fail(std::move(done).error());
    return out;
}

}  // namespace lwgate::credentials
