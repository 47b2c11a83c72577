// Persistent bridge state: what lwgate must remember across a restart or crash so that neither
// the devices nor the core pay for it (see docs/bridge.md "What survives a restart").
//
// One DeviceRecord per endpoint holds everything at once (registration, upstream port,
// observations, queued downlinks). A write replaces the endpoint's whole record: the record is
// small (a few observations and at most queue_mode.max_queued requests), and replacing it whole
// means a crash can never leave a registration with half of its observations.
//
// Writes are asynchronous (`put`/`erase` queue and return at once: a shard never waits on disk);
// `flush` waits until everything queued so far is durable. Loads are synchronous and happen at
// start-up only, before the shards run. Implementations are thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lwgate/util/result.hpp"
#include "store/store_error.hpp"

namespace lwgate::store {

using Bytes = std::vector<std::uint8_t>;

// Wall-clock milliseconds since the Unix epoch: deadlines must keep their meaning across a
// restart (steady clocks restart with the machine).
using UnixMillis = std::int64_t;

struct ObservationRecord {
    Bytes core_token;
    std::string path;           // "/3/0/13", for logs and the admin API
    std::uint32_t observe = 0;  // last Observe number sent to the core (throttled, see relay)
    Bytes request;              // the core's GET/FETCH Observe=0 as sent to the device
                                // (RFC 8323 frame, core's token): the device-side options
    friend bool operator==(const ObservationRecord&, const ObservationRecord&) = default;
};

struct QueuedRecord {
    Bytes core_token;
    Bytes request;  // RFC 8323 frame of the core's request, core's token
    UnixMillis enqueued_at = 0;
    friend bool operator==(const QueuedRecord&, const QueuedRecord&) = default;
};

struct DeviceRecord {
    std::string endpoint;
    // Registration at the core.
    std::vector<std::string> location;  // Location-Path segments ("rd", "5")
    std::uint32_t lifetime = 0;         // seconds
    UnixMillis deadline = 0;            // registration ends here unless updated
    bool queue_mode = false;
    std::string binding;         // as the device sent it
    std::string version;         // lwm2m=
    std::string register_query;  // the Register's Uri-Query as relayed ("ep=..&lt=..&b=U")
    bool authenticated = false;  // registered over TLS as the endpoint: plain TCP may not continue
    Bytes object_links;          // the Register's payload (link format)
    // Upstream: the local address ("" = any) and port of the device's socket toward the core.
    std::string local_address;
    std::uint16_t local_port = 0;
    std::vector<ObservationRecord> observations;
    std::vector<QueuedRecord> queued;  // in delivery order
    // The epoch this instance owns the endpoint under when the store is shared between instances
    // (cluster/lease_rules.hpp): a shared store writes the record only while that holds. Not
    // stored; 0: unfenced (a store of one instance).
    std::uint64_t owner_epoch = 0;
    friend bool operator==(const DeviceRecord&, const DeviceRecord&) = default;
};

// A device's credentials: what it may authenticate with (TLS-PSK identities and keys, a
// certificate name) and the endpoint those name. Keys are secrets: they are stored, never shown.
struct PskKeyRecord {
    std::string identity;
    Bytes key;             // 1..64 bytes
    UnixMillis added = 0;  // when the key was put or rotated in
    friend bool operator==(const PskKeyRecord&, const PskKeyRecord&) = default;
};

struct CredentialRecord {
    std::string endpoint;
    // Oldest first; the last is the current key (the one lwgate uses toward the core). Two
    // during a rotation's overlap, when the device may use either.
    std::vector<PskKeyRecord> keys;
    // A client certificate's CN or subjectAltName that speaks for this endpoint although it
    // does not equal it; empty: the certificate must name the endpoint itself.
    std::string certificate_name;
    bool from_config = false;  // seeded from the YAML `credentials`: the YAML may change it
    UnixMillis updated = 0;
    friend bool operator==(const CredentialRecord&, const CredentialRecord&) = default;
};

// One endpoint's credentials replaced (record) or removed (nullopt).
struct CredentialChange {
    std::string endpoint;
    std::optional<CredentialRecord> record;
};

// What other instances sharing the store changed since a cursor (Store::credential_changes).
struct CredentialFeed {
    std::vector<CredentialChange> changes;  // each endpoint as it is now
    // Changes were lost (the shared log was trimmed past the cursor): load every entry again.
    bool reload = false;
    std::string cursor;  // where the next call goes on
};

struct StoreStats {
    std::uint64_t puts = 0;          // put() calls
    std::uint64_t erases = 0;        // erase() calls
    std::uint64_t coalesced = 0;     // writes replaced by a newer one before reaching disk
    std::uint64_t batches = 0;       // transactions committed
    std::uint64_t rows_written = 0;  // device records written or deleted by those transactions
    std::uint64_t errors = 0;        // failed transactions (logged; retried with the next batch)
};

class Store {
  public:
    virtual ~Store() = default;

