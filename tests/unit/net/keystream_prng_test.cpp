#include "net/keystream_prng.hpp"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace lwgate::net {
namespace {

std::vector<std::uint8_t> draw(KeystreamPrng& prng, std::size_t n) {
    std::vector<std::uint8_t> out(n);
    EXPECT_TRUE(prng.fill(out.data(), out.size()));
    return out;
}

TEST(KeystreamPrng, FillsAnyLengthAcrossItsBufferBoundaries) {
    KeystreamPrng prng;
    std::size_t total = 0;
    for (std::size_t n : {0u, 1u, 2u, 7u, 4095u, 4096u, 4097u, 10000u}) {
        auto bytes = draw(prng, n);
        EXPECT_EQ(bytes.size(), n);
        total += n;
    }
    EXPECT_GT(total, 3u * 4096) << "several refills";
}

TEST(KeystreamPrng, OutputLooksUniformAndNeverRepeatsABlock) {
    KeystreamPrng prng;
    const auto bytes = draw(prng, 64 * 1024);
    std::array<std::size_t, 256> counts{};
    for (auto b : bytes)
        ++counts[b];
    for (std::size_t v = 0; v < counts.size(); ++v) {
        // 256 expected per value; a stuck or zero-filled stream fails by far.
        EXPECT_GT(counts[v], 150u) << v;
        EXPECT_LT(counts[v], 380u) << v;
    }
    std::set<std::vector<std::uint8_t>> blocks;
    for (std::size_t i = 0; i + 16 <= bytes.size(); i += 16)
        blocks.emplace(bytes.begin() + static_cast<long>(i),
                       bytes.begin() + static_cast<long>(i + 16));
    EXPECT_EQ(blocks.size(), bytes.size() / 16);
}

TEST(KeystreamPrng, EachInstanceHasItsOwnKey) {
    KeystreamPrng a;
    KeystreamPrng b;
    EXPECT_NE(draw(a, 32), draw(b, 32)) << "two threads never share a stream";
}

}  // namespace
}  // namespace lwgate::net
