--[[ update-fires
  KEYS[1] fires hash
  KEYS[2] live zset
  KEYS[3] done zset
  ARGV    groups of updates that share an operation (several fires of one bucket in one call):
          operation (start | renew | finish | release), ms (lease ttl for start and renew,
          retention for finish), final status (finish; '' otherwise), count, then `count`
          pairs: fire id, owner (`node SEP fencing`, as in the record)
  Returns a string, one digit per update in the order sent: 1 when the record was
  ours and changed, else 0. A record is ours while its owner matches and (but for
  finish) its lease has not lapsed.
]]
--! include bucket.lua
local fires, live, done = KEYS[1], KEYS[2], KEYS[3]
local OPS = { start = true, renew = true, finish = true, release = true }
local groups, ids, owners, n = {}, {}, {}, 0
local i, argc = 1, #ARGV
while i <= argc do
  local op, count = ARGV[i], tonumber(ARGV[i + 3])
  if not OPS[op] then return redis.error_reply('update-fires: unknown operation ' .. tostring(op)) end
  groups[#groups + 1] = { op, tonumber(ARGV[i + 1]), ARGV[i + 2], n + 1, n + count }
  for j = i + 4, i + 2 + 2 * count, 2 do
    n = n + 1
    ids[n] = ARGV[j]
    owners[n] = ARGV[j + 1]
  end
  i = i + 4 + 2 * count
end
-- The purge of finished records rides on updates (off the claims' critical path),
-- up to twice each batch, so it outpaces the finishing.
purge_done(fires, done, 64 + 2 * n)
local stored = hmget_chunked(fires, ids)
local latest = {} -- fire id -> record after an earlier update of this call
-- Applied in this order, so a fire updated twice ends as its last update left it.
local writes, still_live, finished, now_done = {}, {}, {}, {}
local out = {}

for g = 1, #groups do
  local op, ms, final_status, from, to = unpack(groups[g])
  for k = from, to do
    local fire_id = ids[k]
    local s = latest[fire_id] or stored[k]
    local rec = nil
    if s then
      -- Fields by position: state SEP node SEP fencing SEP expires SEP status.
      local a, _, c, d = record_seps(s)
      local state = sub(s, 1, a - 1)
      if state ~= 'done' and sub(s, a + 1, c - 1) == owners[k] then
        if op == 'finish' then
          rec = 'done' .. sub(s, a, c) .. ms_string(NOW + ms) .. SEP .. final_status
          now_done[#now_done + 1] = NOW + ms
          now_done[#now_done + 1] = fire_id
          finished[#finished + 1] = fire_id
        elseif tonumber(sub(s, c + 1, d - 1)) > NOW and (op ~= 'start' or state == 'claimed') then
          local new_state, expires = state, NOW + ms
          if op == 'start' then
            new_state = 'running'
          elseif op == 'release' then
            -- Given back unstarted (also a fire written running at its claim): claimable by anyone now.
            new_state, expires = 'claimed', NOW
          end
          rec = new_state .. sub(s, a, c) .. ms_string(expires) .. sub(s, d)
          still_live[#still_live + 1] = expires
          still_live[#still_live + 1] = fire_id
        end
      end
    end
    if rec then
      latest[fire_id] = rec
      writes[#writes + 1] = fire_id
      writes[#writes + 1] = rec
      out[k] = '1'
    else
      out[k] = '0'
    end
  end
end
call_chunked('HSET', fires, writes)
call_chunked('ZADD', live, still_live)
call_chunked('ZREM', live, finished)
call_chunked('ZADD', done, now_done)
return table.concat(out)
