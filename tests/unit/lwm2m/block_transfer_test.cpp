#include "lwm2m/block_transfer.hpp"

#include <gtest/gtest.h>

#include "lwgate/coap/code.hpp"
#include "lwgate/coap/option.hpp"

namespace lwgate::lwm2m {
namespace {

namespace code = coap::code;
namespace option = coap::option;
using coap::BlockOption;
using coap::Message;

coap::Bytes body_of(std::size_t n) {
    coap::Bytes b(n);
    for (std::size_t i = 0; i < n; ++i)
        b[i] = static_cast<std::uint8_t>(i * 7 + i / 251);
    return b;
}

Message get(std::string_view path, std::uint64_t token = 1) {
    Message m(code::get, coap::Token::from_u64(token));
    std::string_view rest = path;
    while (!rest.empty()) {
        rest.remove_prefix(1);
        const auto end = rest.find('/');
        m.add_option(option::uri_path, rest.substr(0, end));
        rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
    }
    return m;
}

Message content(coap::Bytes payload) {
    Message m(code::content);
    m.add_uint_option(option::content_format, 42);
    m.set_payload(std::move(payload));
    return m;
}

Message with_block2(Message m, std::uint32_t num, std::uint8_t szx = 6) {
    coap::set_block_option(m, option::block2, BlockOption{num, false, szx});
    return m;
}

const TimePoint t0{};

TEST(BlockSzx, LargestBlockThatFits) {
    EXPECT_EQ(block_szx_for(1024), 6);
    EXPECT_EQ(block_szx_for(1100), 6);
    EXPECT_EQ(block_szx_for(1023), 5);
    EXPECT_EQ(block_szx_for(16), 0);
    EXPECT_EQ(block_szx_for(0), 0);
}

TEST(Block2Cache, SmallResponsePassesUnchanged) {
    Block2Cache cache;
    auto r = cache.first_block(get("/3/0"), content(body_of(100)), 1024, t0);
    EXPECT_FALSE(r.find_option(option::block2));
    EXPECT_EQ(r.payload().size(), 100u);
    EXPECT_EQ(cache.entries(), 0u);
}

TEST(Block2Cache, DeviceBlockwiseResponsePassesUnchanged) {
    Block2Cache cache;
    auto device = content(body_of(1024));
    coap::set_block_option(device, option::block2, BlockOption{0, true, 6});
    auto r = cache.first_block(get("/5/0/0"), std::move(device), 1100, t0);
    EXPECT_EQ(coap::block_option(r, option::block2), (BlockOption{0, true, 6}));
    EXPECT_EQ(cache.entries(), 0u);
}

TEST(Block2Cache, LargeResponseIsSlicedAndEveryBlockServedFromTheCache) {
    const auto body = body_of(64 * 1024 + 17);
    Block2Cache cache;
    auto first = cache.first_block(get("/5/0/0"), content(body), 1100, t0);
    auto b0 = coap::block_option(first, option::block2);
    ASSERT_TRUE(b0);
    EXPECT_EQ(*b0, (BlockOption{0, true, 6}));
    EXPECT_EQ(first.uint_option(option::size2), body.size());
    ASSERT_TRUE(first.find_option(option::etag));
    EXPECT_EQ(first.uint_option(option::content_format), 42u);
    coap::Bytes assembled = first.payload();
    for (std::uint32_t num = 1;; ++num) {
        auto block = cache.serve(with_block2(get("/5/0/0", 100 + num), num), t0);
        ASSERT_TRUE(block) << num;
        EXPECT_EQ(block->token(), coap::Token::from_u64(100 + num));
        EXPECT_EQ(block->find_option(option::etag)->value, first.find_option(option::etag)->value);
        EXPECT_FALSE(block->find_option(option::size2));
        assembled.insert(assembled.end(), block->payload().begin(), block->payload().end());
        const auto b = coap::block_option(*block, option::block2);
        ASSERT_TRUE(b);
        EXPECT_EQ(b->num, num);
        if (!b->more) break;
    }
    EXPECT_EQ(assembled, body);
}

TEST(Block2Cache, CoreMayAskForSmallerBlocksAtAnyTime) {
    const auto body = body_of(3000);
    Block2Cache cache;
    auto first = cache.first_block(with_block2(get("/5/0/0"), 0, 4), content(body), 1024, t0);
    EXPECT_EQ(coap::block_option(first, option::block2)->szx, 4);
    EXPECT_EQ(first.payload().size(), 256u);
    // Continue at 128-byte blocks: block 2 of 128 = bytes 256..383.
    auto block = cache.serve(with_block2(get("/5/0/0"), 2, 3), t0);
    ASSERT_TRUE(block);
    EXPECT_EQ(block->payload(), coap::Bytes(body.begin() + 256, body.begin() + 384));
}

TEST(Block2Cache, OtherRequestsMissTheCache) {
    Block2Cache cache;
    (void)cache.first_block(get("/5/0/0"), content(body_of(4000)), 1024, t0);
    EXPECT_FALSE(cache.serve(with_block2(get("/5/0/1"), 1), t0));  // another path
    auto accept = with_block2(get("/5/0/0"), 1);
    accept.add_uint_option(option::accept, 60);
    EXPECT_FALSE(cache.serve(accept, t0));                         // another representation
    EXPECT_FALSE(cache.serve(get("/5/0/0"), t0));                  // no Block2: a new read
    EXPECT_FALSE(cache.serve(with_block2(get("/5/0/0"), 0), t0));  // block 0: a new read
    EXPECT_TRUE(cache.serve(with_block2(get("/5/0/0"), 1), t0));
}

TEST(Block2Cache, PastTheEndIsBadOption) {
    Block2Cache cache;
    (void)cache.first_block(get("/5/0/0"), content(body_of(2048)), 1024, t0);
    auto r = cache.serve(with_block2(get("/5/0/0"), 2), t0);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), code::bad_option);
}

