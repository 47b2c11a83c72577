// UdpRelay: a UDP relay between lwgate and the core, for injecting what a lossy network does.
//
// Point lwgate's upstream.uri at uri(); the relay forwards every datagram to the target (the
// core) from a socket of its own per lwgate socket (lwgate has one per device), so the core still
// sees one address per device, and forwards the core's answers back. With
// set_duplicate_requests(true) every confirmable request from the core reaches lwgate twice, back
// to back: what lwgate sees when the core retransmits a request because our ACK crossed it or
// was lost (RFC 7252 §4.2), without waiting for the core's ACK_TIMEOUT. Plain UDP only (a copied
// DTLS record is dropped by the DTLS layer's replay protection, which tests nothing of ours).
//
// It also counts how lwgate answers the core's requests (RFC 7252 §5.2): empty ACKs,
// piggybacked responses (ACK with a response code) and separate responses (CON/NON with one).
//
// One thread; IPv4 loopback. The destructor stops it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace lwgate::harness {

class UdpRelay {
  public:
    // Binds 127.0.0.1 port 0 and relays to 127.0.0.1:target_port. Throws HarnessError.
    explicit UdpRelay(std::uint16_t target_port);
    ~UdpRelay();
    UdpRelay(const UdpRelay&) = delete;
    UdpRelay& operator=(const UdpRelay&) = delete;

    std::uint16_t port() const { return port_; }
    std::string uri() const { return "coap://127.0.0.1:" + std::to_string(port_); }

    void set_duplicate_requests(bool on) { duplicate_requests_ = on; }
    // Confirmable requests of the core delivered twice so far.
    std::uint64_t duplicated() const { return duplicated_; }

    // Datagrams from lwgate to the core so far, by kind.
    struct Answers {
        std::uint64_t empty_acks = 0;
        std::uint64_t piggybacked = 0;  // ACK carrying a response code (2.xx-5.xx)
        std::uint64_t separate = 0;     // CON or NON carrying a response code
    };
    Answers answers() const;
    // Waits until `pred` holds for the counts (true), or `timeout` passes (false).
    bool wait_answers(const std::function<bool(const Answers&)>& pred,
                      std::chrono::milliseconds timeout) const;

  private:
    void run();

    int front_ = -1;  // lwgate's side
    int wake_ = -1;   // eventfd: stop
    std::uint16_t port_ = 0;
    std::uint16_t target_port_ = 0;
    std::atomic<bool> duplicate_requests_{false};
    std::atomic<std::uint64_t> duplicated_{0};
    mutable std::mutex answers_mutex_;
    mutable std::condition_variable answers_changed_;
    Answers answers_;
    std::thread thread_;
};

}  // namespace lwgate::harness
