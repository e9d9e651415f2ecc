--[[ register
  KEYS[1] nodes hash: nodeId -> JSON NodeInfo (with instance and jobsHash)
  KEYS[2] beats zset: nodeId -> last heartbeat (Redis TIME ms)
  KEYS[3] the node's jobs key (JSON array)
  ARGV[1] node id
  ARGV[2] instance token of the registering process
  ARGV[3] JSON NodeInfo without lastHeartbeat
  ARGV[4] node ttl ms
  ARGV[5] '1' to take the id over from a live-looking instance that did not answer a ping
  ARGV[6] JSON array of job names
  Returns { 'ok', now } or { 'held', instance, lastHeartbeat } when another
  instance holds the id with a fresh heartbeat (and ARGV[5] is not '1').
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local held = redis.call('HGET', KEYS[1], ARGV[1])
if held and ARGV[5] ~= '1' then
  local info = cjson.decode(held)
  local beat = tonumber(redis.call('ZSCORE', KEYS[2], ARGV[1]) or '0')
  if info.instance ~= ARGV[2] and now - beat < tonumber(ARGV[4]) then
    return { 'held', info.instance, string.format('%d', beat) }
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[2], now, ARGV[1])
redis.call('SET', KEYS[3], ARGV[6])
return { 'ok', string.format('%d', now) }