TEST(Block2Cache, EntriesExpireAndTheByteBudgetEvictsTheOldest) {
    Block2Cache cache(5000, Duration{1000});
    (void)cache.first_block(get("/5/0/0"), content(body_of(3000)), 1024, t0);
    (void)cache.first_block(get("/5/0/1"), content(body_of(3000)), 1024, t0);
    EXPECT_EQ(cache.entries(), 1u);  // the first was evicted to stay under 5000 bytes
    EXPECT_FALSE(cache.serve(with_block2(get("/5/0/0"), 1), t0));
    EXPECT_TRUE(cache.serve(with_block2(get("/5/0/1"), 1), t0));
    EXPECT_FALSE(cache.serve(with_block2(get("/5/0/1"), 1), t0 + Duration{1000}));
    EXPECT_EQ(cache.bytes(), 0u);
    // Bodies larger than the whole budget are sliced but not kept.
    auto first = cache.first_block(get("/5/0/2"), content(body_of(6000)), 1024, t0);
    EXPECT_TRUE(first.find_option(option::block2));
    EXPECT_EQ(cache.entries(), 0u);
}

TEST(Block2Cache, NotificationContinuationIsAPlainGet) {
    // The observe request carries Observe=0; the core fetches the rest with GET + Block2.
    auto observe = get("/3/0");
    observe.add_uint_option(option::observe, 0);
    Block2Cache cache;
    auto first = cache.first_block(observe, content(body_of(2500)), 1024, t0);
    EXPECT_TRUE(first.find_option(option::block2));
    EXPECT_TRUE(cache.serve(with_block2(get("/3/0"), 1), t0));
}

TEST(Block2Cache, BertFirstPartIsSlicedAndLaterBlocksGoToTheDevice) {
    // The device answers a GET without Block2 with a 4 KiB BERT block of a longer body.
    auto bert = content(body_of(4096));
    coap::set_block_option(bert, option::block2, BlockOption{0, true, 7});
    bert.add_option(option::etag, coap::Bytes{1, 2});
    Block2Cache cache;
    auto first = cache.first_block(get("/5/0/0"), std::move(bert), 1100, t0);
    EXPECT_EQ(coap::block_option(first, option::block2), (BlockOption{0, true, 6}));
    EXPECT_EQ(first.payload().size(), 1024u);
    EXPECT_EQ(first.find_option(option::etag)->value, (coap::Bytes{1, 2}));
    auto third = cache.serve(with_block2(get("/5/0/0"), 3), t0);
    ASSERT_TRUE(third);
    EXPECT_EQ(coap::block_option(*third, option::block2), (BlockOption{3, true, 6}));
    EXPECT_FALSE(cache.serve(with_block2(get("/5/0/0"), 4), t0));  // past the part: the device
    // Later BERT-free blocks from the device fit and pass unchanged.
    auto later = content(body_of(1024));
    coap::set_block_option(later, option::block2, BlockOption{4, true, 6});
    auto passed = cache.first_block(with_block2(get("/5/0/0"), 4), std::move(later), 1100, t0);
    EXPECT_EQ(coap::block_option(passed, option::block2), (BlockOption{4, true, 6}));
}

