--[[ deregister
  KEYS[1] nodes hash
  KEYS[2] beats zset
  KEYS[3] the node's jobs key
  ARGV[1] node id
  ARGV[2] instance token
  Returns 1 when this instance's entry was removed, 0 when it was not ours.
]]
local held = redis.call('HGET', KEYS[1], ARGV[1])
if not held or cjson.decode(held).instance ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[3])
return 1
