// Unpredictable bytes without a system call per draw: a ChaCha20 keystream under a key from the
// kernel (OpenSSL's EVP), produced 4 KiB at a time. One instance per thread (not thread-safe).
//
// Why: libcoap 4.3.1 draws from its PRNG for every confirmable message (the randomised ACK
// timeout) and for each session's first Message ID, and its default reads getrandom(): one
// system call per message. OpenSSL's RAND_bytes swaps that for a getpid() (its fork check). A
// plain fast generator would do for the timeouts, but Message IDs should stay unpredictable to
// an off-path attacker (RFC 7252 §4.4: an ACK or RST is matched by Message ID alone), and a
// stream cipher's output is. Bytes are handed out once and wiped from the buffer.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

struct evp_cipher_ctx_st;

namespace lwgate::net {

class KeystreamPrng {
  public:
    KeystreamPrng();  // keys itself from std::random_device (getrandom)
    ~KeystreamPrng();
    KeystreamPrng(const KeystreamPrng&) = delete;
    KeystreamPrng& operator=(const KeystreamPrng&) = delete;

    // False only if OpenSSL failed (no ChaCha20): the caller falls back to another source.
    bool fill(std::uint8_t* out, std::size_t len);

  private:
    bool refill();

    evp_cipher_ctx_st* ctx_;
    bool ok_ = false;
    std::array<std::uint8_t, 4096> buffer_{};
    std::size_t pos_ = buffer_.size();
};

}  // namespace lwgate::net
