// A device that does nothing but stay connected to lwgate over CoAP over TCP or TLS-PSK: it sends
// its CSM and answers every Ping with a Pong, on a thread of its own, so the wire carries exactly
// what keeping one idle device reachable costs. Blocking sockets and OpenSSL's client, as a
// constrained device would have; lwgate's codec for the frames.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>

#include "psk_client.hpp"

namespace lwgate::bench {

class KeepalivePeer {
  public:
    // Connects (and for TLS completes the handshake) before it returns; ok() says whether it did.
    KeepalivePeer(std::uint16_t port, std::optional<PeerPsk> psk);
    ~KeepalivePeer();
    KeepalivePeer(const KeepalivePeer&) = delete;
    KeepalivePeer& operator=(const KeepalivePeer&) = delete;

    bool ok() const { return ok_; }
    std::uint64_t pongs_sent() const { return pongs_.load(); }
    bool closed() const { return closed_.load(); }  // lwgate closed the connection
    std::uint16_t local_port() const;

  private:
    struct Tls;
    void run();
    bool write_all(const std::uint8_t* data, std::size_t size);
    long read_some(std::uint8_t* data, std::size_t size);

    int fd_ = -1;
    Tls* tls_ = nullptr;
    bool ok_ = false;
    std::atomic<bool> stop_{false};
    std::atomic<bool> closed_{false};
    std::atomic<std::uint64_t> pongs_{0};
    std::thread thread_;
};

}  // namespace lwgate::bench
