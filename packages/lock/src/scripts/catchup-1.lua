--[[ catchup
  KEYS[1] the job's catch-up list (JSON)
  ARGV[1] the instant whose compensation was claimed
  Returns the number of instants left (the key is deleted at 0).
]]
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local list = cjson.decode(raw)
local keep = {}
for _, t in ipairs(list.instants) do
  if tostring(t) ~= ARGV[1] and t ~= tonumber(ARGV[1]) then keep[#keep + 1] = t end
end
if #keep == 0 then
  redis.call('DEL', KEYS[1])
  return 0
end
list.instants = keep
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then
  redis.call('SET', KEYS[1], cjson.encode(list), 'PX', ttl)
else
  redis.call('SET', KEYS[1], cjson.encode(list))
end
return #keep
