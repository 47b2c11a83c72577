// The admin API's reads of the bridge (declared at the end of Bridge's public section). Kept
// apart from bridge.cpp: nothing here changes relay state.
#include "bridge/bridge.hpp"
#include "bridge/bridge_hosted.hpp"

namespace lwgate::lwm2m {

std::optional<std::string> Bridge::admin_endpoint_of(ConnectionId conn) const {
    return router_.registered_endpoint(conn);
}

bool Bridge::admin_close_expected(ConnectionId conn) const {
    return router_.close_expected(conn);
}

std::vector<DeviceSample> Bridge::admin_devices(const std::optional<std::string>& endpoint) const {
    std::vector<DeviceSample> out;
    for (const auto& [name, hosts] : endpoints_) {
        if (!hosts.registration || (endpoint && name != *endpoint)) continue;
        const auto& relay = hosts.registration->host().relay();
        DeviceSample d;
        d.endpoint = name;
        d.shard = shard_;
        d.registered = relay.registered();
        for (const auto& segment : relay.location())
            d.location += "/" + segment;
        d.lifetime = relay.lifetime();
        d.registration_deadline = relay.registration_deadline();
        d.binding = relay.binding();
        d.version = relay.version();
        d.queue_mode = relay.queue_mode();
        d.queued = relay.queued();
        d.in_flight = relay.in_flight();
        d.connection = relay.connection();
        d.upstream_local_port = hosts.registration->upstream.local_port();
        d.observations = relay.observations();
        out.push_back(std::move(d));
    }
    return out;
}

}  // namespace lwgate::lwm2m
