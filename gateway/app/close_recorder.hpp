// The admin API's memory of closes on one shard: a ShardObserver that keeps the recent closes
// per endpoint and the half-open detections (admin::CloseHistory) for the connection table,
// `lwgatectl show` and health. Lives on its shard's thread: written when a connection closes,
// read when the admin API samples the shard there.
#pragma once

#include "admin/close_history.hpp"
#include "app/shard_observer.hpp"
#include "util/time_source.hpp"

namespace lwgate::app {

class CloseRecorder final : public ShardObserver {
  public:
    explicit CloseRecorder(const TimeSource& time) : time_(time) {}
    void on_session_closed(const SessionClosed& closed) override;
    const admin::CloseHistory& history() const { return history_; }

  private:
    const TimeSource& time_;
    admin::CloseHistory history_;
};

}  // namespace lwgate::app