    // Every record, for start-up. On failure StoreErrc::io (or locked), the cause in detail.
    virtual Result<std::vector<DeviceRecord>, Error> load_all() = 0;
    // Queue a replacement of the endpoint's record / its removal. Never blocks on I/O. Returns
    // the write's sequence number (see set_commit_listener).
    virtual std::uint64_t put(DeviceRecord record) = 0;
    virtual std::uint64_t erase(const std::string& endpoint, std::uint64_t owner_epoch = 0) = 0;
    // A store shared between instances (Redis): writes carry DeviceRecord::owner_epoch and are
    // made only while `instance` (this run: `incarnation`) still owns the endpoint under it; a
    // refused one is dropped and reported to `refused` (on the store's thread: keep it short).
    // Other stores ignore it.
    using FenceListener = std::function<void(const std::string& endpoint, std::uint64_t epoch)>;
    virtual void set_fence(std::string instance, std::uint64_t incarnation, FenceListener refused) {
        (void)instance, (void)incarnation, (void)refused;
    }
    // Called after each commit with the sequence number up to which every write is durable, on
    // the store's own thread (or inside put() for a store without one): keep it short, post the
    // work to where it belongs. store.ack_after_commit waits for it before acknowledging.
    virtual void set_commit_listener(std::function<void(std::uint64_t committed)> listener) = 0;
    // Waits until every write queued before the call is committed (or failed). Shutdown, tests.
    virtual void flush() = 0;
    virtual StoreStats stats() const = 0;

    // Device credentials. Written synchronously on the caller's thread (an operator's request,
    // start-up, a reload; never a shard), all changes in one transaction: when the call
    // returns without an error they are durable. A store that cannot keep credentials answers
    // StoreErrc::unsupported (then they live in memory, from the YAML, and cannot be changed
    // through the admin API).
    virtual Result<std::vector<CredentialRecord>, Error> load_credentials() { return {}; }
    virtual Result<void, Error> write_credentials(const std::vector<CredentialChange>& changes) {
        (void)changes;
        return fail(Error{StoreErrc::unsupported, "this store does not keep credentials"});
    }
    virtual bool keeps_credentials() const { return false; }
    // A store shared by several instances (Redis): what was written since `cursor` (empty: since
    // load_credentials()), by any instance, this one included (applying one's own change again
    // changes nothing). Other stores have nothing to tell.
    virtual bool shares_credentials() const { return false; }
    virtual Result<CredentialFeed, Error> credential_changes(const std::string& cursor) {
        return CredentialFeed{{}, false, cursor};
    }
};

// "memory:" or "sqlite:///absolute/path.db". On failure a StoreErrc, and in detail the problem in
// words (not the key: the caller adds "store.uri") when the store cannot be opened or created.
Result<std::unique_ptr<Store>, Error> open_store(const std::string& uri);

}  // namespace lwgate::store
