#include "endpoint/endpoint_host.hpp"

#include <variant>

namespace lwgate::lwm2m {

using coap::Message;
namespace code = coap::code;

EndpointHost::EndpointHost(std::string endpoint, const RelayParams& params,
                           std::uint64_t token_seed, RelayCounters* counters, Ports ports)
    : relay_(std::move(endpoint), params, token_seed, counters), ports_(ports) {}

void EndpointHost::on_device_request(ConnectionId conn, Message&& request, TimePoint now,
                                     bool authenticated) {
    device_seen(now);
    relay_.on_device_request(conn, std::move(request), now, authenticated);
    run(now);
}

void EndpointHost::on_device_response(ConnectionId conn, Message&& response, TimePoint now) {
    device_seen(now);
    relay_.on_device_response(conn, std::move(response), now);
    run(now);
}

void EndpointHost::on_device_disconnected(ConnectionId conn, TimePoint now) {
    relay_.on_device_disconnected(conn, now);
    run(now);
}

void EndpointHost::on_core_request(CoreRequestId id, Message&& request, TimePoint now) {
    core_request_seen(id, request, now);
    // No connection: the request waits in the relay's queue, likely beyond the piggyback
    // window; acknowledge it now so the core stops counting its ACK_TIMEOUT. Held back for a
    // piggybacked answer, it is not persistent state yet (the core would send it again after a
    // restart): nothing is stored for a request answered within the window.
    const bool held = !relay_.connection() && ports_.core.acknowledge_held(id);
    relay_.on_core_request(id, std::move(request), now, held || ports_.core.acknowledged(id));
    run(now);
}

void EndpointHost::on_core_request_acknowledged(CoreRequestId id, TimePoint now) {
    relay_.on_core_request_acknowledged(id);
    run(now);
}

void EndpointHost::on_core_response(Message&& response, TimePoint now) {
    if (auto up = uploads_.find(token_key(response.token())); up != uploads_.end()) {
        if (up->second.on_response(response) == Block1Upload::Step::send_next) {
            if (ports_.core.send(up->second.current())) return;
            uploads_.erase(up);
            relay_.on_core_failure(response.token(), code::bad_gateway,
                                   "cannot send the next Block1 block");
            return run(now);
        }
        uploads_.erase(up);
    }
    relay_.on_core_response(std::move(response), now);
    run(now);
}

void EndpointHost::on_core_failure(const coap::Token& token, std::uint8_t code_for_device,
                                   std::string_view reason, TimePoint now) {
    uploads_.erase(token_key(token));
    relay_.on_core_failure(token, code_for_device, reason);
    run(now);
}

void EndpointHost::on_core_reset(const coap::Token& token, TimePoint now) {
    relay_.on_core_reset(token);
    run(now);
}

std::optional<Message> EndpointHost::answer_locally(const Message& request, TimePoint now) {
    return block2_.serve(request, now);
}

void EndpointHost::on_upstream_replaced(TimePoint now) {
    relay_.on_upstream_replaced(now);
    run(now);
}

void EndpointHost::on_tick(TimePoint now) {
    relay_.on_tick(now);
    run(now);
}

void EndpointHost::run(TimePoint now) {
    for (auto actions = relay_.take_actions(); !actions.empty(); actions = relay_.take_actions()) {
        for (auto& action : actions)
            std::visit([&](auto& a) { execute(a, now); }, action);
    }
}

void EndpointHost::execute(ToDevice& a, TimePoint) {
    if (a.refusal)
        return ports_.device.refuse(a.conn, std::move(a.message), *a.refusal, endpoint());
    ports_.device.send(a.conn, std::move(a.message));
}

void EndpointHost::execute(ToCore& a, TimePoint) {
    ports_.observer.uplink_sent(relay_.endpoint(), a.request, a.kind);
    send_to_core(std::move(a.request));
}

void EndpointHost::execute(RespondCore& a, TimePoint now) {
    ports_.observer.downlink_answered(a.id, a.response);
    Message response = std::move(a.response);
    if (a.request) {
        response = block2_.first_block(*a.request, std::move(response),
                                       ports_.core.max_payload(response), now);
    }
    answered(a.id, response, now);
    ports_.core.respond(a.id, std::move(response));
}

void EndpointHost::execute(NotifyCore& a, TimePoint now) {
    if (const Message* observe = relay_.observation_request(a.notification.token())) {
        a.notification = block2_.first_block(*observe, std::move(a.notification),
                                             ports_.core.max_payload(a.notification), now);
    }
    ports_.observer.notification_sent(a.notification);
    ports_.core.notify(a.notification);
}

void EndpointHost::execute(Registered& a, TimePoint) {
    ports_.device.registered(a);
}

void EndpointHost::execute(CloseDevice& a, TimePoint) {
    ports_.device.close_expired(a.conn);
}

void EndpointHost::execute(Forget&, TimePoint) {}  // finished() tells the glue

void EndpointHost::send_to_core(Message&& request) {
    const std::size_t max = ports_.core.max_payload(request);
    if (auto upload = Block1Upload::start(request, max)) {
        const Message first = upload->current();
        uploads_.insert_or_assign(token_key(request.token()), std::move(*upload));
        if (ports_.core.send(first)) return;
        uploads_.erase(token_key(request.token()));
    } else if (ports_.core.send(request)) {
        return;
    }
    relay_.on_core_failure(request.token(), code::request_entity_too_large,
                           "does not fit the core's transport");
}

// ---- bootstrap -------------------------------------------------------------------------------

void BootstrapHost::core_request_seen(CoreRequestId id, const Message& request, TimePoint now) {
    until_ = now + timeout;
    const auto path = uri_path(request);
    if (request.code() == code::post && path.size() == 1 && path[0] == "bs") finish_id_ = id;
}

void BootstrapHost::answered(CoreRequestId id, const Message& response, TimePoint now) {
    // Give the answer time to reach the server (and its retransmission window) before the
    // session goes.
    if (finish_id_ == id && coap::code_class(response.code()) == 2) until_ = now + linger;
}

}  // namespace lwgate::lwm2m
