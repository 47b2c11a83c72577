// libcoap set-up for CoreLink: the library's process-wide state, the core's address, and what a
// device's client session needs (its local address and port; the session itself, UDP, DTLS-PSK
// or DTLS with the gateway's certificate, with upstream.ack_timeout and max_retransmit).
#pragma once

#include <coap3/coap.h>

#include <cstdint>
#include <optional>
#include <string>

#include "core_link/core_link.hpp"
#include "core_link/upstream_error.hpp"
#include "config/config.hpp"
#include "lwgate/util/result.hpp"

namespace lwgate::upstream {

// Once per process; later calls do nothing.
void init_libcoap();

// The first address of `host` (UpstreamErrc::cannot_resolve when it has none).
Result<coap_address_t, Error> resolve(const std::string& host, std::uint16_t port);

// Where a device's session binds.
struct LocalBinding {
    coap_address_t address;
    bool kernel_chooses = false;  // hand libcoap no local address: connect() picks one
};

// `address` (empty: any) and `port` (0: the kernel chooses a free one) in the family of
// `server`; UpstreamErrc::bad_local_address or no_local_port when it cannot be had.
Result<LocalBinding, Error> local_binding(const coap_address_t& server, const std::string& address,
                                          std::uint16_t port);

struct ClientSessionSpec {
    const config::UpstreamConfig& config;
    bool secure;                            // coaps://
    const std::optional<UpstreamPsk>& psk;  // the device's own
    const std::string& endpoint;            // for errors
};

// A new client session on `ctx` toward `server`; UpstreamErrc::no_psk or cannot_open when it
// cannot be made.
Result<coap_session_t*, Error> new_client_session(coap_context_t* ctx, const LocalBinding& local,
                                                  const coap_address_t& server,
                                                  const ClientSessionSpec& spec);

}  // namespace lwgate::upstream
