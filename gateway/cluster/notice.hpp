// The messages one instance leaves in another's inbox (cluster_link/ carries them through Redis):
// "please hand this endpoint over to me" and "I released it". Text, so that an operator can read
// an inbox with redis-cli: "<kind> <instance> <incarnation> <endpoint>", the endpoint last (it
// may contain spaces; instance names may not). Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cluster/lease_rules.hpp"

namespace lwgate::cluster {

enum class NoticeKind : std::uint8_t { handover, released };

struct Notice {
    NoticeKind kind = NoticeKind::handover;
    InstanceId from;
    std::string endpoint;
};

std::string encode_notice(const Notice& notice);
// nullopt for anything that is not a notice (another version, damage): skipped by the caller.
std::optional<Notice> decode_notice(std::string_view text);

// "granted EPOCH" / "held NAME INCARNATION EPOCH", the claim script's answer.
std::optional<ClaimResult> decode_claim_reply(std::string_view text);

}  // namespace lwgate::cluster
