// Bridge::Hosted: one endpoint host and what the glue keeps for it. It is the host's device port
// (events posted to the shard that holds each connection) and core port (the endpoint's upstream
// session on a CoreLink). Included by the bridge's .cpp files only.
#pragma once

#include <asio/steady_timer.hpp>

#include "bridge/bridge.hpp"

namespace lwgate::lwm2m {

class Bridge::Hosted final : public DevicePort, public CorePort {
  public:
    Hosted(Bridge& bridge, upstream::CoreLink& core)
        : link(core), timer(bridge.io_), bridge_(bridge) {}

    EndpointHost& host() { return *host_; }
    const EndpointHost& host() const { return *host_; }
    void set_host(EndpointHostPtr host) { host_ = std::move(host); }
    bool bootstrap() const { return host_->kind() == EndpointHost::Kind::bootstrap; }
    // A device event: remembers where the connection lives, for the answers.
    void note_connection(ConnectionId conn, unsigned shard) { connection_shard_[conn] = shard; }
    void drop_connection(ConnectionId conn) { connection_shard_.erase(conn); }
    // Closes every connection of the device (`detail`: a literal).
    void close_connections(session::CloseReason reason, const char* detail) {
        for (const auto& [conn, shard] : std::exchange(connection_shard_, {}))
            bridge_.post(shard, CloseConnectionEvent{conn, reason, detail});
    }

    // DevicePort
    void send(ConnectionId conn, coap::Message&& message) override;
    void refuse(ConnectionId conn, coap::Message&& answer, Refusal reason,
                const std::string& endpoint) override;
    void registered(const Registered& registered) override;
    void close_expired(ConnectionId conn) override;
    // CorePort
    std::size_t max_payload(const coap::Message& message) const override;
    bool send(const coap::Message& request) override;
    void respond(CoreRequestId id, coap::Message&& response) override;
    void notify(const coap::Message& notification) override;
    bool acknowledge_held(CoreRequestId id) override;
    bool acknowledged(CoreRequestId id) const override;

    upstream::UpstreamSession upstream;
    upstream::CoreLink& link;  // the core, or the bootstrap server
    asio::steady_timer timer;
    TimePoint timer_at = never;
    std::vector<std::string> published_location;  // in the Directory
    bool published_authenticated = false;
    std::uint64_t published_revision = 0;  // DeviceRelay::registration_revision() published
    // A registration's record with the store writer (null without a store, or for a bootstrap).
    StoreWriter::Record* store_record = nullptr;

  private:
    template <class Event>
    void to_connection(ConnectionId conn, Event&& event) {
        auto it = connection_shard_.find(conn);
        if (it != connection_shard_.end()) bridge_.post(it->second, std::forward<Event>(event));
    }

    Bridge& bridge_;
    EndpointHostPtr host_;
    std::unordered_map<ConnectionId, unsigned> connection_shard_;
};

}  // namespace lwgate::lwm2m
