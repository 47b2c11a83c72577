#include "core_link/libcoap_setup.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <string_view>

#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include "net/keystream_prng.hpp"

namespace lwgate::upstream {

namespace {

// libcoap 4.3.1 draws from its PRNG for every confirmable message it sends (the randomised
// ACK timeout) and for each session's first Message ID; its default reads getrandom(), one
// system call per message (5% of lwgate's CPU in lwgate-bench uplink). net::KeystreamPrng
// gives the same unpredictability without a system call.
int keystream_prng(void* out, size_t len) {
    thread_local net::KeystreamPrng prng;
    if (prng.fill(static_cast<std::uint8_t*>(out), len)) return 1;
    return RAND_bytes(static_cast<unsigned char*>(out), static_cast<int>(len)) == 1 ? 1 : 0;
}

void log_libcoap(coap_log_t level, const char* message) {
    std::string_view text(message);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
        text.remove_suffix(1);
    }
    // A Reset is the answer to the core probe's Ping, and every other one reaches the bridge
    // (a failed uplink, a rejected notification), which logs it as what it means.
    if (text.starts_with("got RST for mid=")) level = LOG_DEBUG;
    if (level <= LOG_ERR) {
        spdlog::error("libcoap: {}", text);
    } else if (level <= LOG_WARNING) {
        spdlog::warn("libcoap: {}", text);
    } else {
        spdlog::debug("libcoap: {}", text);
    }
}

// A free port on `local`'s address (written into it): the kernel's choice for a socket bound
// without SO_REUSEADDR, which avoids every port in use.
Result<void, Error> probe_port(coap_address_t& local) {
    const int fd = ::socket(local.addr.sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return fail(
            Error{UpstreamErrc::no_local_port, std::string("socket: ") + std::strerror(errno)});
    }
    socklen_t len = local.size;
    Result<void, Error> probed;
    if (::bind(fd, &local.addr.sa, local.size) != 0 ||
        ::getsockname(fd, &local.addr.sa, &len) != 0) {
        probed = fail(Error{UpstreamErrc::no_local_port,
                            std::string("cannot bind a local port: ") + std::strerror(errno)});
    }
    ::close(fd);
    return probed;
}

coap_session_t* new_pki_session(coap_context_t* ctx, const coap_address_t* local,
                                const coap_address_t& server,
                                const config::UpstreamConfig& config) {
    // The gateway's certificate: one identity for every device without credentials.
    coap_dtls_pki_t setup{};
    setup.version = COAP_DTLS_PKI_SETUP_VERSION;
    const bool verify = !config.gateway_ca.empty();
    setup.verify_peer_cert = verify;
    setup.check_common_ca = verify;
    setup.allow_self_signed = !verify;
    setup.cert_chain_validation = verify;
    setup.cert_chain_verify_depth = 3;
    setup.pki_key.key_type = COAP_PKI_KEY_PEM;
    setup.pki_key.key.pem.public_cert = config.gateway_certificate.c_str();
    setup.pki_key.key.pem.private_key = config.gateway_private_key.c_str();
    setup.pki_key.key.pem.ca_file = verify ? config.gateway_ca.c_str() : nullptr;
    return coap_new_client_session_pki(ctx, local, &server, COAP_PROTO_DTLS, &setup);
}

coap_session_t* new_psk_session(coap_context_t* ctx, const coap_address_t* local,
                                const coap_address_t& server, const UpstreamPsk& key) {
    coap_dtls_cpsk_t setup{};
    setup.version = COAP_DTLS_CPSK_SETUP_VERSION;
    setup.psk_info.identity.s = reinterpret_cast<const uint8_t*>(key.identity.data());
    setup.psk_info.identity.length = key.identity.size();
    setup.psk_info.key.s = key.key.data();
    setup.psk_info.key.length = key.key.size();
    return coap_new_client_session_psk2(ctx, local, &server, COAP_PROTO_DTLS, &setup);
}

}  // namespace

void init_libcoap() {
    static std::once_flag once;
    std::call_once(once, [] {
        coap_startup();
        coap_set_prng(keystream_prng);
        coap_set_log_level(LOG_WARNING);
        coap_dtls_set_log_level(LOG_WARNING);
        coap_set_log_handler(log_libcoap);
    });
}

