// One direction between two shards: the events one shard's bridge sends another wait here
// until the receiver's thread takes them. The sender hands over a loop turn's batch at once
// (one lock, and one wake-up of the receiver when the mailbox was empty); the receiver takes
// everything delivered so far. Three vectors trade places (the sender's outbox, pending, the
// receiver's draining batch), so once they have grown to a batch's size no batch allocates and
// no vector is freed on the other thread: only their capacity moves.
#pragma once

#include <algorithm>
#include <iterator>
#include <mutex>
#include <vector>

#include "bridge/shard_events.hpp"

namespace lwgate::lwm2m {

class ShardMailbox {
  public:
    // Sender's thread. Moves every event of `outbox` in (leaving it empty, with capacity).
    // True when the receiver must be woken: nothing was pending, so no take() is on its way.
    bool deliver(std::vector<ShardEvent>& outbox) {
        std::lock_guard lock(mutex_);
        const bool wake = pending_.empty();
        if (wake) {
            pending_.swap(outbox);
        } else {
            std::move(outbox.begin(), outbox.end(), std::back_inserter(pending_));
        }
        outbox.clear();
        return wake;
    }

    // Receiver's thread: everything delivered so far, oldest first. The caller handles the
    // events and clears the vector; it stays this mailbox's until the next take().
    std::vector<ShardEvent>& take() {
        draining_.clear();
        std::lock_guard lock(mutex_);
        pending_.swap(draining_);
        return draining_;
    }

  private:
    std::mutex mutex_;
    std::vector<ShardEvent> pending_;   // guarded by mutex_
    std::vector<ShardEvent> draining_;  // the receiver's only
};

}  // namespace lwgate::lwm2m
