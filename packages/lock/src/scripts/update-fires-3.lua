--[[ update-fires
  KEYS[1] fires hash
  KEYS[2] live zset
  KEYS[3] done zset
  ARGV    groups of updates that share an operation (several fires of one bucket in one call):
          operation (start | renew | finish | release), ms (lease ttl for renew, retention
          for finish; unused by start and release), final status (finish; '' otherwise),
          count, then `count` pairs: fire id, owner (`node SEP fencing`, as in the record)
  A finish with ms 0 deletes the record at once (nothing kept: its claim's mark guards it).
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
local writes, still_live, finished, now_done, dropped = {}, {}, {}, {}, {}
-- Their lengths, kept by hand: `#t` searches for the border on every use.
local n_writes, n_live, n_finished, n_done, n_dropped = 0, 0, 0, 0, 0
local out = {}

local byte, DONE, CLAIMED, SEP_BYTE = string.byte, string.byte('d'), string.byte('c'), string.byte(SEP)
local OWNER_AT = 9 -- after a live state of 7 letters and its separator
for g = 1, #groups do
  local op, ms, final_status, from, to = unpack(groups[g])
  -- A finish's retention as text, once a group (scores handed to redis.call as numbers are formatted a fire).
  local finishing = op == 'finish'
  local until_text = finishing and ms > 0 and ms_string(NOW + ms)
  for k = from, to do
    local fire_id = ids[k]
    -- An earlier update of this call wins over what was read; false: it deleted the record.
    local s = latest[fire_id]
    if s == nil then s = stored[k] end
    local rec, ok = nil, false
    if s then
      -- Fields by position: state SEP node SEP fencing SEP expires SEP status. A live state
      -- ('claimed', 'running') is 7 letters, so the owner (`node SEP fencing`) starts at 9 and is
      -- matched in place, then followed by a separator: no substring made and no separator
      -- searched for but the one after the expiry, which only a lease update reads.
      local owner = owners[k]
      local c = OWNER_AT + #owner -- the separator after the owner
      if byte(s, 1) ~= DONE and find(s, owner, OWNER_AT, true) == OWNER_AT and byte(s, c) == SEP_BYTE then
        if finishing then
          ok = true
          n_finished = n_finished + 1
          finished[n_finished] = fire_id
          if until_text then
            rec = 'done' .. SEP .. owner .. SEP .. until_text .. SEP .. final_status
            now_done[n_done + 1] = until_text
            now_done[n_done + 2] = fire_id
            n_done = n_done + 2
          else
            latest[fire_id] = false
            n_dropped = n_dropped + 1
            dropped[n_dropped] = fire_id
          end
        else
          local d = find(s, SEP, c + 1, true)
          local alive = tonumber(sub(s, c + 1, d - 1)) > NOW
          if op == 'start' then
            -- claimed -> running under the lease it has: the node's watchdog renews a fire's lease
            -- from its admission on, so the start moves neither the expiry nor the live set's score.
            if alive and byte(s, 1) == CLAIMED then rec = 'running' .. sub(s, OWNER_AT - 1) end
          elseif alive then
            local expires_text
            if op == 'release' then
              -- Given back unstarted (also a fire written running at its claim): claimable by anyone now.
              expires_text = ms_string(NOW)
              rec = 'claimed' .. sub(s, OWNER_AT - 1, c) .. expires_text .. sub(s, d)
            else
              -- A renewal keeps the state and owner as they are: only the expiry changes.
              expires_text = ms_string(NOW + ms)
              rec = sub(s, 1, c) .. expires_text .. sub(s, d)
            end
            still_live[n_live + 1] = expires_text
            still_live[n_live + 2] = fire_id
            n_live = n_live + 2
          end
        end
      end
    end
    if rec then
      ok = true
      latest[fire_id] = rec
      writes[n_writes + 1] = fire_id
      writes[n_writes + 2] = rec
      n_writes = n_writes + 2
    end
    out[k] = ok and '1' or '0'
  end
end
call_chunked('HSET', fires, writes)
call_chunked('ZADD', live, still_live)
call_chunked('ZREM', live, finished)
call_chunked('ZADD', done, now_done)
-- After the writes: a record written and then deleted in this call ends deleted.
call_chunked('HDEL', fires, dropped)
return table.concat(out)
