// Block-wise transfer toward the core, where a TCP message may not fit one UDP datagram.
//
// Over TCP a device may send or answer with one message of up to lwgate's Max-Message-Size
// (16 KiB by default, RFC 8323 §5.3.1), while one UDP/DTLS datagram toward the core carries about
// 1 KiB of payload. When a device's block-wise transfer already fits, lwgate relays its Block1/
// Block2 options untouched (the device does the slicing). When it does not fit, lwgate slices:
//
//  - Block2Cache: a response (or notification) too large for a datagram goes to the core as
//    block 0 with Size2 and an ETag (the device's, or one computed from the body); the whole body
//    is kept for a while, and the core's continuation requests (same method, Uri-Path,
//    Uri-Query, Accept, Content-Format, and for FETCH the same payload; Block2 NUM > 0) are served
//    from the cache without going back to the device — the device answered once, and going back
//    could give a different representation mid-transfer. Bounded in bytes and in age.
//  - Block1Upload: a request too large for a datagram goes to the core in Block1 blocks with
//    Size1, one at a time, each after the core's 2.31 Continue (honouring a smaller block size the
//    core asks for); the core's final answer is the answer to the device's request.
//
// BERT (RFC 8323 §6): over TCP, SZX 7 blocks carry several KiB each (NUM counts 1024-byte units)
// and UDP has no such thing. A device's BERT Block1 block is re-sliced into 1 KiB blocks at the
// same offsets (the core's 2.31 for the last of them becomes the device's 2.31, with its BERT
// Block1 option); a device's BERT Block2 answer becomes the first part of the body in the cache,
// and the core's requests past that part go to the device as ordinary 1 KiB Block2 requests.
//
// Sans-I/O: the glue (lwm2m/Bridge) calls these with `now` and sends what they return.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>

#include "lwgate/coap/block.hpp"
#include "lwgate/coap/message.hpp"
#include "util/clock.hpp"

namespace lwgate::lwm2m {

// The largest block size (16 << SZX, at most 1024) whose payload fits `max_payload` bytes.
std::uint8_t block_szx_for(std::size_t max_payload);

class Block2Cache {
  public:
    explicit Block2Cache(std::size_t max_bytes = 1 << 20, Duration ttl = Duration{120'000})
        : max_bytes_(max_bytes), ttl_(ttl) {}

    // `response` answers `request`. If its payload is larger than `max_payload` (and the device
    // did not use Block2 itself), returns block 0 and keeps the body; otherwise returns
    // `response` unchanged. A smaller block size requested by the core (request's Block2) wins.
    coap::Message first_block(const coap::Message& request, coap::Message&& response,
                              std::size_t max_payload, TimePoint now);
    // A continuation request (Block2 NUM > 0) of a cached body: the block (4.02 past the end),
    // or nullopt when nothing matches and the request must go to the device.
    std::optional<coap::Message> serve(const coap::Message& request, TimePoint now);

    std::size_t entries() const { return entries_.size(); }
    std::size_t bytes() const { return bytes_; }

  private:
    struct Entry {
        std::string key;
        coap::Message response;  // the body (or its first part), with the ETag the blocks carry
        TimePoint expires_at;
        bool more = false;  // a BERT first part: the body goes on past `response`'s payload
    };
    void expire(TimePoint now);
    void evict_to(std::size_t limit);

    std::size_t max_bytes_;
    Duration ttl_;
    std::size_t bytes_ = 0;
    std::list<Entry> entries_;  // oldest first
    std::unordered_map<std::string, std::list<Entry>::iterator> by_key_;
};

// Identifies "the same request" for block continuations (RFC 7959 §2.4: all options but Block2,
// plus the payload of a FETCH).
std::string block_key(const coap::Message& request);

class Block1Upload {
  public:
    // nullopt when `request` fits `max_payload` (whatever Block1 it carries: a device's own
    // blocks that fit pass through untouched).
    static std::optional<Block1Upload> start(const coap::Message& request, std::size_t max_payload);

    // The block to send now (the request's options, Block1, Size1 on block 0).
    coap::Message current() const;

    enum class Step { send_next, done, failed };
    // The core answered the current block. send_next: call current() again; done: `response`
    // (Block1 option removed) is the final answer; failed: a 2.31 that makes no sense (block
    // out of order), answer the device with `response` turned into 5.02.
    Step on_response(coap::Message& response);

  private:
    Block1Upload(const coap::Message& request, std::uint8_t szx);
    coap::Message request_;  // without payload
    coap::Bytes body_;
    std::size_t offset_ = 0;  // within body_
    std::uint8_t szx_;
    std::size_t base_ = 0;  // offset of body_ in the whole (BERT: NUM x 1024)
    std::optional<coap::BlockOption> device_block_;  // the device's own Block1, if it sent one
};

}  // namespace lwgate::lwm2m
