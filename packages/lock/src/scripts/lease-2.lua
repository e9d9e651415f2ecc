--[[ lease
  KEYS[1] meta hash of the bucket (for the fencing counter)
  KEYS[2] the lease key
  ARGV[1] operation: acquire | renew | release
  ARGV[2] acquire: node id; renew, release: owner token
  ARGV[3] ttl ms (acquire, renew)
  ARGV[4] acquire: lowest epoch to start if the bucket must be initialised
  Returns acquire: the fencing token, or false when held; renew, release: 1 when ours, else 0.
]]
--! include bucket.lua
local meta, key, op = KEYS[1], KEYS[2], ARGV[1]
if op == 'acquire' then
  ensure_epoch(meta, ARGV[4])
  if redis.call('EXISTS', key) == 1 then return false end
  local fencing = next_fencing(meta)
  redis.call('SET', key, ARGV[2] .. ':' .. string.format('%d', fencing), 'PX', ARGV[3])
  return fencing
end
if redis.call('GET', key) ~= ARGV[2] then return 0 end
if op == 'renew' then
  redis.call('PEXPIRE', key, ARGV[3])
else
  redis.call('DEL', key)
end
return 1
