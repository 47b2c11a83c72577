#include "bridge/store_writer.hpp"

#include <spdlog/spdlog.h>
#include <algorithm>

#include "bridge/record_time.hpp"
#include "lwgate/coap/tcp_codec.hpp"
#include "lwm2m/registration.hpp"

namespace lwgate::lwm2m {

using coap::Message;

namespace {

coap::Bytes token_bytes(const coap::Token& token) {
    const auto b = token.bytes();
    return {b.begin(), b.end()};
}

std::string query_string(const Message& request) {
    std::string out;
    for (const auto* o : request.find_options(coap::option::uri_query)) {
        if (!out.empty()) out += '&';
        out.append(o->value.begin(), o->value.end());
    }
    return out;
}

}  // namespace

StoreWriter::Record& StoreWriter::track(const std::string& endpoint) {
    return records_[endpoint];
}

StoreWriter::Record& StoreWriter::restored(const store::DeviceRecord& r) {
    auto& record = records_[r.endpoint];
    record.stored = true;
    record.register_query = r.register_query;
    record.object_links = r.object_links;
    record.local_port = r.local_port;
    record.local_address = r.local_address;
    record.owner_epoch = r.owner_epoch;
    return record;
}

void StoreWriter::register_sent(const std::string& endpoint, const Message& request) {
    auto it = records_.find(endpoint);
    if (it == records_.end()) return;
    it->second.register_query = query_string(request);
    it->second.object_links = request.payload();
}

void StoreWriter::changed(Record& record, const HostState& host) {
    const auto& endpoint = host.relay.endpoint();
    write(record, host);
    if (record.awaiting_commit.empty()) return;
    // The record written last (now, or earlier when nothing changed since) holds these requests:
    // their ACKs wait for its commit. Sequences only grow, so a wait queued behind a later one
    // is released at the latest with it.
    waits_.push_back({record.sequence, {endpoint, std::exchange(record.awaiting_commit, {})}});
}

std::uint64_t StoreWriter::forgotten(const std::string& endpoint) {
    auto it = records_.find(endpoint);
    if (it == records_.end()) return 0;
    std::uint64_t sequence = uncommitted(it->second);
    if (it->second.stored) {
        spdlog::debug("endpoint={} stored: erased", endpoint);
        sequence = store_.erase(endpoint, it->second.owner_epoch);
    }
    records_.erase(it);
    return sequence;
}

std::uint64_t StoreWriter::handed_off(Record& record, const HostState& host) {
    const std::string endpoint = host.relay.endpoint();
    std::uint64_t sequence = uncommitted(record);
    if (host.relay.registered()) {
        sequence = store_.put(record_of(record, host));
    } else if (record.stored) {
        sequence = store_.erase(endpoint, record.owner_epoch);
    }
    records_.erase(endpoint);  // `record` is gone from here on
    return sequence;
}

std::vector<StoreWriter::Release> StoreWriter::committed(std::uint64_t sequence) {
    last_committed_ = std::max(last_committed_, sequence);
    std::vector<Release> out;
    while (!waits_.empty() && waits_.front().sequence <= sequence) {
        out.push_back(std::move(waits_.front().release));
        waits_.pop_front();
    }
    return out;
}

void StoreWriter::write(Record& record, const HostState& host) {
    const auto& endpoint = host.relay.endpoint();
    if (!host.relay.registered()) {
        if (record.stored) {
            spdlog::debug("endpoint={} stored: erased", endpoint);
            record.sequence = store_.erase(endpoint, record.owner_epoch);
        }
        record.stored = false;
        return;
    }
    const auto generation = host.relay.persistent_generation();
    if (record.stored && generation == record.generation && host.local_port == record.local_port &&
        host.local_address == record.local_address) {
        return;
    }
    auto r = record_of(record, host);
    spdlog::debug("endpoint={} stored: observations={} held={}", endpoint, r.observations.size(),
                  r.queued.size());
    record.sequence = store_.put(std::move(r));
    record.stored = true;
    record.generation = generation;
    record.local_port = host.local_port;
    record.local_address = host.local_address;
}

store::DeviceRecord StoreWriter::record_of(const Record& record, const HostState& host) const {
    const RecordTime now(time_);
    auto s = host.relay.snapshot();
    store::DeviceRecord r;
    r.endpoint = host.relay.endpoint();
    r.location = std::move(s.location);
    r.lifetime = s.lifetime;
    r.deadline = now.to_wall(s.deadline);
    r.queue_mode = s.queue_mode;
    r.authenticated = s.authenticated;
    r.binding = std::move(s.binding);
    r.version = std::move(s.version);
    r.register_query = record.register_query;
    r.object_links = record.object_links;
    r.local_port = host.local_port;
    r.local_address = host.local_address;
    r.owner_epoch = record.owner_epoch;
    for (const auto& o : s.observations) {
        r.observations.push_back({token_bytes(o.request.token()), uri_path_string(o.request),
                                  o.observe_number, coap::encode(o.request)});
    }
    for (const auto& q : s.queued) {
        r.queued.push_back(
            {token_bytes(q.request.token()), coap::encode(q.request), now.to_wall(q.enqueued_at)});
    }
    return r;
}

}  // namespace lwgate::lwm2m
