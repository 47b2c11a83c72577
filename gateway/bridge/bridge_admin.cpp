// The admin API's reads of the bridge (declared at the end of Bridge's public section). Kept
// apart from bridge.cpp: nothing here changes relay state.
#include "bridge/bridge.hpp"

namespace lwgate::lwm2m {

std::optional<std::string> Bridge::admin_endpoint_of(ConnectionId conn) const {
    auto it = bindings_.find(conn);
    if (it == bindings_.end() || !it->second.registered) return std::nullopt;
    return it->second.endpoint;
}

bool Bridge::admin_close_expected(ConnectionId conn) const {
    auto it = bindings_.find(conn);
    return it != bindings_.end() && it->second.registered && it->second.queue_mode;
}

std::vector<DeviceSample> Bridge::admin_devices(const std::optional<std::string>& endpoint) const {
    std::vector<DeviceSample> out;
    for (const auto& [name, device] : devices_) {
        if (endpoint && name != *endpoint) continue;
        const auto& relay = device->relay;
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
        d.upstream_local_port = device->upstream.local_port();
        d.observations = relay.observations();
        out.push_back(std::move(d));
    }
    return out;
}

}  // namespace lwgate::lwm2m
