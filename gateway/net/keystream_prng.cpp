#include "net/keystream_prng.hpp"

#include <algorithm>
#include <cstring>
#include <random>

#include <openssl/crypto.h>
#include <openssl/evp.h>

namespace lwgate::net {

KeystreamPrng::KeystreamPrng() : ctx_(EVP_CIPHER_CTX_new()) {
    std::uint8_t key[32];
    std::uint8_t iv[16] = {};  // OpenSSL's ChaCha20 IV: 4-byte block counter (0), 12-byte nonce
    std::random_device seed;
    for (std::size_t i = 0; i < sizeof key; i += 4) {
        const std::uint32_t v = seed();
        std::memcpy(key + i, &v, 4);
    }
    for (std::size_t i = 4; i < sizeof iv; i += 4) {
        const std::uint32_t v = seed();
        std::memcpy(iv + i, &v, 4);
    }
    ok_ = ctx_ && EVP_EncryptInit_ex(ctx_, EVP_chacha20(), nullptr, key, iv) == 1;
    OPENSSL_cleanse(key, sizeof key);
}

KeystreamPrng::~KeystreamPrng() {
    EVP_CIPHER_CTX_free(ctx_);
}

bool KeystreamPrng::fill(std::uint8_t* out, std::size_t len) {
    while (len > 0) {
        if (pos_ == buffer_.size() && !refill()) return false;
        const std::size_t n = std::min(len, buffer_.size() - pos_);
        std::memcpy(out, buffer_.data() + pos_, n);
        OPENSSL_cleanse(buffer_.data() + pos_, n);  // handed out once
        pos_ += n;
        out += n;
        len -= n;
    }
    return true;
}

bool KeystreamPrng::refill() {
    // Encrypting zeros yields the keystream; the 32-bit block counter wraps after 256 GiB.
    static const std::array<std::uint8_t, 4096> zeros{};
    int produced = 0;
    if (!ok_ ||
        EVP_EncryptUpdate(ctx_, buffer_.data(), &produced, zeros.data(),
                          static_cast<int>(zeros.size())) != 1 ||
        produced != static_cast<int>(buffer_.size())) {
        return false;
    }
    pos_ = 0;
    return true;
}

}  // namespace lwgate::net