TEST(Block2Cache, DeviceEtagIsKept) {
    auto r = content(body_of(2000));
    r.add_option(option::etag, coap::Bytes{9, 9});
    Block2Cache cache;
    auto first = cache.first_block(get("/5/0/0"), std::move(r), 1024, t0);
    EXPECT_EQ(first.find_option(option::etag)->value, (coap::Bytes{9, 9}));
}

Message post(coap::Bytes payload) {
    Message m(code::post, coap::Token::from_u64(7));
    m.add_option(option::uri_path, std::string_view("dp"));
    m.add_uint_option(option::content_format, 112);
    m.set_payload(std::move(payload));
    return m;
}

Message answer(std::uint8_t c, std::optional<BlockOption> block1 = std::nullopt) {
    Message m(c, coap::Token::from_u64(7));
    if (block1) coap::set_block_option(m, option::block1, *block1);
    return m;
}

TEST(Block1Upload, SmallOrDeviceSlicedRequestsAreNotTouched) {
    EXPECT_FALSE(Block1Upload::start(post(body_of(500)), 1024));
    auto sliced = post(body_of(1024));
    coap::set_block_option(sliced, option::block1, BlockOption{0, true, 6});
    EXPECT_FALSE(Block1Upload::start(sliced, 1100));
}

TEST(Block1Upload, BertBlockIsReslicedAtItsOffsetAndAnsweredAsTheDevicesBlock) {
    // The device's second BERT block (NUM 4 = offset 4096, 3 KiB, more to come).
    const auto chunk = body_of(3072);
    auto bert = post(chunk);
    coap::set_block_option(bert, option::block1, BlockOption{4, true, 7});
    auto upload = Block1Upload::start(bert, 1100);
    ASSERT_TRUE(upload);
    coap::Bytes sent;
    for (std::uint32_t num = 4; num <= 6; ++num) {
        const auto block = upload->current();
        EXPECT_EQ(coap::block_option(block, option::block1), (BlockOption{num, true, 6}));
        EXPECT_FALSE(block.uint_option(option::size1));
        sent.insert(sent.end(), block.payload().begin(), block.payload().end());
        auto cont = answer(code::continue_, BlockOption{num, true, 6});
        const auto step = upload->on_response(cont);
        if (num < 6) {
            ASSERT_EQ(step, Block1Upload::Step::send_next);
        } else {
            // The core's 2.31 for the last slice asks the device for its next BERT block.
            ASSERT_EQ(step, Block1Upload::Step::done);
            EXPECT_EQ(cont.code(), code::continue_);
            EXPECT_EQ(coap::block_option(cont, option::block1), (BlockOption{4, true, 7}));
        }
    }
    EXPECT_EQ(sent, chunk);
}

TEST(Block1Upload, LastBertBlockGetsTheCoresFinalAnswer) {
    auto bert = post(body_of(2048));
    coap::set_block_option(bert, option::block1, BlockOption{2, false, 7});
    auto upload = Block1Upload::start(bert, 1100);
    ASSERT_TRUE(upload);
    EXPECT_EQ(coap::block_option(upload->current(), option::block1), (BlockOption{2, true, 6}));
    auto cont = answer(code::continue_, BlockOption{2, true, 6});
    ASSERT_EQ(upload->on_response(cont), Block1Upload::Step::send_next);
    EXPECT_EQ(coap::block_option(upload->current(), option::block1), (BlockOption{3, false, 6}));
    auto done = answer(code::changed, BlockOption{3, false, 6});
    ASSERT_EQ(upload->on_response(done), Block1Upload::Step::done);
    EXPECT_EQ(coap::block_option(done, option::block1), (BlockOption{2, false, 7}));
}

