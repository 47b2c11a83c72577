// One endpoint on its owner shard: its DeviceRelay, the Block-wise state toward the core, and
// the executor of the relay's actions, talking to the device, the core and the observers only
// through the ports (ports.hpp). Every event handler takes `now`, runs the relay, executes what
// it decided and returns; the glue then asks next_deadline() for its timer and finished() for
// whether the host can go. No Asio, no libcoap, no clock: unit-tested with fake ports.
//
// Two kinds share this class: a registration (RegistrationHost: it lives as long as the relay
// has a registration or work) and a bootstrap (BootstrapHost: a relay toward the bootstrap
// server that lives until the device answered Bootstrap-Finish, plus a moment for that answer
// to reach the server, or until it has been silent for bootstrap_timeout).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "endpoint/ports.hpp"
#include "lwm2m/block_transfer.hpp"
#include "lwm2m/device_relay.hpp"

namespace lwgate::lwm2m {

class EndpointHost {
  public:
    enum class Kind { registration, bootstrap };

    struct Ports {
        DevicePort& device;
        CorePort& core;
        HostObserver& observer;
    };
    EndpointHost(std::string endpoint, const RelayParams& params, std::uint64_t token_seed,
                 RelayCounters* counters, Ports ports);
    virtual ~EndpointHost() = default;
    EndpointHost(const EndpointHost&) = delete;
    EndpointHost& operator=(const EndpointHost&) = delete;

    virtual Kind kind() const = 0;
    const std::string& endpoint() const { return relay_.endpoint(); }
    const DeviceRelay& relay() const { return relay_; }
    // Restore (persistence) loads the relay before the first event.
    DeviceRelay& relay_for_restore() { return relay_; }

    // Device side.
    void on_device_request(ConnectionId conn, coap::Message&& request, TimePoint now,
                           bool authenticated);
    void on_device_response(ConnectionId conn, coap::Message&& response, TimePoint now);
    void on_device_disconnected(ConnectionId conn, TimePoint now);
    // Core side.
    void on_core_request(CoreRequestId id, coap::Message&& request, TimePoint now);
    void on_core_request_acknowledged(CoreRequestId id, TimePoint now);
    void on_core_response(coap::Message&& response, TimePoint now);
    void on_core_failure(const coap::Token& token, std::uint8_t code_for_device,
                         std::string_view reason, TimePoint now);
    void on_core_reset(const coap::Token& token, TimePoint now);
    // A Block2 continuation the host serves from its cache, without the device.
    std::optional<coap::Message> answer_locally(const coap::Message& request, TimePoint now);
    void on_upstream_replaced(TimePoint now);
    void on_tick(TimePoint now);
    // Executes what the relay decided without a new event (after a restore).
    void settle(TimePoint now) { run(now); }

    // When the glue must call on_tick() next.
    virtual TimePoint next_deadline() const = 0;
    // Whether the host is done and the glue may forget it (re-checked by the glue before it
    // does: it forgets from outside the callback that reported it).
    virtual bool finished(TimePoint now) const = 0;

  protected:
    // A message of the device arrived; a request of the core was handed to the relay; an answer
    // to one goes to the core.
    virtual void device_seen(TimePoint) {}
    virtual void core_request_seen(CoreRequestId, const coap::Message&, TimePoint) {}
    virtual void answered(CoreRequestId, const coap::Message&, TimePoint) {}

  private:
    void run(TimePoint now);
    void execute(ToDevice& action, TimePoint now);
    void execute(ToCore& action, TimePoint now);
    void execute(RespondCore& action, TimePoint now);
    void execute(NotifyCore& action, TimePoint now);
    void execute(Registered& action, TimePoint now);
    void execute(CloseDevice& action, TimePoint now);
    void execute(Forget& action, TimePoint now);
    void send_to_core(coap::Message&& request);

    DeviceRelay relay_;
    Ports ports_;
    // Block-wise toward the core (block_transfer.hpp): bodies being served in Block2, uploads
    // in Block1 by upstream token.
    Block2Cache block2_;
    std::unordered_map<std::string, Block1Upload> uploads_;
};
using EndpointHostPtr = std::unique_ptr<EndpointHost>;

// A registration: lives while its relay is registered or has work.
class RegistrationHost final : public EndpointHost {
  public:
    using EndpointHost::EndpointHost;
    Kind kind() const override { return Kind::registration; }
    TimePoint next_deadline() const override { return relay().next_deadline(); }
    // The relay's Forget action always comes with an idle relay, so idle() is the one test.
    bool finished(TimePoint) const override { return relay().idle(); }
};

// A bootstrap (POST /bs?ep=): see the class comment above.
class BootstrapHost final : public EndpointHost {
  public:
    // Silence that ends a bootstrap; how long one lingers after Bootstrap-Finish was answered.
    static constexpr Duration timeout{300'000};
    static constexpr Duration linger{5'000};

    BootstrapHost(std::string endpoint, const RelayParams& params, std::uint64_t token_seed,
                  RelayCounters* counters, Ports ports, TimePoint now)
        : EndpointHost(std::move(endpoint), params, token_seed, counters, ports),
          until_(now + timeout) {}
    Kind kind() const override { return Kind::bootstrap; }
    TimePoint next_deadline() const override { return std::min(relay().next_deadline(), until_); }
    bool finished(TimePoint now) const override { return now >= until_; }

  private:
    // Any message of the device or request of the server keeps it going.
    void device_seen(TimePoint now) override { until_ = now + timeout; }
    void core_request_seen(CoreRequestId id, const coap::Message& request, TimePoint now) override;
    void answered(CoreRequestId id, const coap::Message& response, TimePoint now) override;

    TimePoint until_;
    std::optional<CoreRequestId> finish_id_;  // the core's Bootstrap-Finish (POST /bs)
};

}  // namespace lwgate::lwm2m
