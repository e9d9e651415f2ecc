--[[ update
  KEYS[1] data hash: executionId -> snapshot JSON
  ARGV pairs: executionId, patch JSON (fields to set)
  Merges each patch into its snapshot if that snapshot is stored. Returns one
  integer per pair: 1 patched, 0 not found.
]]
local data = KEYS[1]
local out = {}
for i = 1, #ARGV, 2 do
  local current = redis.call('HGET', data, ARGV[i])
  if current then
    local snap = cjson.decode(current)
    for k, v in pairs(cjson.decode(ARGV[i + 1])) do snap[k] = v end
    redis.call('HSET', data, ARGV[i], cjson.encode(snap))
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out