TEST(Block1Upload, BertBlockThatFitsADatagramIsStillResliced) {
    // 1,124 bytes fit a 1,152-byte datagram, but SZX 7 means nothing over UDP.
    auto bert = post(body_of(1124));
    coap::set_block_option(bert, option::block1, BlockOption{2, false, 7});
    auto upload = Block1Upload::start(bert, 1130);
    ASSERT_TRUE(upload);
    EXPECT_EQ(coap::block_option(upload->current(), option::block1), (BlockOption{2, true, 6}));
    EXPECT_EQ(upload->current().payload().size(), 1024u);
}

TEST(Block1Upload, SendsEveryBlockAfterContinueAndReturnsTheFinalAnswer) {
    const auto body = body_of(64 * 1024 + 5);
    auto upload = Block1Upload::start(post(body), 1100);
    ASSERT_TRUE(upload);
    coap::Bytes received;
    for (std::uint32_t num = 0;; ++num) {
        const auto block = upload->current();
        const auto b1 = coap::block_option(block, option::block1);
        ASSERT_TRUE(b1);
        EXPECT_EQ(b1->num, num);
        EXPECT_EQ(b1->szx, 6);
        EXPECT_EQ(block.uint_option(option::content_format), 112u);
        EXPECT_EQ(block.uint_option(option::size1).has_value(), num == 0);
        received.insert(received.end(), block.payload().begin(), block.payload().end());
        if (!b1->more) break;
        auto cont = answer(code::continue_, BlockOption{num, true, 6});
        ASSERT_EQ(upload->on_response(cont), Block1Upload::Step::send_next);
    }
    EXPECT_EQ(received, body);
    auto done = answer(code::changed, BlockOption{64, false, 6});
    EXPECT_EQ(upload->on_response(done), Block1Upload::Step::done);
    EXPECT_EQ(done.code(), code::changed);
    EXPECT_FALSE(done.find_option(option::block1));
}

TEST(Block1Upload, CoreCanAskForSmallerBlocks) {
    const auto body = body_of(3000);
    auto upload = Block1Upload::start(post(body), 1024);
    ASSERT_TRUE(upload);
    EXPECT_EQ(upload->current().payload().size(), 1024u);
    auto cont = answer(code::continue_, BlockOption{0, true, 4});  // "256 please"
    ASSERT_EQ(upload->on_response(cont), Block1Upload::Step::send_next);
    const auto next = upload->current();
    EXPECT_EQ(coap::block_option(next, option::block1), (BlockOption{4, true, 4}));
    EXPECT_EQ(next.payload(), coap::Bytes(body.begin() + 1024, body.begin() + 1280));
}

TEST(Block1Upload, ErrorEndsTheUploadAndOutOfSequenceContinueFails) {
    auto upload = Block1Upload::start(post(body_of(3000)), 1024);
    ASSERT_TRUE(upload);
    auto err = answer(code::request_entity_too_large);
    EXPECT_EQ(upload->on_response(err), Block1Upload::Step::done);
    EXPECT_EQ(err.code(), code::request_entity_too_large);

    auto other = Block1Upload::start(post(body_of(3000)), 1024);
    auto wrong = answer(code::continue_, BlockOption{5, true, 6});
    EXPECT_EQ(other->on_response(wrong), Block1Upload::Step::failed);
    EXPECT_EQ(wrong.code(), code::bad_gateway);
}

TEST(BlockKey, IgnoresBlockSizeAndObserveButNotOtherOptions) {
    auto a = get("/5/0/0");
    auto b = with_block2(get("/5/0/0", 99), 3);
    b.add_uint_option(option::observe, 0);
    EXPECT_EQ(block_key(a), block_key(b));
    auto c = get("/5/0/0");
    c.add_option(option::uri_query, std::string_view("x=1"));
    EXPECT_NE(block_key(a), block_key(c));
    Message f1(code::fetch), f2(code::fetch);
    f1.set_payload(std::string_view("[{\"n\":\"/3/0/0\"}]"));
    f2.set_payload(std::string_view("[{\"n\":\"/3/0/1\"}]"));
    EXPECT_NE(block_key(f1), block_key(f2));
}

}  // namespace
}  // namespace lwgate::lwm2m
