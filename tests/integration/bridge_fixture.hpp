// The LwM2M bridge fixture shared by the integration tests of the bridge: the real lwgate between
// the core simulator (libcoap, UDP/DTLS, tools/coresim) and device simulators (our codec,
// TCP/TLS, tools/devsim).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "free_port.hpp"
#include "gateway_fixture.hpp"
#include "lwgate/coresim/core_simulator.hpp"
#include "lwgate/devsim/device_simulator.hpp"

namespace lwgate::integration {

using coresim::CoreSimulator;
using devsim::DeviceOptions;
using devsim::DeviceSimulator;

inline std::string text(const coap::Bytes& b) {
    return {b.begin(), b.end()};
}

// The device received a GET with this Observe value for `path` (at or after request `from`).
inline bool device_got_observe(const DeviceSimulator& device, const std::string& path,
                               std::uint32_t observe, std::size_t from = 0) {
    return device
        .wait_for_request(
            [&](const devsim::ReceivedRequest& r) {
                return r.path == path && r.observe() == observe;
            },
            5s, from)
        .has_value();
}

// A device simulator with options `o`, registered (2.01) and seen by `core`.
inline std::unique_ptr<DeviceSimulator> register_at(CoreSimulator& core, const DeviceOptions& o) {
    auto device = std::make_unique<DeviceSimulator>(o);
    auto r = device->register_device(5s);
    EXPECT_TRUE(r.ok()) << r.detail;
    EXPECT_EQ(r.code(), code::created) << coap::describe(r.response);
    EXPECT_TRUE(core.wait_registration(o.endpoint, 5s));
    return device;
}

class BridgeTest : public GatewayTest {
  protected:
    void start_all(coresim::Options core_options = {}) {
        config.log_level = "debug";  // tests wait for connection close lines (debug level)
        core.start(core_options);
        config.extra_yaml +=
            "upstream:\n  uri: " + (core_options.dtls ? core.dtls_uri() : core.uri()) + "\n" +
            upstream_extra;
        start_gateway();
    }

    DeviceOptions device_options(std::string endpoint) {
        DeviceOptions o;
        o.endpoint = std::move(endpoint);
        o.port = gateway.port();
        o.lifetime = 300;
        return o;
    }

    // A device on listener `listener` that authenticates with TLS-PSK.
    DeviceOptions psk_device_options(std::string endpoint, std::string identity, coap::Bytes key,
                                     std::size_t listener = 0) {
        auto o = device_options(std::move(endpoint));
        o.port = gateway.port(listener);
        o.transport = devsim::Transport::tls;
        o.tls.psk_identity = std::move(identity);
        o.tls.psk_key = std::move(key);
        return o;
    }

    std::unique_ptr<DeviceSimulator> registered_device(std::string endpoint, bool queue = false) {
        auto o = device_options(std::move(endpoint));
        o.queue_mode = queue;
        return registered(o);
    }
    std::unique_ptr<DeviceSimulator> registered(const DeviceOptions& o) {
        return register_at(core, o);
    }

    std::string upstream_extra;
    CoreSimulator core;
};

}  // namespace lwgate::integration
