--[[ update-fires
  KEYS[1] fires hash
  KEYS[2] live zset
  KEYS[3] done zset
  ARGV    groups of five, one per update (several fires of one bucket in one call):
          operation (start | renew | finish | release), fire id, owner token,
          ms (lease ttl for start and renew, retention for finish), final status (finish)
  Returns one integer per update: 1 when the record was ours and changed, else
  0. A record is ours while its token matches and (but for finish) its lease
  has not lapsed.
]]
--! include bucket.lua
local fires, live, done = KEYS[1], KEYS[2], KEYS[3]

local function update(op, fire_id, token, ms, final_status)
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
    state, expires, status = 'done', NOW + ms, final_status
  elseif op == 'release' then
    if rec.state ~= 'claimed' then return 0 end
    expires = NOW
  else
    return redis.error_reply('update-fires: unknown operation ' .. op)
  end
  redis.call('HSET', fires, fire_id, pack(state, rec.node, rec.token, rec.fencing, expires, status, rec.job))
  if state == 'done' then
    redis.call('ZREM', live, fire_id)
    redis.call('ZADD', done, expires, fire_id)
  else
    redis.call('ZADD', live, expires, fire_id)
  end
  return 1
end

local out = {}
for i = 1, #ARGV, 5 do
  local r = update(ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3]), ARGV[i + 4])
  if type(r) == 'table' then return r end
  out[#out + 1] = r
end
return out
