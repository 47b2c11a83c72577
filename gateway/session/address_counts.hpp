// Counts per source IP address, the port ignored: the TLS handshakes pending from each address
// (connections.max_tls_handshakes_per_address), so that one address cannot hold every handshake
// slot of the gateway with stalled ClientHellos.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace lwgate::session {

// Pure and single-threaded. Memory follows what is counted: an address whose count drops to 0 is
// forgotten, so there are never more entries than counted connections.
class AddressCounts {
  public:
    // IPv6 bytes; an IPv4 address as IPv4-mapped IPv6 (::ffff:a.b.c.d), so that both spellings
    // of one address share a count.
    using Address = std::array<std::uint8_t, 16>;

    // `seed` keys the hash: peers choose their source addresses, and with a hash they could
    // compute they could pick addresses that share a bucket and make every lookup linear.
    explicit AddressCounts(std::uint64_t seed = 0) : counts_(0, Hash{seed}) {}

    // One more for `address`, unless it has `limit` already (0: no limit). O(1) on average.
    bool try_add(const Address& address, unsigned limit);
    // One fewer; at 0 the address is forgotten. An address without a count is left alone.
    void remove(const Address& address);
    unsigned count(const Address& address) const;
    std::size_t addresses() const { return counts_.size(); }

  private:
    struct Hash {
        std::uint64_t seed;
        std::size_t operator()(const Address& address) const noexcept;
    };
    std::unordered_map<Address, unsigned, Hash> counts_;
};

// AddressCounts of pending TLS handshakes, shared by the thread that accepts and the shards: the
// accepting thread admits a connection and hands it a Ticket; the connection's shard drops the
// ticket when its handshake is over (done, failed, timed out, or closed while it waited for a
// slot). The lock is taken twice per TLS connection and never per message; the handshake itself
// costs far more. Outlives every ticket it issued.
class PendingHandshakes {
  public:
    using Address = AddressCounts::Address;

    class Ticket {
      public:
        Ticket() = default;  // counts nothing
        Ticket(Ticket&& other) noexcept;
        Ticket& operator=(Ticket&& other) noexcept;
        Ticket(const Ticket&) = delete;
        Ticket& operator=(const Ticket&) = delete;
        ~Ticket() { release(); }
        // Gives the count back now (once; later calls and the destructor do nothing).
        void release();
        explicit operator bool() const { return owner_ != nullptr; }

      private:
        friend class PendingHandshakes;
        Ticket(PendingHandshakes* owner, const Address& address)
            : owner_(owner), address_(address) {}
        PendingHandshakes* owner_ = nullptr;
        Address address_{};
    };

    explicit PendingHandshakes(std::uint64_t seed) : counts_(seed) {}

    // A ticket for one more pending handshake from `address`, or nullopt when the address has
    // `limit` already. With limit 0 nothing is counted: an empty ticket.
    std::optional<Ticket> admit(const Address& address, unsigned limit);
    unsigned count(const Address& address) const;
    std::size_t addresses() const;

  private:
    void remove(const Address& address);
    mutable std::mutex mutex_;
    AddressCounts counts_;
};

}  // namespace lwgate::session
