// The one writer of the credentials: every change is checked against the whole table (an
// identity or certificate name speaks for one endpoint only), written to the store, and only
// then applied to the table, one change at a time. The answer says which PSK identities stopped
// being valid, so that the caller closes the connections that authenticated with them: a key
// that is removed or retired must not keep a device connected for days.
//
// Rotation with an overlap. A TLS-PSK server picks the key by the identity the client names, and
// a handshake either matches that one key or fails: it cannot try two keys for one identity. So
// the overlap is by identity: rotate() adds the new identity and key next to the current ones
// (both accepted), retire() ends the overlap by removing the older. A rotation to the identity in
// use is refused (same_identity); put() replaces a key at once when no overlap is wanted.
//
// The YAML (`credentials`, `credentials_file`) seeds the table: seed() makes the entries marked
// from_config equal to it (added, changed, removed), and leaves alone what the admin API wrote
// (the API is where an operator changed it last; the YAML entry is reported as overridden).
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "credentials/credential_rules.hpp"
#include "credentials/credential_table.hpp"
#include "lwgate/util/result.hpp"
#include "store/store.hpp"

namespace lwgate::credentials {

struct ChangeOutcome {
    store::CredentialRecord record;  // as it is now (after a removal: as it was)
    bool created = false;
    std::vector<std::string> retired;  // identities no longer accepted
};

struct ImportOutcome {
    std::size_t created = 0;
    std::size_t replaced = 0;
    std::vector<std::string> retired;
};

struct SeedOutcome {
    std::size_t added = 0, changed = 0, removed = 0;
    std::vector<std::string> overridden;  // YAML entries the admin API has replaced
    std::vector<std::string> conflicts;   // YAML entries not applied, with the reason
    std::vector<std::string> retired;
};

class CredentialService {
  public:
    CredentialService(CredentialTable& table, store::Store& store) : table_(table), store_(store) {}

    // Start-up: the stored credentials into the table.
    Result<std::size_t, Error> load();
    // Whether the admin API may change credentials (the store keeps them).
    bool writable() const { return store_.keeps_credentials(); }

    // Creates or replaces the endpoint's entry with one key.
    Result<ChangeOutcome, Error> put(const CredentialInput& input, store::UnixMillis now);
    // Adds a newer key next to the current one (the oldest of two is dropped).
    Result<ChangeOutcome, Error> rotate(const std::string& endpoint, const std::string& identity,
                                        const std::string& key_hex, store::UnixMillis now);
    // Removes every key but the newest (or the one named), ending a rotation's overlap.
    Result<ChangeOutcome, Error> retire(const std::string& endpoint,
                                        const std::optional<std::string>& identity,
                                        store::UnixMillis now);
    Result<ChangeOutcome, Error> remove(const std::string& endpoint);
    // All or nothing: one transaction; an entry that exists is replaced.
    Result<ImportOutcome, Error> import(std::vector<store::CredentialRecord> records);
    // Start-up (after load) and SIGHUP: see the header comment. Without a store that keeps
    // credentials the table is seeded in memory only.
    Result<SeedOutcome, Error> seed(const std::vector<config::Credential>& yaml,
                                    store::UnixMillis now);

    // A store shared by several instances (store::Store::credential_changes): what any of them
    // wrote, into this table (already stored, so not written again). Returns the identities no
    // longer accepted, whose connections the caller closes.
    std::vector<std::string> apply_shared(const std::vector<store::CredentialChange>& changes);
    // The shared store's change log was trimmed past what this instance read: every entry again,
    // the table made equal to `records`.
    std::vector<std::string> replace_all(std::vector<store::CredentialRecord> records);

  private:
    Result<void, Error> check_free(const store::CredentialRecord& record,
                                   const std::vector<store::CredentialChange>& batch) const;
    Result<void, Error> commit(const std::vector<store::CredentialChange>& changes,
                               bool persist = true);

    CredentialTable& table_;
    store::Store& store_;
    std::mutex writer_;  // one change at a time: its checks hold until it is applied
};

// Identities `before` had that `after` has not (after may be null: all of them).
std::vector<std::string> retired_identities(const store::CredentialRecord& before,
                                            const store::CredentialRecord* after);

}  // namespace lwgate::credentials
