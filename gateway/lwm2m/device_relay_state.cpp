// DeviceRelay persistence: snapshot, restore and the persistent-state digest.
#include <algorithm>
#include <cstring>

#include "lwm2m/device_relay.hpp"

namespace lwgate::lwm2m {

namespace {

constexpr std::uint32_t observe_mask = 0xffffff;  // RFC 7641: 24-bit sequence numbers

// A word-at-a-time multiply-xorshift hash: persist() computes it after every event of every
// device (byte-wise FNV-1a was 5% of lwgate's user CPU per relayed Read). A collision only
// delays one write until the next change.
class Digest {
  public:
    Digest& word(std::uint64_t w) {
        h_ = (h_ ^ w) * 0x9e3779b97f4a7c15ULL;
        h_ ^= h_ >> 29;
        return *this;
    }
    Digest& bytes(const void* data, std::size_t size) {
        const auto* p = static_cast<const std::uint8_t*>(data);
        word(size);
        for (; size >= 8; p += 8, size -= 8) {
            std::uint64_t w;
            std::memcpy(&w, p, 8);
            word(w);
        }
        if (size != 0) {
            std::uint64_t w = 0;
            std::memcpy(&w, p, size);
            word(w);
        }
        return *this;
    }
    template <class T>
    Digest& value(const T& v) {
        static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 8);
        std::uint64_t w = 0;
        std::memcpy(&w, &v, sizeof v);
        return word(w);
    }
    Digest& text(const std::string& s) { return bytes(s.data(), s.size()); }
    Digest& token(const coap::Token& t) {
        const auto b = t.bytes();
        return bytes(b.data(), b.size());
    }
    std::uint64_t get() const { return h_; }

  private:
    std::uint64_t h_ = 0xcbf29ce484222325ULL;
};

std::uint64_t splitmix64(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

}  // namespace

RelaySnapshot DeviceRelay::snapshot() const {
    RelaySnapshot s;
    s.endpoint = endpoint_;
    s.registered = registered_;
    s.authenticated = authenticated_;
    s.location = location_;
    s.lifetime = lifetime_.value_or(0);
    s.deadline = registration_deadline_;
    s.queue_mode = queue_mode_;
    s.version = version_;
    s.binding = binding_;
    for (const auto& [key, obs] : observations_) {
        // An observation whose Observe=0 is still in flight is not established: the request is
        // replayed from the queue below and creates it again.
        if (!observation_pending(key)) s.observations.push_back({obs.request, obs.observe_number});
    }
    // In flight first (they left the queue's head), oldest first, then the queue.
    std::vector<const InFlight*> flying;
    for (const auto& [key, f] : in_flight_)
        flying.push_back(&f);
    std::sort(flying.begin(), flying.end(),
              [](const InFlight* a, const InFlight* b) { return a->downlink.id < b->downlink.id; });
    for (const auto* f : flying) {
        // A cancel (GET Observe=1) in flight has already ended its observation here; an
        // Observe=0 in flight has created it: both are replayed as they are. Requests the core
        // has no ACK for yet are not kept: after a restart it sends them again.
        if (!f->downlink.acknowledged) continue;
        s.queued.push_back({f->downlink.id, f->downlink.request, f->downlink.enqueued_at});
    }
    for (const auto& d : queue_) {
        if (d.acknowledged) s.queued.push_back({d.id, d.request, d.enqueued_at});
    }
    return s;
}

void DeviceRelay::restore(RelaySnapshot s, TimePoint now) {
    ++registration_revision_;
    registered_ = s.registered;
    authenticated_ = s.registered && s.authenticated;
    location_ = std::move(s.location);
    lifetime_ = s.registered ? std::optional<std::uint32_t>(s.lifetime) : std::nullopt;
    registration_deadline_ = s.registered ? s.deadline : never;
    queue_mode_ = s.queue_mode;
    version_ = std::move(s.version);
    binding_ = std::move(s.binding);
    observations_.clear();
    for (auto& o : s.observations) {
        const auto key = token_key(o.request.token());
        if (o.request.token().empty() || observations_.count(key) != 0) continue;
        Observation obs;
        obs.observe_number = (o.observe_number + observe_restart_skip) & observe_mask;
        obs.request = std::move(o.request);
        observations_.emplace(key, std::move(obs));
    }
    queue_.clear();
    for (auto& h : s.queued)
        queue_.push_back(Downlink{h.id, std::move(h.request), h.enqueued_at});
    if (registered_ && now >= registration_deadline_ && !location_.empty()) {
        // Expired while lwgate was down: de-register at the core too (see the header).
        send_on_behalf(coap::code::del, Uplink::deregister);
        end_registration();
    }
    // Queued requests past max_age: the ordinary rules apply at once.
    on_tick(now);
}

bool DeviceRelay::observation_pending(const std::string& key) const {
    return std::any_of(in_flight_.begin(), in_flight_.end(), [&](const auto& f) {
        return f.second.observe && token_key(f.second.downlink.request.token()) == key;
    });
}

std::uint64_t DeviceRelay::persistent_generation() const {
    Digest d;
    // The registration's fields are only written where the revision moves.
    d.value(registration_revision_);
    for (const auto& [key, obs] : observations_) {
        d.token(obs.request.token()).value(obs.observe_number / observe_persist_stride);
        // Established or not is part of the snapshot (an Observe=0 answered within the
        // piggyback window is never held state, so nothing else would change here).
        d.value(!in_flight_.empty() && observation_pending(key));
    }
    // Queued or in flight is the same persistent state: which requests are held is what counts,
    // so they are combined order-independently (and without allocating, this runs per event).
    std::uint64_t sum = 0;
    std::uint64_t mixed = 0;
    auto add = [&](CoreRequestId id) {
        const auto h = splitmix64(id);
        sum += h;
        mixed ^= h;
    };
    std::size_t held = 0;
    for (const auto& [key, f] : in_flight_) {
        if (f.downlink.acknowledged) add(f.downlink.id), ++held;
    }
    for (const auto& q : queue_) {
        if (q.acknowledged) add(q.id), ++held;
    }
    d.value(held).value(sum).value(mixed);
    return d.get();
}

}  // namespace lwgate::lwm2m
