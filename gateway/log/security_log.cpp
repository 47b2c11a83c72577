#include "log/security_log.hpp"

#include <string>

#include "log/fields.hpp"

namespace lwgate::logging {

namespace {

void write_summary(std::string_view kind, std::uint64_t count) {
    log(spdlog::level::warn, {{"reason", kind}, {"suppressed", count}},
        "{} similar line(s) not logged (log rate limit)", count);
}

}  // namespace

std::string identity_text(std::string_view psk_identity, std::string_view certificate) {
    if (!psk_identity.empty()) return "psk:" + std::string(psk_identity);
    if (!certificate.empty()) return "cert:" + std::string(certificate);
    return "none";
}

SecurityLog::SecurityLog(double rate, double burst) : limiter_(rate, burst) {}

void SecurityLog::refused(const SecurityEvent& e, TimePoint now) {
    if (admit(e.reason, now)) write_refused(e);
}

void SecurityLog::write_refused(const SecurityEvent& e) {
    const std::string identity = identity_text(e.psk_identity, e.certificate);
    log(e.level,
        {{"reason", e.reason},
         {"endpoint", e.endpoint},
         {"identity", identity},
         {"remote", e.remote},
         {"conn", e.conn == 0 ? FieldValue() : FieldValue(e.conn)}},
        "refused: {}", e.detail);
}

bool SecurityLog::may_log(std::string_view kind, TimePoint now) {
    return admit(kind, now);
}

bool SecurityLog::admit(std::string_view kind, TimePoint now) {
    const auto admission = limiter_.admit(kind, now);
    if (!admission.log) {
        held_back();
        return false;
    }
    if (admission.suppressed != 0) write_summary(kind, admission.suppressed);
    return true;
}

void SecurityLog::held_back() {
    const TimePoint due = limiter_.next_due();
    if (!arm_ || due >= armed_) return;
    armed_ = due;
    arm_(due);
}

void SecurityLog::write_summaries(TimePoint now) {
    armed_ = never;
    limiter_.take_due(now, write_summary);
    held_back();  // kinds whose token is not there yet
}

}  // namespace lwgate::logging
