#include "cluster_link/instance_link.hpp"

#include <spdlog/spdlog.h>

#include "cluster/lease_scripts.hpp"

namespace lwgate::cluster_link {

using redis::RedisReply;

namespace {
// BLPOP's own timeout: the inbox connection wakes this often even when nothing arrives.
constexpr int inbox_wait_seconds = 1;
}  // namespace

InstanceLink::InstanceLink(asio::io_context& io, const redis::RedisAddress& address,
                           cluster::InstanceId me, Duration lease, const TimeSource& time,
                           InstanceLinkSink sink)
    : time_(time),
      me_(std::move(me)),
      lease_(lease),
      sink_(std::move(sink)),
      commands_(io, address),
      inbox_(io, address),
      timer_(io),
      pop_timer_(io) {}

void InstanceLink::start() {
    commands_.start();
    inbox_.start();
    renew();
    pop();
}

void InstanceLink::stop() {
    stopped_ = true;
    timer_.cancel();
    pop_timer_.cancel();
}

// One timer: the next renewal, or the deadline of the one in flight.
void InstanceLink::schedule() {
    if (stopped_) return;
    const TimePoint at = std::min(lease_.next_renewal(), lease_.answer_deadline());
    if (at == never) return;
    timer_.expires_at(at);
    timer_.async_wait([this](const std::error_code& ec) {
        if (ec || stopped_) return;
        const TimePoint now = time_.now();
        if (lease_.answer_deadline() <= now) {
            ++stats_.renewal_failures;
            lease_.renewal_failed(now);
            commands_.reconnect();
        }
        if (lease_.next_renewal() <= now) return renew();
        schedule();
    });
}

void InstanceLink::renew() {
    if (stopped_) return;
    lease_.renewal_sent(time_.now());
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(lease_.lease());
    const auto incarnation = std::to_string(me_.incarnation);
    commands_.command(
        {"SET", cluster::instance_key(me_.name), incarnation, "PX", std::to_string(ms.count()),
         "GET"},
        [this, incarnation](std::error_code ec, RedisReply reply) {
            if (stopped_) return;
            const TimePoint now = time_.now();
            if (ec || reply.is_error()) {
                ++stats_.renewal_failures;
                lease_.renewal_failed(now);
                spdlog::debug("cluster: lease renewal failed: {}", ec ? ec.message() : reply.str);
                return schedule();
            }
            ++stats_.renewals;
            const bool still_there =
                reply.type == RedisReply::Type::string && reply.str == incarnation;
            if (lease_.renewed(now, still_there)) {
                ++stats_.lapses;
                spdlog::warn(
                    "cluster: instance {}'s lease had run out (Redis restarted or unreachable for "
                    "longer than cluster.lease): checking every endpoint held",
                    me_.name);
                if (sink_.lapsed) sink_.lapsed();
            }
            schedule();
        });
    schedule();
}

void InstanceLink::pop() {
    if (stopped_) return;
    inbox_.command({"BLPOP", cluster::inbox_key(me_.name), std::to_string(inbox_wait_seconds)},
                   [this](std::error_code ec, RedisReply reply) {
                       if (stopped_ || ec == redis::RedisErrc::shutting_down) return;
                       if (ec) {
                           // Not at once: this runs while the dropped connection is torn down,
                           // where a new command fails at once again (and would recurse).
                           pop_timer_.expires_after(std::chrono::milliseconds(100));
                           pop_timer_.async_wait([this](const std::error_code& e) {
                               if (!e) pop();
                           });
                           return;
                       }
                       if (reply.type == RedisReply::Type::array && reply.elements.size() == 2) {
                           if (auto notice = cluster::decode_notice(reply.elements[1].str)) {
                               ++stats_.notices;
                               if (sink_.notice) sink_.notice(std::move(*notice));
                           } else {
                               spdlog::warn("cluster: skipping an unreadable message in the inbox");
                           }
                       }
                       pop();
                   });
}

}  // namespace lwgate::cluster_link
