--[[ update-fire
  KEYS[1] fires hash
  KEYS[2] live zset
  KEYS[3] done zset
  ARGV[1] operation: start | renew | finish | release
  ARGV[2] fire id
  ARGV[3] owner token
  ARGV[4] ms: lease ttl (start, renew) or retention (finish)
  ARGV[5] final status (finish)
  Returns 1 when the record was ours and changed, else 0. A record is ours
  while its token matches and (but for finish) its lease has not lapsed.
]]
--! include bucket.lua
local fires, live, done = KEYS[1], KEYS[2], KEYS[3]
local op, fire_id, token, ms = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local packed = redis.call('HGET', fires, fire_id)
if not packed then return 0 end
local rec = unpack_record(packed)
if rec.token ~= token or rec.state == 'done' then return 0 end
if op ~= 'finish' and rec.expires <= NOW then return 0 end
local state, expires, status = rec.state, rec.expires, rec.status
if op == 'start' then
  if rec.state ~= 'claimed' then return 0 end
  state, expires = 'running', NOW + ms
elseif op == 'renew' then
  expires = NOW + ms
elseif op == 'finish' then
  state, expires, status = 'done', NOW + ms, ARGV[5]
elseif op == 'release' then
  if rec.state ~= 'claimed' then return 0 end
  expires = NOW
else
  return redis.error_reply('update-fire: unknown operation ' .. op)
end
redis.call('HSET', fires, fire_id, pack(state, rec.node, rec.token, rec.fencing, expires, status, rec.job))
if state == 'done' then
  redis.call('ZREM', live, fire_id)
  redis.call('ZADD', done, expires, fire_id)
else
  redis.call('ZADD', live, expires, fire_id)
end
return 1
