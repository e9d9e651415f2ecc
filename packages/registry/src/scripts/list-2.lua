--[[ list
  KEYS[1] nodes hash
  KEYS[2] beats zset
  ARGV[1] node ttl ms
  Returns { now, id1, beat1, json1, id2, beat2, json2, … } for the nodes whose
  last heartbeat is within the ttl.
]]
--! include live-nodes.lua
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return append_live_nodes(KEYS[1], KEYS[2], now, tonumber(ARGV[1]), { string.format('%d', now) })
