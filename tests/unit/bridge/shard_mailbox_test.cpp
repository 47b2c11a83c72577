#include "bridge/shard_mailbox.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

namespace lwgate::lwm2m {
namespace {

ShardEvent closed(ConnectionId conn) {
    return ConnectionClosedEvent{conn, "ep"};
}

ConnectionId conn_of(const ShardEvent& e) {
    return std::get<ConnectionClosedEvent>(e).conn;
}

std::vector<ShardEvent> batch(ConnectionId first, std::size_t n) {
    std::vector<ShardEvent> out;
    for (std::size_t i = 0; i < n; ++i)
        out.push_back(closed(first + i));
    return out;
}

TEST(ShardMailboxTest, WakesOnlyWhenNothingWasPending) {
    ShardMailbox box;
    auto outbox = batch(1, 2);
    EXPECT_TRUE(box.deliver(outbox));
    EXPECT_TRUE(outbox.empty());
    auto more = batch(3, 1);
    EXPECT_FALSE(box.deliver(more));  // the first wake-up has not been handled yet
    auto& taken = box.take();
    ASSERT_EQ(taken.size(), 3u);
    for (std::size_t i = 0; i < taken.size(); ++i)
        EXPECT_EQ(conn_of(taken[i]), i + 1);
    taken.clear();
    auto later = batch(4, 1);
    EXPECT_TRUE(box.deliver(later));
}

TEST(ShardMailboxTest, TakeOfAnEmptyMailboxIsEmpty) {
    ShardMailbox box;
    EXPECT_TRUE(box.take().empty());
}

TEST(ShardMailboxTest, BatchesReuseTheirStorageOnceWarm) {
    ShardMailbox box;
    std::vector<ShardEvent> outbox;
    std::set<const ShardEvent*> seen;
    for (int round = 0; round < 12; ++round) {
        for (ConnectionId c = 0; c < 8; ++c)
            outbox.push_back(closed(c));
        if (round >= 3) {
            EXPECT_TRUE(seen.count(outbox.data())) << "round " << round;
        }
        seen.insert(outbox.data());
        box.deliver(outbox);
        box.take().clear();
    }
    EXPECT_LE(seen.size(), 3u);  // three buffers trade places, none is allocated anew
}

TEST(ShardMailboxTest, KeepsOrderAcrossThreads) {
    ShardMailbox box;
    constexpr ConnectionId total = 50000;
    std::atomic<bool> done{false};
    std::thread sender([&] {
        std::vector<ShardEvent> outbox;
        for (ConnectionId c = 0; c < total; ++c) {
            outbox.push_back(closed(c));
            if (c % 7 == 0) box.deliver(outbox);
        }
        box.deliver(outbox);
        done = true;
    });
    ConnectionId expected = 0;
    bool finished = false;
    while (expected < total) {
        finished = done.load();
        auto& events = box.take();
        for (const auto& e : events)
            ASSERT_EQ(conn_of(e), expected++);
        events.clear();
        if (finished && expected < total) {
            // The sender had finished before this take(): everything must have arrived.
            ASSERT_TRUE(box.take().empty());
            break;
        }
    }
    sender.join();
    EXPECT_EQ(expected, total);
}

}  // namespace
}  // namespace lwgate::lwm2m
