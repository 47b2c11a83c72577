// The admin API's snapshot of one shard: visits its sessions, its bridge's registrations and
// its counters, and copies what the scope asks for (never shares live state with the HTTP
// thread). Runs on the shard's own thread; the shard has no admin code of its own.
#pragma once

#include "admin/model.hpp"
#include "app/close_recorder.hpp"
#include "app/shard.hpp"

namespace lwgate::app {

admin::ShardSample sample_shard(const Shard& shard, const CloseRecorder& closes,
                                const admin::CollectScope& scope);

}  // namespace lwgate::app
