// The value of one CoAP option (RFC 7252 §3.1, RFC 8323 §3.2), stored inline up to 24 bytes.
//
// Why not a std::vector: every relayed message is decoded, copied into the relay's queue and
// encoded again, and a vector per option made option values the largest source of malloc calls
// per relayed Read (3 Uri-Path segments: 3 allocations per copy). Uri-Path and Uri-Query
// segments, ETags, Location-Path and every uint option fit in 24 bytes; a longer value (RFC 8323
// allows up to 65,804 bytes) goes to the heap. Same size as a vector (32 bytes with the length).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <span>
#include <vector>

namespace lwgate::coap {

class OptionValue {
  public:
    static constexpr std::size_t inline_capacity = 24;
    using value_type = std::uint8_t;
    using const_iterator = const std::uint8_t*;
    using iterator = const_iterator;

    OptionValue() noexcept : size_(0) {}
    OptionValue(std::span<const std::uint8_t> bytes) { assign(bytes.data(), bytes.size()); }
    OptionValue(const std::vector<std::uint8_t>& bytes) { assign(bytes.data(), bytes.size()); }
    OptionValue(std::initializer_list<std::uint8_t> bytes) { assign(bytes.begin(), bytes.size()); }
    OptionValue(const OptionValue& other) { assign(other.data(), other.size()); }
    OptionValue(OptionValue&& other) noexcept : size_(other.size_) {
        std::memcpy(&storage_, &other.storage_, sizeof storage_);
        other.size_ = 0;  // a moved-from heap value must not be freed twice
    }
    OptionValue& operator=(const OptionValue& other) {
        if (this != &other) {
            OptionValue copy(other);
            swap(copy);
        }
        return *this;
    }
    OptionValue& operator=(OptionValue&& other) noexcept {
        OptionValue moved(std::move(other));
        swap(moved);
        return *this;
    }
    ~OptionValue() { release(); }

    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    const std::uint8_t* data() const { return on_heap() ? storage_.heap : storage_.inline_bytes; }
    const_iterator begin() const { return data(); }
    const_iterator end() const { return data() + size_; }
    std::uint8_t operator[](std::size_t i) const { return data()[i]; }
    std::span<const std::uint8_t> bytes() const { return {data(), size_}; }
    operator std::span<const std::uint8_t>() const { return bytes(); }
    std::vector<std::uint8_t> to_bytes() const { return {begin(), end()}; }

    void swap(OptionValue& other) noexcept {
        std::swap(size_, other.size_);
        std::swap(storage_, other.storage_);
    }

    friend bool operator==(const OptionValue& a, const OptionValue& b) {
        return std::ranges::equal(a.bytes(), b.bytes());
    }
    friend bool operator==(const OptionValue& a, const std::vector<std::uint8_t>& b) {
        return std::ranges::equal(a.bytes(), b);
    }

  private:
    bool on_heap() const { return size_ > inline_capacity; }
    void assign(const std::uint8_t* bytes, std::size_t size) {
        size_ = static_cast<std::uint32_t>(size);
        std::uint8_t* target = storage_.inline_bytes;
        if (on_heap()) target = storage_.heap = new std::uint8_t[size];
        if (size != 0) std::memcpy(target, bytes, size);
    }
    void release() {
        if (on_heap()) delete[] storage_.heap;
        size_ = 0;
    }

    // Callers cap option lengths (the codec at 65,804 bytes) long before 4 GiB.
    std::uint32_t size_;
    union Storage {
        std::uint8_t inline_bytes[inline_capacity];
        std::uint8_t* heap;
    } storage_{};  // zeroed: a short value leaves the rest of the array unwritten
};

}  // namespace lwgate::coap
