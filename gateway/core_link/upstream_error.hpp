// Typed errors of the link to the core (CoreLink::start and open, and the libcoap set-up under
// them), for std::error_code. Error::detail keeps the words the log and the device's 5.02 carry;
// the code says what kind of problem it is, so that a caller (the bridge trying the next local
// port) can react without parsing text.
//
// The category is defined in this header (inline: still one instance per program), so that the
// codes are usable without linking the core_link library.
#pragma once

#include <string>
#include <system_error>

namespace lwgate::upstream {

enum class UpstreamErrc {
    no_dtls = 1,        // upstream.uri is coaps:// and libcoap was built without DTLS
    cannot_resolve,     // the core's host name does not resolve
    bad_local_address,  // a local address to bind is not an IPv4 or IPv6 address
    no_local_port,      // no local port could be had on the address (socket or bind failed)
    no_context,         // libcoap cannot make a context, or it has no epoll descriptor
    no_psk,             // a DTLS session for a device with no key, and no gateway identity
    cannot_open,        // libcoap refused the device's session (e.g. its local port is taken)
};

class UpstreamCategory final : public std::error_category {
  public:
    const char* name() const noexcept override { return "lwgate.upstream"; }
    std::string message(int value) const override {
        switch (static_cast<UpstreamErrc>(value)) {
            case UpstreamErrc::no_dtls:
                return "no DTLS support";
            case UpstreamErrc::cannot_resolve:
                return "cannot resolve the upstream server";
            case UpstreamErrc::bad_local_address:
                return "bad local address";
            case UpstreamErrc::no_local_port:
                return "no local port";
            case UpstreamErrc::no_context:
                return "cannot create a libcoap context";
            case UpstreamErrc::no_psk:
                return "no PSK for the DTLS session";
            case UpstreamErrc::cannot_open:
                return "cannot open the upstream session";
        }
        return "unknown lwgate.upstream error " + std::to_string(value);
    }
};

inline const std::error_category& upstream_category() noexcept {
    // Inline with a function-local static: every TU gets the same category address, which
    // error_code comparison relies on.
    static const UpstreamCategory category;
    return category;
}

inline std::error_code make_error_code(UpstreamErrc e) noexcept {
    return {static_cast<int>(e), upstream_category()};
}

}  // namespace lwgate::upstream

template <>
struct std::is_error_code_enum<lwgate::upstream::UpstreamErrc> : std::true_type {};
