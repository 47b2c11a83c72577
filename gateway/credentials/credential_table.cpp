#include "credentials/credential_table.hpp"

#include <mutex>

namespace lwgate::credentials {

bool CredentialTable::psk_key(std::string_view identity, std::vector<std::uint8_t>& key) const {
    std::shared_lock lock(mutex_);
    const auto it = by_identity_.find(identity);
    if (it == by_identity_.end()) return false;
    for (const auto& k : it->second->keys) {
        if (k.identity == identity) {
            key = k.key;
            return true;
        }
    }
    return false;
}

std::optional<std::string> CredentialTable::endpoint_of_psk(const std::string& identity) const {
    return holder_of_identity(identity);
}

std::optional<std::string> CredentialTable::endpoint_of_certificate(const std::string& name) const {
    return holder_of_certificate(name);
}

bool CredentialTable::has_credentials(const std::string& endpoint) const {
    std::shared_lock lock(mutex_);
    return entries_.find(endpoint) != entries_.end();
}

std::optional<PskKeyRecord> CredentialTable::current_psk(const std::string& endpoint) const {
    std::shared_lock lock(mutex_);
    const auto it = entries_.find(endpoint);
    if (it == entries_.end() || it->keys.empty()) return std::nullopt;
    return it->keys.back();
}

std::optional<CredentialRecord> CredentialTable::get(const std::string& endpoint) const {
    std::shared_lock lock(mutex_);
    const auto it = entries_.find(endpoint);
    if (it == entries_.end()) return std::nullopt;
    return *it;
}

std::vector<CredentialRecord> CredentialTable::page(const std::string& after,
                                                    std::size_t limit) const {
    std::shared_lock lock(mutex_);
    std::vector<CredentialRecord> out;
    auto it = after.empty() ? entries_.begin() : entries_.upper_bound(after);
    for (; it != entries_.end() && out.size() < limit; ++it)
        out.push_back(*it);
    return out;
}

std::size_t CredentialTable::size() const {
    std::shared_lock lock(mutex_);
    return entries_.size();
}

std::optional<std::string> CredentialTable::holder_of_identity(std::string_view identity) const {
    std::shared_lock lock(mutex_);
    const auto it = by_identity_.find(identity);
    if (it == by_identity_.end()) return std::nullopt;
    return it->second->endpoint;
}

std::optional<std::string> CredentialTable::holder_of_certificate(std::string_view name) const {
    std::shared_lock lock(mutex_);
    const auto it = by_certificate_.find(name);
    if (it == by_certificate_.end()) return std::nullopt;
    return it->second->endpoint;
}

void CredentialTable::unindex(const CredentialRecord& record) {
    for (const auto& k : record.keys) {
        const auto it = by_identity_.find(k.identity);
        if (it != by_identity_.end() && it->second == &record) by_identity_.erase(it);
    }
    if (!record.certificate_name.empty()) {
        const auto it = by_certificate_.find(record.certificate_name);
        if (it != by_certificate_.end() && it->second == &record) by_certificate_.erase(it);
    }
}

void CredentialTable::index(const CredentialRecord& record) {
    for (const auto& k : record.keys)
        by_identity_[k.identity] = &record;
    if (!record.certificate_name.empty()) by_certificate_[record.certificate_name] = &record;
}

void CredentialTable::apply_one(const store::CredentialChange& change) {
    auto it = entries_.find(change.endpoint);
    if (it != entries_.end()) {
        unindex(*it);
        if (!change.record) {
            entries_.erase(it);
            return;
        }
        // A set's elements are const: the node is taken out, changed and put back (no
        // allocation; the index points at it again below).
        auto node = entries_.extract(it);
        node.value() = *change.record;
        node.value().endpoint = change.endpoint;  // the set's key, whatever the record says
        index(*entries_.insert(std::move(node)).position);
        return;
    }
    if (!change.record) return;
    auto record = *change.record;
    record.endpoint = change.endpoint;
    index(*entries_.insert(std::move(record)).first);
}

// Removals first: an identity that moves between two endpoints in one batch must not be
// unindexed after its new holder indexed it.
void CredentialTable::apply(const std::vector<store::CredentialChange>& changes) {
    std::unique_lock lock(mutex_);
    for (const auto& change : changes) {
        const auto it = entries_.find(change.endpoint);
        if (it != entries_.end()) unindex(*it);
    }
    for (const auto& change : changes)
        apply_one(change);
}

}  // namespace lwgate::credentials
