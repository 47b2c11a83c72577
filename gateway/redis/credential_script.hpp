// The one script that writes credentials in Redis (credential_codec.hpp has the layout): all of a
// batch or nothing, and never a name (PSK identity, certificate name) that another endpoint holds,
// checked inside Redis so that two instances writing at once cannot both take one identity.
//   KEYS: the records, names, names-of and changes keys.
//   ARGV[1]: the change log's cap (exact: credential writes are rare, and a test can trim); then
//   per change: endpoint, the record's JSON
//   ('' removes it), its names (credential_names()).
// Returns {"ok"} or {"taken", name, endpoint that holds it}. A name held by an endpoint that the
// same batch changes counts as released (a batch may move an identity); the writer's own table
// has already checked that the batch itself gives no name twice.
#pragma once

#include <string_view>

namespace lwgate::redis {

inline constexpr std::string_view write_credentials_script = R"lua(
local n = (#ARGV - 1) / 3
local in_batch = {}
for i = 0, n - 1 do in_batch[ARGV[2 + 3 * i]] = true end
for i = 0, n - 1 do
  local ep = ARGV[2 + 3 * i]
  for name in string.gmatch(ARGV[4 + 3 * i], '[^\n]+') do
    local holder = redis.call('HGET', KEYS[2], name)
    if holder and holder ~= ep and not in_batch[holder] then
      return {'taken', name, holder}
    end
  end
end
for i = 0, n - 1 do
  local ep, record, names = ARGV[2 + 3 * i], ARGV[3 + 3 * i], ARGV[4 + 3 * i]
  local old = redis.call('HGET', KEYS[3], ep)
  if old then
    for name in string.gmatch(old, '[^\n]+') do
      if redis.call('HGET', KEYS[2], name) == ep then redis.call('HDEL', KEYS[2], name) end
    end
  end
  if record == '' then
    redis.call('HDEL', KEYS[1], ep)
    redis.call('HDEL', KEYS[3], ep)
  else
    redis.call('HSET', KEYS[1], ep, record)
    redis.call('HSET', KEYS[3], ep, names)
    for name in string.gmatch(names, '[^\n]+') do redis.call('HSET', KEYS[2], name, ep) end
  end
  redis.call('XADD', KEYS[4], 'MAXLEN', ARGV[1], '*', 'ep', ep)
end
return {'ok'}
)lua";

}  // namespace lwgate::redis
