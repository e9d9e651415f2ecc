--[[ heartbeat
  KEYS[1] nodes hash
  KEYS[2] beats zset
  KEYS[3] the node's jobs key
  ARGV[1] node id
  ARGV[2] instance token
  ARGV[3] JSON NodeInfo (for re-registration after data loss, and updates)
  ARGV[4] JSON array of job names, or '' when unchanged
  ARGV[5] ms after which a silent node's entry is deleted (a multiple of the ttl)
  ARGV[6] how far back the list of nodes returned reads heartbeats, ms
  Returns { 'ok', now, time, id1, beat1, json1, … } ('registered' instead of 'ok'
  when the entry was gone: data loss, written again), where `time` is Redis TIME
  as seconds.microseconds (a sample for the cluster clock) and the rest is the
  `list` script's answer (the heartbeat is also the node's look at the others);
  or { 'replaced', instance } when another instance took the id over (this one
  must stop).
]]
--! include live-nodes.lua
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local held = redis.call('HGET', KEYS[1], ARGV[1])
local status = 'ok'
if held then
  local info = cjson.decode(held)
  if info.instance ~= ARGV[2] then return { 'replaced', info.instance } end
else
  status = 'registered'
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[2], now, ARGV[1])
if ARGV[4] ~= '' or status == 'registered' then redis.call('SET', KEYS[3], ARGV[4] ~= '' and ARGV[4] or '[]') end
-- Entries silent far past their ttl are dropped, so the table follows the live cluster.
local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[5]), 'LIMIT', 0, 32)
for _, id in ipairs(gone) do
  redis.call('HDEL', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
end
local out = { status, string.format('%d', now), string.format('%d.%06d', tonumber(t[1]), tonumber(t[2])) }
return append_live_nodes(KEYS[1], KEYS[2], now, tonumber(ARGV[6]), out)
