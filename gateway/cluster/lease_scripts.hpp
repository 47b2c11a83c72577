// The lease rules (lease_rules.hpp) as Redis Lua scripts: Redis runs each atomically. Every
// script touches only keys of one endpoint, which all carry the endpoint as their hash tag
// (`{urn:imei:1}`), so they also run on Redis Cluster; the one read of another key (whether a
// holder's instance lease is alive) is made before, by the caller, and passed in. The
// integration test runs random sequences through these scripts and through lease_rules.cpp and
// requires the same answers, so the two cannot drift apart.
//
// Data, no I/O: the glue sends them (EVAL, later EVALSHA).
#pragma once

#include <string>
#include <string_view>

namespace lwgate::cluster {

// The owner record of an endpoint: a hash {instance, incarnation, epoch}.
inline std::string owner_key(std::string_view endpoint) {
    return "lwgate:owner:{" + std::string(endpoint) + "}";
}
// An instance's lease: its incarnation as the value, expiring after cluster.lease.
inline std::string instance_key(std::string_view name) {
    return "lwgate:instance:" + std::string(name);
}

// KEYS[1] owner key; ARGV name, incarnation, and the holder found dead ("name incarnation", or
// "" when none is known dead). Answers "granted EPOCH" or "held NAME INCARNATION EPOCH".
inline constexpr std::string_view claim_script = R"lua(
local o = redis.call('HMGET', KEYS[1], 'instance', 'incarnation', 'epoch')
local epoch = tonumber(o[3] or '0')
if o[1] and o[1] ~= '' then
  if o[1] == ARGV[1] and o[2] == ARGV[2] then return 'granted ' .. epoch end
  if o[1] .. ' ' .. o[2] ~= ARGV[3] then
    return 'held ' .. o[1] .. ' ' .. o[2] .. ' ' .. epoch
  end
end
epoch = epoch + 1
redis.call('HSET', KEYS[1], 'instance', ARGV[1], 'incarnation', ARGV[2], 'epoch', epoch)
return 'granted ' .. epoch
)lua";

// KEYS[1] owner key; ARGV name, incarnation, epoch. "released" (the epoch stays for the next
// owner) or "refused" (not its owner under that epoch).
inline constexpr std::string_view release_script = R"lua(
local o = redis.call('HMGET', KEYS[1], 'instance', 'incarnation', 'epoch')
if o[1] ~= ARGV[1] or o[2] ~= ARGV[2] or o[3] ~= ARGV[3] then return 'refused' end
redis.call('HDEL', KEYS[1], 'instance', 'incarnation')
return 'released'
)lua";

// The fence of every write: KEYS[1] owner key, KEYS[2] the key written; ARGV name,
// incarnation, epoch, then field/value pairs set in KEYS[2] only when the caller still owns the
// endpoint under that epoch. "ok" or "refused".
inline constexpr std::string_view fenced_hset_script = R"lua(
local o = redis.call('HMGET', KEYS[1], 'instance', 'incarnation', 'epoch')
if o[1] ~= ARGV[1] or o[2] ~= ARGV[2] or o[3] ~= ARGV[3] then return 'refused' end
if #ARGV > 3 then redis.call('HSET', KEYS[2], unpack(ARGV, 4)) end
return 'ok'
)lua";

// A device record replaced whole under the fence: KEYS[1] owner key, KEYS[2] the record's key;
// ARGV name, incarnation, epoch, then the record's field/value pairs (none: the record is
// deleted). "ok" or "refused" (another instance owns the endpoint now: nothing is written).
inline constexpr std::string_view fenced_replace_script = R"lua(
local o = redis.call('HMGET', KEYS[1], 'instance', 'incarnation', 'epoch')
if o[1] ~= ARGV[1] or o[2] ~= ARGV[2] or o[3] ~= ARGV[3] then return 'refused' end
redis.call('DEL', KEYS[2])
if #ARGV > 3 then redis.call('HSET', KEYS[2], unpack(ARGV, 4)) end
return 'ok'
)lua";

// Where a registration's location leads (an Update names only its location, and the device may
// send it to any instance): "lwgate:loc:/rd/5" = "<0|1 authenticated> <endpoint>". A hint, not
// the truth: the endpoint's owner record decides, and a stale hint only costs a 4.04.
inline std::string location_key(std::string_view location) {
    return "lwgate:loc:" + std::string(location);
}
// An instance's inbox: the other instances push handover requests and release notices here
// (RPUSH), the instance pops them (BLPOP). A list and not a pub/sub channel: a message pushed
// while the instance reconnects waits for it instead of being lost, and the key expires with
// the lease when the instance is gone for good.
inline std::string inbox_key(std::string_view name) {
    return "lwgate:inbox:" + std::string(name);
}

}  // namespace lwgate::cluster
