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
local ids = {}
for i = 2, #ARGV, 5 do ids[#ids + 1] = ARGV[i] end
-- The purge of finished records rides on updates (off the claims' critical path),
-- up to twice each batch, so it outpaces the finishing.
purge_done(fires, done, 64 + 2 * #ids)
local stored = hmget_chunked(fires, ids)
local latest = {} -- fire id -> record after an earlier update of this call
local writes, still_live, now_done, finished = {}, {}, {}, {}
local out = {}

local function update(k, op, fire_id, token, ms, final_status)
  local rec = latest[fire_id]
  if rec == nil then
    if not stored[k] then return 0 end
    rec = unpack_record(stored[k])
  end
  if token_of(rec) ~= token or rec.state == 'done' then return 0 end
  if op ~= 'finish' and rec.expires <= NOW then return 0 end
  -- rec is this call's own copy (fresh from the hash, or from an earlier update): changed in place.
  if op == 'start' then
    if rec.state ~= 'claimed' then return 0 end
    rec.state, rec.expires = 'running', NOW + ms
  elseif op == 'renew' then
    rec.expires = NOW + ms
  elseif op == 'finish' then
    rec.state, rec.expires, rec.status = 'done', NOW + ms, final_status
  elseif op == 'release' then
    -- Given back unstarted (also a fire written running at its claim): claimable by anyone now.
    rec.state, rec.expires = 'claimed', NOW
  else
    return -1
  end
  latest[fire_id] = rec
  return 1
end

for k = 1, #ids do
  local i = (k - 1) * 5 + 1
  local r = update(k, ARGV[i], ids[k], ARGV[i + 2], tonumber(ARGV[i + 3]), ARGV[i + 4])
  if r == -1 then return redis.error_reply('update-fires: unknown operation ' .. ARGV[i]) end
  out[k] = r
end
for fire_id, rec in pairs(latest) do
  writes[#writes + 1] = fire_id
  writes[#writes + 1] = pack_record(rec)
  if rec.state == 'done' then
    now_done[#now_done + 1] = rec.expires
    now_done[#now_done + 1] = fire_id
    finished[#finished + 1] = fire_id
  else
    still_live[#still_live + 1] = rec.expires
    still_live[#still_live + 1] = fire_id
  end
end
call_chunked('HSET', fires, writes)
call_chunked('ZADD', live, still_live)
call_chunked('ZREM', live, finished)
call_chunked('ZADD', done, now_done)
return out
