// The bridge's upstream sockets: which local address and port of upstream.bind a session
// opens on, and which slot of the port table a session's address and port are.
#include <algorithm>

#include "bridge/bridge.hpp"

namespace lwgate::lwm2m {

Result<void, Error> Bridge::open_upstream(upstream::UpstreamSession& upstream,
                                          const std::string& endpoint) {
    const auto psk = psk_of(endpoint);
    // A port of the configured range may be taken by another program: try the next ones.
    Result<void, Error> opened = fail(Error{make_error_code(upstream::UpstreamErrc::no_local_port),
                                            "no free local port in upstream.bind.ports"});
    for (std::size_t attempt = 0; attempt < 16 && !opened; ++attempt) {
        const auto port = ports_.acquire();
        if (!port) break;
        opened = core_link_.open(upstream, endpoint, psk, bind_address(port->address), port->port);
        if (!opened) {
            ports_.release(*port);
            if (!ports_.ranged()) break;
        }
    }
    return opened;
}

const std::string& Bridge::bind_address(std::uint16_t index) const {
    static const std::string any;
    const auto& addresses = config_.upstream.bind_addresses;
    return index < addresses.size() ? addresses[index] : any;
}

LocalPort Bridge::local_slot(const std::string& address, std::uint16_t port) const {
    // An address that is no longer configured (a restored session's) maps to no slot.
    const auto& addresses = config_.upstream.bind_addresses;
    const auto it = std::find(addresses.begin(), addresses.end(), address);
    return {static_cast<std::uint16_t>(it - addresses.begin()), port};
}

LocalPort Bridge::local_of(const upstream::UpstreamSession& upstream) const {
    return local_slot(upstream.local_address(), upstream.local_port());
}

}  // namespace lwgate::lwm2m