Result<coap_address_t, Error> resolve(const std::string& host, std::uint16_t port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    addrinfo* result = nullptr;
    const std::string service = std::to_string(port);
    if (int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &result); rc != 0) {
        return fail(Error{UpstreamErrc::cannot_resolve,
                          std::string("cannot resolve ") + host + ": " + gai_strerror(rc)});
    }
    coap_address_t out;
    coap_address_init(&out);
    std::memcpy(&out.addr, result->ai_addr, result->ai_addrlen);
    out.size = result->ai_addrlen;
    freeaddrinfo(result);
    return out;
}

Result<LocalBinding, Error> local_binding(const coap_address_t& server, const std::string& address,
                                          std::uint16_t port) {
    LocalBinding out;
    coap_address_t& local = out.address;
    coap_address_init(&local);
    if (server.addr.sa.sa_family == AF_INET6) {
        local.addr.sin6.sin6_family = AF_INET6;
        local.addr.sin6.sin6_port = htons(port);
        local.size = sizeof(sockaddr_in6);
    } else {
        local.addr.sin.sin_family = AF_INET;
        local.addr.sin.sin_port = htons(port);
        local.size = sizeof(sockaddr_in);
    }
    if (!address.empty()) {
        if (inet_pton(AF_INET6, address.c_str(), &local.addr.sin6.sin6_addr) == 1) {
            local.addr.sin6.sin6_family = AF_INET6;
            local.size = sizeof(sockaddr_in6);
        } else if (inet_pton(AF_INET, address.c_str(), &local.addr.sin.sin_addr) == 1) {
            local.addr.sin.sin_family = AF_INET;
            local.size = sizeof(sockaddr_in);
        } else {
            return fail(
                Error{UpstreamErrc::bad_local_address, "bad local address '" + address + "'"});
        }
    }
    // libcoap binds a given local address with SO_REUSEADDR, and Linux then hands out port 0
    // binds that share a port with another SO_REUSEADDR socket: two devices' sockets connected to
    // the same core would have one address (measured: 1 in 7 sockets at 9,000). So the kernel's
    // choice comes from a bind without SO_REUSEADDR: connect() itself (no local address), or a
    // probe socket (an address without a port; closed before libcoap binds the port it got).
    out.kernel_chooses = port == 0 && address.empty();
    if (port == 0 && !address.empty()) {
        if (auto probed = probe_port(local); !probed) return fail(std::move(probed).error());
    }
    return out;
}

Result<coap_session_t*, Error> new_client_session(coap_context_t* ctx, const LocalBinding& local,
                                                  const coap_address_t& server,
                                                  const ClientSessionSpec& spec) {
    const config::UpstreamConfig& config = spec.config;
    const coap_address_t* local_if = local.kernel_chooses ? nullptr : &local.address;
    std::optional<UpstreamPsk> gateway_psk;
    if (spec.secure && !spec.psk && !config.gateway_psk_identity.empty()) {
        gateway_psk = UpstreamPsk{config.gateway_psk_identity, config.gateway_psk_key};
    }
    coap_session_t* s = nullptr;
    if (spec.secure && !spec.psk && !gateway_psk && !config.gateway_certificate.empty()) {
        s = new_pki_session(ctx, local_if, server, config);
    } else if (spec.secure) {
        if (!spec.psk && !gateway_psk) {
            return fail(Error{UpstreamErrc::no_psk,
                              "no PSK for the DTLS session of " + spec.endpoint +
                                  " (no credentials entry and no upstream.dtls identity)"});
        }
        s = new_psk_session(ctx, local_if, server, spec.psk ? *spec.psk : *gateway_psk);
    } else {
        s = coap_new_client_session(ctx, local_if, &server, COAP_PROTO_UDP);
    }
    if (!s) {
        return fail(Error{UpstreamErrc::cannot_open,
                          "cannot create the upstream session for " + spec.endpoint});
    }
    const auto ack_ms = config.ack_timeout.count();
    coap_session_set_ack_timeout(s, coap_fixed_point_t{static_cast<std::uint16_t>(ack_ms / 1000),
                                                       static_cast<std::uint16_t>(ack_ms % 1000)});
    coap_session_set_max_retransmit(s, config.max_retransmit);
    return s;
}

}  // namespace lwgate::upstream
