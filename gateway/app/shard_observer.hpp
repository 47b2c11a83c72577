// What a shard tells those who follow it, on the shard's own thread. The shard knows nothing of
// what an observer keeps: the admin API's close history (CloseRecorder) is one, and another
// subscriber (an audit log, a cluster's ownership) plugs in the same way without a change here.
#pragma once

#include <optional>
#include <string>

#include "connection/session_host.hpp"
#include "session/close_reason.hpp"

namespace lwgate::app {

// A connection closed. Told before the bridge forgets what the connection spoke for.
struct SessionClosed {
    const session::SessionBase& session;
    session::CloseReason reason;
    const std::optional<std::string>& endpoint;  // the registration it carried, if any
    bool queue_mode;  // that registration is in queue mode: closing is its normal cycle
};

class ShardObserver {
  public:
    virtual ~ShardObserver() = default;
    virtual void on_session_closed(const SessionClosed& closed) = 0;
};

}  // namespace lwgate::app
