// The store as a subscriber of one shard's registration hosts: it writes an endpoint's record
// when the relay's persistent state changed (DeviceRelay::persistent_generation(), or a new
// upstream port), erases it when the registration ends, and with store.ack_after_commit keeps
// the core's held requests whose ACK waits until the record holding them is committed. The
// bridge calls it after every event of a registration host; it never calls back.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

#include "lwgate/coap/message.hpp"
#include "lwm2m/device_relay.hpp"
#include "store/store.hpp"
#include "util/time_source.hpp"

namespace lwgate::lwm2m {

class StoreWriter {
  public:
    StoreWriter(store::Store& store, const TimeSource& time) : store_(store), time_(time) {}

    // What the store knows of a registration host now.
    struct HostState {
        const DeviceRelay& relay;
        std::uint16_t local_port;
        const std::string& local_address;
    };
    // Requests whose ACKs may go: the store committed the record that holds them.
    struct Release {
        std::string endpoint;
        std::vector<CoreRequestId> ids;
    };

    // What the writer keeps per registration host. The host's glue holds a pointer to it (one
    // lookup when the host starts, none per event); it lives until forgotten().
    struct Record;

    // A new registration host / one restored at start (the store holds its record already).
    Record& track(const std::string& endpoint);
    Record& restored(const store::DeviceRecord& record);
    // The Register relayed to the core (its query and object links go into the record).
    void register_sent(const std::string& endpoint, const coap::Message& request);
    // After every event of the registration host.
    void changed(Record& record, const HostState& host);
    // The registration host is gone: its record is erased. The store's number for the
    // erasure (0: nothing was stored), for a caller that waits until it is committed.
    std::uint64_t forgotten(const std::string& endpoint);
    // The endpoint moves to another instance: its newest state is written whatever changed
    // (the new owner continues from it) and the writer forgets it without erasing it. The
    // store's sequence number of that write.
    std::uint64_t handed_off(Record& record, const HostState& host);
    // The shared store may have lost the record (a Redis restarted without its data): it is
    // written again in full at the next change() check, under `epoch`.
    void rewrite(Record& record, std::uint64_t epoch) {
        record.owner_epoch = epoch;
        record.stored = false;
    }
    // The endpoint was taken by another instance: forgotten, nothing written or erased.
    void dropped(const std::string& endpoint) { records_.erase(endpoint); }
    // The store committed every write up to `sequence`.
    std::vector<Release> committed(std::uint64_t sequence);

    struct Record {
        std::uint64_t generation = 0;
        std::uint64_t sequence = 0;    // the store's number for the last write of the record
        std::uint16_t local_port = 0;  // written with the record: a new port is a change too
        std::string local_address;
        bool stored = false;
        std::string register_query;  // of the Register relayed to the core (b=U)
        coap::Bytes object_links;
        // store.ack_after_commit: held requests whose ACK waits for the next write's commit.
        std::vector<CoreRequestId> awaiting_commit;
        // The owner epoch every write carries (a cluster's shared store fences by it; 0: none).
        std::uint64_t owner_epoch = 0;
    };

  private:
    struct CommitWait {
        std::uint64_t sequence;
        Release release;
    };
    void write(Record& record, const HostState& host);
    store::DeviceRecord record_of(const Record& record, const HostState& host) const;
    // The number of the record's last write while the store has not committed it yet, else 0:
    // what a release of the endpoint must wait for (a write still queued behind the release
    // would be refused by the fence, and an erasure refused leaves a record of an ended
    // registration for the next owner to load).
    std::uint64_t uncommitted(const Record& record) const {
        return record.sequence > last_committed_ ? record.sequence : 0;
    }

    store::Store& store_;
    const TimeSource& time_;
    std::unordered_map<std::string, Record> records_;  // by endpoint
    std::uint64_t last_committed_ = 0;
    std::deque<CommitWait> waits_;  // by sequence
};

}  // namespace lwgate::lwm2m
