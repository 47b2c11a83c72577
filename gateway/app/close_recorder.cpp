#include "app/close_recorder.hpp"

namespace lwgate::app {

void CloseRecorder::on_session_closed(const SessionClosed& closed) {
    const TimePoint now = time_.now();
    if (closed.reason == session::CloseReason::half_open) history_.record_half_open(now);
    if (!closed.endpoint) return;
    history_.record(
        *closed.endpoint,
        admin::CloseRecord{time_.wall_now(), now, closed.reason, closed.session.close_detail(),
                           admin::close_expected(closed.reason, closed.queue_mode)});
}

}  // namespace lwgate::app
