--[[ list
  KEYS[1] nodes hash
  KEYS[2] beats zset
  ARGV[1] node ttl ms
  Returns { now, id1, beat1, json1, id2, beat2, json2, … } for the nodes whose
  last heartbeat is within the ttl.
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local live = redis.call('ZRANGEBYSCORE', KEYS[2], now - tonumber(ARGV[1]), '+inf', 'WITHSCORES')
local out = { string.format('%d', now) }
for i = 1, #live, 2 do
  local json = redis.call('HGET', KEYS[1], live[i])
  if json then
    out[#out + 1] = live[i]
    out[#out + 1] = live[i + 1]
    out[#out + 1] = json
  end
end
return out
