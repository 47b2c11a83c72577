#include "bridge/bridge_hosted.hpp"

namespace lwgate::lwm2m {

void Bridge::Hosted::send(ConnectionId conn, coap::Message&& message) {
    to_connection(conn, SendEvent{conn, std::move(message)});
}

void Bridge::Hosted::refuse(ConnectionId conn, coap::Message&& answer, Refusal reason,
                            const std::string& endpoint) {
    to_connection(conn, RefuseEvent{conn, reason, endpoint, std::move(answer)});
}

void Bridge::Hosted::registered(const Registered& registered) {
    to_connection(registered.conn, RegisteredEvent{registered});
}

void Bridge::Hosted::close_expired(ConnectionId conn) {
    to_connection(conn, CloseConnectionEvent{conn, session::CloseReason::registration_expired,
                                             "registration lifetime expired"});
}

std::size_t Bridge::Hosted::max_payload(const coap::Message& message) const {
    return link.max_payload(upstream, message);
}

bool Bridge::Hosted::send(const coap::Message& request) {
    return link.send(upstream, request);
}

void Bridge::Hosted::respond(CoreRequestId id, coap::Message&& response) {
    // A registration's held requests may come from the store (answered differently).
    if (bootstrap()) return link.respond(upstream, id, std::move(response));
    bridge_.respond_core(*this, id, std::move(response));
}

void Bridge::Hosted::notify(const coap::Message& notification) {
    link.notify(upstream, notification);
}

bool Bridge::Hosted::acknowledge_held(CoreRequestId id) {
    // store.ack_after_commit: as soon as the store has it.
    if (link.ack_after_commit()) {
        link.defer_ack(upstream, id);
        if (store_record) store_record->awaiting_commit.push_back(id);
        return true;
    }
    link.acknowledge(upstream, id);
    return false;
}

bool Bridge::Hosted::acknowledged(CoreRequestId id) const {
    return link.acknowledged(upstream, id);
}

}  // namespace lwgate::lwm2m
