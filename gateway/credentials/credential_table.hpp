// Every device's credentials in memory, shared by all shards: the TLS handshake looks a PSK
// identity up, the admission rules ask who an identity names, the core link takes the device's
// current key. Changed at run time (the admin API, a reload) by CredentialService only.
//
// Why a shared table under a reader-writer lock rather than an immutable copy per shard swapped
// on change (what lwgate did while the YAML was the only source): at a million entries a copy
// is hundreds of megabytes and seconds of work per change, and an import changes it thousands
// of times. Lookups take the lock shared (handshakes on all shards proceed together); a change
// holds it exclusively for one map update, microseconds.
//
// Memory: entries ordered by endpoint (listing pages in endpoint order, a cursor is an endpoint
// name) in a set keyed by the record's own endpoint, not a map that would hold the name twice,
// plus a hash index from PSK identity (and certificate name) to the entry, whose keys view the
// entry's own strings: about 380 bytes per entry (docs/performance.md).
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lwm2m/admission.hpp"
#include "store/store.hpp"

namespace lwgate::credentials {

using store::CredentialRecord;
using store::PskKeyRecord;

class CredentialTable final : public lwm2m::IdentityLookup {
  public:
    CredentialTable() = default;
    CredentialTable(const CredentialTable&) = delete;
    CredentialTable& operator=(const CredentialTable&) = delete;

    // The key of a PSK identity (any of an entry's keys), copied into `key`: false when unknown.
    bool psk_key(std::string_view identity, std::vector<std::uint8_t>& key) const;
    std::optional<std::string> endpoint_of_psk(const std::string& identity) const override;
    std::optional<std::string> endpoint_of_certificate(const std::string& name) const override;
    bool has_credentials(const std::string& endpoint) const override;
    // The endpoint's newest key: what lwgate presents to the core as the device (DTLS-PSK).
    std::optional<PskKeyRecord> current_psk(const std::string& endpoint) const;

    std::optional<CredentialRecord> get(const std::string& endpoint) const;
    // Up to `limit` entries after `after` (exclusive; empty: from the start), in endpoint order.
    std::vector<CredentialRecord> page(const std::string& after, std::size_t limit) const;
    std::size_t size() const;

    // Who holds `identity` / `certificate_name` now, for a change's checks (nullopt: free).
    std::optional<std::string> holder_of_identity(std::string_view identity) const;
    std::optional<std::string> holder_of_certificate(std::string_view name) const;

    // Replace (record) or remove (nullopt) entries. The caller (CredentialService) has checked
    // that no identity or certificate name ends up on two endpoints.
    void apply(const std::vector<store::CredentialChange>& changes);

  private:
    struct ByEndpoint {
        using is_transparent = void;
        static std::string_view key(const CredentialRecord& r) { return r.endpoint; }
        static std::string_view key(std::string_view endpoint) { return endpoint; }
        bool operator()(const auto& a, const auto& b) const { return key(a) < key(b); }
    };
    using Entries = std::set<CredentialRecord, ByEndpoint>;
    void unindex(const CredentialRecord& record);
    void index(const CredentialRecord& record);
    void apply_one(const store::CredentialChange& change);

    mutable std::shared_mutex mutex_;
    Entries entries_;
    // Views into entries_'s strings: a set node never moves, and an entry is unindexed before
    // it changes and indexed again after.
    std::unordered_map<std::string_view, const CredentialRecord*> by_identity_;
    std::unordered_map<std::string_view, const CredentialRecord*> by_certificate_;
};

}  // namespace lwgate::credentials
