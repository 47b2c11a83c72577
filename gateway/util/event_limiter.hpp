// A log budget per kind of event: a flood of one kind (refused identities, failed handshakes)
// must not fill the disk, nor hide the first events of another kind. Each kind has a token
// bucket; what it holds back is counted and reported once, in one summary, when its bucket has
// a token again. Pure, time passed in; no allocation after construction, so that a suppressed
// event costs a lookup among a few kinds and an increment.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "util/token_bucket.hpp"

namespace lwgate {

class EventLimiter {
  public:
    struct Admission {
        bool log = false;
        // Events of this kind held back before this one: their summary is due with it.
        std::uint64_t suppressed = 0;
    };

    // Per kind: `burst` events at once, then `rate` per second. Kinds beyond `max_kinds` share
    // one budget, named "other".
    EventLimiter(double rate, double burst, std::size_t max_kinds = 32)
        : rate_(rate), burst_(burst), max_kinds_(max_kinds < 1 ? 1 : max_kinds) {
        slots_.reserve(max_kinds_);
    }

    // `kind` must outlive the limiter (a string literal, a static label).
    Admission admit(std::string_view kind, TimePoint now) {
        Slot& slot = slot_of(kind, now);
        if (!slot.bucket.try_take(now)) {
            ++slot.held;
            return {};
        }
        const std::uint64_t held = slot.held;
        slot.held = 0;
        return {true, held};
    }

    // Reports `report(kind, count)` for every kind with events held back whose bucket has a
    // token again (taking it: a summary is a line too), and forgets their counts.
    template <class Report>
    void take_due(TimePoint now, Report&& report) {
        for (auto& slot : slots_) {
            if (slot.held == 0 || !slot.bucket.try_take(now)) continue;
            const std::uint64_t held = slot.held;
            slot.held = 0;
            report(slot.kind, held);
        }
    }

    // When take_due() will have something to report; `never` while nothing is held back.
    TimePoint next_due() const {
        TimePoint due = never;
        for (const auto& slot : slots_) {
            if (slot.held == 0) continue;
            const TimePoint at = slot.bucket.next_token_at();
            if (at < due) due = at;
        }
        return due;
    }

    std::uint64_t held() const {
        std::uint64_t n = 0;
        for (const auto& slot : slots_)
            n += slot.held;
        return n;
    }

  private:
    struct Slot {
        std::string_view kind;
        TokenBucket bucket;
        std::uint64_t held = 0;
    };

    Slot& slot_of(std::string_view kind, TimePoint now) {
        for (auto& slot : slots_)
            if (slot.kind == kind) return slot;
        // The last place is the shared one's.
        const bool room = slots_.size() + 1 < max_kinds_;
        if (!room) {
            for (auto& slot : slots_)
                if (slot.kind == other) return slot;
        }
        return slots_.emplace_back(Slot{room ? kind : other, TokenBucket(rate_, burst_, now)});
    }

    static constexpr std::string_view other = "other";
    double rate_;
    double burst_;
    std::size_t max_kinds_;
    std::vector<Slot> slots_;
};

}  // namespace lwgate
