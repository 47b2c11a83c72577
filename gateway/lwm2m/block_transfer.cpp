#include "lwm2m/block_transfer.hpp"

#include <algorithm>

#include "lwgate/coap/code.hpp"
#include "lwgate/coap/option.hpp"

namespace lwgate::lwm2m {

namespace option = coap::option;
namespace code = coap::code;

namespace {

coap::Bytes fnv1a_etag(const coap::Bytes& body) {
    std::uint32_t h = 2166136261u;
    for (auto b : body) {
        h ^= b;
        h *= 16777619u;
    }
    return {static_cast<std::uint8_t>(h >> 24), static_cast<std::uint8_t>(h >> 16),
            static_cast<std::uint8_t>(h >> 8), static_cast<std::uint8_t>(h)};
}

// `more`: the body goes on past `whole`'s payload (a BERT first part).
coap::Message slice(const coap::Message& whole, std::uint32_t num, std::uint8_t szx,
                    bool more = false) {
    const std::size_t size = std::size_t{16} << szx;
    const std::size_t offset = static_cast<std::size_t>(num) * size;
    const auto& body = whole.payload();
    coap::Message block = whole;
    block.set_payload(coap::Bytes{});
    const std::size_t len = std::min(size, body.size() - offset);
    coap::set_block_option(block, option::block2,
                           coap::BlockOption{num, offset + len < body.size() || more, szx});
    const auto device_size2 = whole.uint_option(option::size2);
    block.remove_options(option::size2);
    if (num == 0) {
        block.add_uint_option(option::size2, more ? device_size2.value_or(0)
                                                  : static_cast<std::uint32_t>(body.size()));
        if (more && !device_size2) block.remove_options(option::size2);
    }
    block.set_payload(coap::Bytes(body.begin() + static_cast<std::ptrdiff_t>(offset),
                                  body.begin() + static_cast<std::ptrdiff_t>(offset + len)));
    return block;
}

std::uint8_t requested_szx(const coap::Message& request, std::uint16_t number, std::uint8_t szx) {
    if (auto b = coap::block_option(request, number)) {
        return std::min<std::uint8_t>(szx, b->szx > 6 ? 6 : b->szx);
    }
    return szx;
}

}  // namespace

std::uint8_t block_szx_for(std::size_t max_payload) {
    return coap::szx_at_most(std::max<std::size_t>(max_payload, 16));
}

std::string block_key(const coap::Message& request) {
    std::string key(1, static_cast<char>(request.code()));
    for (const auto& o : request.options()) {
        // Block options, Size hints and Observe do not change which representation is meant.
        if (o.number == option::block1 || o.number == option::block2 || o.number == option::size1 ||
            o.number == option::size2 || o.number == option::observe) {
            continue;
        }
        key += '|';
        key += std::to_string(o.number);
        key += '=';
        key.append(o.value.begin(), o.value.end());
    }
    if (request.code() == code::fetch) {
        key += "|body=";
        key.append(request.payload().begin(), request.payload().end());
    }
    return key;
}

coap::Message Block2Cache::first_block(const coap::Message& request, coap::Message&& response,
                                       std::size_t max_payload, TimePoint now) {
    expire(now);
    const auto device_block = coap::block_option(response, option::block2);
    if (response.payload().size() <= max_payload) return std::move(response);
    // A device's own Block2 that does not fit is a BERT block (SZX 7); only the first is sliced
    // here (later ones answer the core's 1 KiB requests and fit).
    bool more = false;
    if (device_block) {
        if (device_block->num != 0) return std::move(response);
        more = device_block->more;
        response.remove_options(option::block2);
    }
    const std::uint8_t szx = requested_szx(request, option::block2, block_szx_for(max_payload));
    if (!response.find_option(option::etag) && !more) {
        response.add_option(option::etag, fnv1a_etag(response.payload()));
    }
    coap::Message block = slice(response, 0, szx, more);
    // A notification's continuation is a plain GET: the key must not depend on Observe.
    coap::Message plain = request;
    if (plain.code() != code::fetch) plain.set_code(code::get);
    std::string key = block_key(plain);
    if (auto it = by_key_.find(key); it != by_key_.end()) {
        bytes_ -= it->second->response.payload().size();
        entries_.erase(it->second);
        by_key_.erase(it);
    }
    const std::size_t size = response.payload().size();
    if (size <= max_bytes_) {
        evict_to(max_bytes_ - size);
        entries_.push_back(Entry{key, std::move(response), now + ttl_, more});
        by_key_[std::move(key)] = std::prev(entries_.end());
        bytes_ += size;
    }
    return block;
}

std::optional<coap::Message> Block2Cache::serve(const coap::Message& request, TimePoint now) {
    expire(now);
    const auto b2 = coap::block_option(request, option::block2);
    if (!b2 || b2->num == 0) return std::nullopt;
    auto it = by_key_.find(block_key(request));
    if (it == by_key_.end()) return std::nullopt;
    const Entry& entry = *it->second;
    const std::uint8_t szx = b2->szx > 6 ? 6 : b2->szx;
    const std::size_t offset = static_cast<std::size_t>(b2->num) * (std::size_t{16} << szx);
    coap::Message block;
    if (offset >= entry.response.payload().size()) {
        if (entry.more) return std::nullopt;  // past a BERT first part: ask the device
        block = coap::Message(code::bad_option, request.token());
        block.set_payload(std::string_view("Block2 beyond the end of the body"));
        return block;
    }
    // If-None-Match / ETag validation is the core's business; it sees our ETag on every block.
    block = slice(entry.response, b2->num, szx, entry.more);
    block.set_token(request.token());
    return block;
}

void Block2Cache::expire(TimePoint now) {
    while (!entries_.empty() && entries_.front().expires_at <= now) {
        bytes_ -= entries_.front().response.payload().size();
        by_key_.erase(entries_.front().key);
        entries_.pop_front();
    }
}

void Block2Cache::evict_to(std::size_t limit) {
    while (!entries_.empty() && bytes_ > limit) {
        bytes_ -= entries_.front().response.payload().size();
        by_key_.erase(entries_.front().key);
        entries_.pop_front();
    }
}

// ---- Block1Upload ----------------------------------------------------------------------------

std::optional<Block1Upload> Block1Upload::start(const coap::Message& request,
                                                std::size_t max_payload) {
    // A BERT block (SZX 7) is re-sliced even when it fits: UDP has no BERT (RFC 8323 §6).
    const auto block = coap::block_option(request, option::block1);
    const bool bert = block && block->szx == 7;
    if (!bert && request.payload().size() <= max_payload) return std::nullopt;
    return Block1Upload(request, block_szx_for(max_payload));
}

Block1Upload::Block1Upload(const coap::Message& request, std::uint8_t szx)
    : request_(request), body_(request.payload()), szx_(szx) {
    request_.set_payload(coap::Bytes{});
    if ((device_block_ = coap::block_option(request, option::block1))) {
        // A BERT block (or any block too large for a datagram): its offset in the whole body.
        // The device's Size1, if any, stays on every slice: without it a libcoap 4.3.1 core takes
        // the end of our slices for the end of the body.
        base_ = device_block_->offset();
        request_.remove_options(option::block1);
    } else {
        request_.remove_options(option::size1);
    }
}

coap::Message Block1Upload::current() const {
    const std::size_t size = std::size_t{16} << szx_;
    const std::size_t len = std::min(size, body_.size() - offset_);
    coap::Message block = request_;
    const bool more = offset_ + len < body_.size() || (device_block_ && device_block_->more);
    coap::set_block_option(
        block, option::block1,
        coap::BlockOption{static_cast<std::uint32_t>((base_ + offset_) / size), more, szx_});
    if (offset_ == 0 && !device_block_) {
        block.add_uint_option(option::size1, static_cast<std::uint32_t>(body_.size()));
    }
    block.set_payload(coap::Bytes(body_.begin() + static_cast<std::ptrdiff_t>(offset_),
                                  body_.begin() + static_cast<std::ptrdiff_t>(offset_ + len)));
    return block;
}

Block1Upload::Step Block1Upload::on_response(coap::Message& response) {
    const std::size_t size = std::size_t{16} << szx_;
    const std::size_t len = std::min(size, body_.size() - offset_);
    const bool last = offset_ + len >= body_.size();
    const auto ack = coap::block_option(response, option::block1);
    if (response.code() != code::continue_ || (last && device_block_ && device_block_->more)) {
        // The final answer, or the 2.31 that asks the device for its next BERT block: either
        // way the device hears about its own block, not our slices of it.
        response.remove_options(option::block1);
        if (device_block_) coap::set_block_option(response, option::block1, *device_block_);
        return Step::done;
    }
    if (last || (ack && ack->num * size != base_ + offset_)) {
        // 2.31 for the last block, or for a block we did not send.
        response.set_code(code::bad_gateway);
        response.remove_options(option::block1);
        response.set_payload(std::string_view("the core's Block1 answer is out of sequence"));
        return Step::failed;
    }
    offset_ += len;
    // The core may ask for smaller blocks (RFC 7959 §2.3); offsets stay aligned because sizes
    // only shrink by powers of two.
    if (ack && ack->szx < szx_) szx_ = ack->szx;
    return Step::send_next;
}

}  // namespace lwgate::lwm2m
