--[[ list-expired
  KEYS[1] fires hash
  KEYS[2] live zset
  KEYS[3] batches index (batch.lua)
  ARGV[1] now (ms): leases that ended at or before it
  ARGV[2] limit: of fires listed (a claim batch lists each fire it still holds)
  Returns a flat array of fireId, packed record, oldest lease first; ids whose
  record is gone or done are dropped from the live set on the way, and so are
  batches that hold no fire.
]]
--! include bucket.lua
--! include batch.lua
local fires, live, batches = KEYS[1], KEYS[2], KEYS[3]
local limit = tonumber(ARGV[2])
local entries = redis.call('ZRANGEBYSCORE', live, '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, limit)
local out = {}
for i = 1, #entries, 2 do
  if #out >= 2 * limit then break end
  local id, lease = entries[i], entries[i + 1]
  if string.match(id, '^#%d+$') then
    local got = redis.call('HMGET', fires, id, id .. '.s')
    local head, states = got[1], got[2]
    local gid = tonumber(sub(id, 2))
    if head and states and batch_holds(states) then
      local node, _, fires_from = batch_header(head)
      local pos = 0
      for fire_id in string.gmatch(sub(head, fires_from + 1), '[^' .. SEP .. ']+') do
        pos = pos + 1
        local state = STATE_OF[sub(states, pos, pos)]
        if state then
          out[#out + 1] = fire_id
          out[#out + 1] = pack(state, node, gid_text(gid + pos - 1), lease, '')
          if #out >= 2 * limit then break end
        end
      end
    elseif head then
      batch_delete(fires, live, batches, gid, select(2, batch_header(head)))
    else
      redis.call('ZREM', live, id)
    end
  else
    local packed = redis.call('HGET', fires, id)
    if packed and unpack_record(packed).state ~= 'done' then
      out[#out + 1] = id
      out[#out + 1] = packed
    else
      redis.call('ZREM', live, id)
    end
  end
end
return out
