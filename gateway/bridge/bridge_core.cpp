// The bridge as libcoap's CoreLink sees it (CoreLinkHandler): what the core (or the bootstrap
// server) sends reaches the host of the upstream session it arrived on.
#include <spdlog/spdlog.h>

#include "bridge/bridge.hpp"
#include "bridge/bridge_hosted.hpp"

namespace lwgate::lwm2m {

using coap::Message;

void Bridge::on_core_request(upstream::UpstreamSession& session, upstream::CoreRequestId id,
                             Message&& request) {
    Hosted* hosted = find(session);
    if (!hosted) {
        core_link_.respond(session, id, Message(coap::code::not_found));
        return;
    }
    admin_stats.downlink_received(id, request);
    const TimePoint now = time_.now();
    hosted->host().on_core_request(id, std::move(request), now);
    settle(*hosted, now);
}

void Bridge::on_core_request_acknowledged(upstream::UpstreamSession& session,
                                          upstream::CoreRequestId id) {
    if (Hosted* hosted = find(session)) {
        if (hosted->link.ack_after_commit() && hosted->store_record) {
            hosted->store_record->awaiting_commit.push_back(id);
        }
        const TimePoint now = time_.now();
        hosted->host().on_core_request_acknowledged(id, now);
        settle(*hosted, now);  // persists it now
    }
}

void Bridge::on_store_committed(std::uint64_t committed) {
    if (cluster_) release_after_commit(committed);
    if (!store_writer_) return;
    for (const auto& release : store_writer_->committed(committed)) {
        if (Hosted* hosted = find(release.endpoint)) {
            for (const auto id : release.ids)
                hosted->link.release_ack(hosted->upstream, id);
        }
    }
}

void Bridge::on_core_response(upstream::UpstreamSession& session, Message&& response) {
    const TimePoint now = time_.now();
    admin_stats.core_response(response, now);
    if (Hosted* hosted = find(session)) {
        hosted->host().on_core_response(std::move(response), now);
        settle(*hosted, now);
    }
}

void Bridge::on_core_failure(upstream::UpstreamSession& session, const coap::Token& token,
                             std::uint8_t code_for_device, std::string_view reason) {
    const TimePoint now = time_.now();
    admin_stats.core_failure(token, code_for_device, now);
    if (Hosted* hosted = find(session)) {
        spdlog::warn("endpoint={} uplink failed: {}", hosted->host().endpoint(), reason);
        hosted->host().on_core_failure(token, code_for_device, reason, now);
        settle(*hosted, now);
    }
}

std::optional<Message> Bridge::answer_locally(upstream::UpstreamSession& session,
                                              const Message& request) {
    Hosted* hosted = find(session);
    if (!hosted) return std::nullopt;
    return hosted->host().answer_locally(request, time_.now());
}

void Bridge::on_core_reset(upstream::UpstreamSession& session, const coap::Token& token) {
    if (Hosted* hosted = find(session)) {
        const TimePoint now = time_.now();
        hosted->host().on_core_reset(token, now);
        settle(*hosted, now);
    }
}

}  // namespace lwgate::lwm2m
