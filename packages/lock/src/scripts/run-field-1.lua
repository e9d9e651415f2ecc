--[[ run-field
  KEYS[1] the run's hash
  ARGV[1] field
  ARGV[2] value
  ARGV[3] ttl ms
  Returns 1 when this call set the field (it was absent), else 0; either way
  the run expires ttl after this write.
]]
local set = redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return set
