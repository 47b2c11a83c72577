#include "lwm2m/relay_stats.hpp"

#include <algorithm>
#include <string_view>

namespace lwgate::lwm2m {

namespace code = coap::code;

namespace {

std::string token_bytes(const coap::Token& token) {
    const auto b = token.bytes();
    return {b.begin(), b.end()};
}

bool payload_starts_with(const coap::Message& m, std::string_view prefix) {
    const auto& p = m.payload();
    return p.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), p.begin());
}

}  // namespace

std::string_view downlink_operation(const coap::Message& request) {
    constexpr std::uint32_t link_format = 40;
    const auto depth = request.options_of(coap::option::uri_path).size();
    switch (request.code()) {
        case code::get:
        case code::fetch:
            if (request.find_option(coap::option::observe)) return "observe";
            if (request.uint_option(coap::option::accept) == link_format) return "discover";
            return "read";
        case code::put:
        case code::ipatch:
            return "write";
        case code::post:
            // Core §6.3: POST on an object creates, on an instance writes (partial update),
            // on a resource executes.
            if (depth == 1) return "create";
            if (depth == 2) return "write";
            if (depth >= 3) return "execute";
            return "other";
        case code::del:
            return "delete";
        default:
            return "other";
    }
}

std::string_view uplink_operation(Uplink kind) {
    switch (kind) {
        case Uplink::register_:
            return "register";
        case Uplink::update:
            return "update";
        case Uplink::deregister:
            return "deregister";
        case Uplink::send:
            return "send";
        default:
            return "other";
    }
}

void BridgeAdminStats::uplink_sent(const coap::Token& upstream_token, Uplink kind) {
    if (uplinks_.size() >= max_pending) uplinks_.clear();
    uplinks_[token_bytes(upstream_token)] = uplink_operation(kind);
}

void BridgeAdminStats::uplink_answered(const coap::Token& upstream_token, std::uint8_t code) {
    auto it = uplinks_.find(token_bytes(upstream_token));
    if (it == uplinks_.end()) return;  // a notification's answer, or beyond max_pending
    ++relayed_[RelayKey{true, it->second, code}];
    uplinks_.erase(it);
}

void BridgeAdminStats::core_response(const coap::Message& response, TimePoint now) {
    last_core_response_ = now;
    uplink_answered(response.token(), response.code());
}

void BridgeAdminStats::core_failure(const coap::Token& upstream_token, std::uint8_t code_for_device,
                                    TimePoint now) {
    last_core_failure_ = now;
    uplink_answered(upstream_token, code_for_device);
}

void BridgeAdminStats::downlink_received(std::uint64_t core_request_id,
                                         const coap::Message& request) {
    if (downlinks_.size() >= max_pending) downlinks_.clear();
    downlinks_[core_request_id] = downlink_operation(request);
}

void BridgeAdminStats::downlink_answered(std::uint64_t core_request_id,
                                         const coap::Message& response) {
    // The relay answers held requests it gives up on itself (DeviceRelay::respond): 5.03 with
    // Max-Age when the queue is full, 5.04 "device did not connect..." when one got too old.
    if (response.code() == code::service_unavailable &&
        response.find_option(coap::option::max_age)) {
        ++queue_overflow_;
    } else if (response.code() == code::gateway_timeout &&
               payload_starts_with(response, "device did not connect")) {
        ++queue_expired_;
    }
    auto it = downlinks_.find(core_request_id);
    if (it == downlinks_.end()) return;
    ++relayed_[RelayKey{false, it->second, response.code()}];
    downlinks_.erase(it);
}

}  // namespace lwgate::lwm2m
