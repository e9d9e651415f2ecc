--[[ list-expired
  KEYS[1] fires hash
  KEYS[2] live zset
  ARGV[1] now (ms): leases that ended at or before it
  ARGV[2] limit
  Returns a flat array of fireId, packed record, oldest lease first; ids whose
  record is gone or done are dropped from the live set on the way.
]]
--! include bucket.lua
local fires, live = KEYS[1], KEYS[2]
local ids = redis.call('ZRANGEBYSCORE', live, '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, id in ipairs(ids) do
  local packed = redis.call('HGET', fires, id)
  if packed and unpack_record(packed).state ~= 'done' then
    out[#out + 1] = id
    out[#out + 1] = packed
  else
    redis.call('ZREM', live, id)
  end
end
return out
