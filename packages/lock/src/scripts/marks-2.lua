--[[ marks
  KEYS[1] meta hash of the bucket
  KEYS[2] marks hash
  ARGV[1] operation: get | advance
  ARGV[2] lowest epoch to start if the bucket must be initialised
  ARGV[3..] get: job names; advance: jobName, instant
  Returns get: the marks in order (false when absent); advance: the mark after.
  Both initialise the bucket's epoch when it is missing (a node's start does,
  so the data-loss floor of a fresh namespace lies before any instant it claims).
]]
--! include bucket.lua
local meta, marks = KEYS[1], KEYS[2]
ensure_epoch(meta, ARGV[2])
if ARGV[1] == 'get' then
  if #ARGV < 3 then return {} end
  return redis.call('HMGET', marks, unpack(ARGV, 3))
end
local job, instant = ARGV[3], tonumber(ARGV[4])
local cur = redis.call('HGET', marks, job)
if cur and tonumber(cur) >= instant then return tonumber(cur) end
redis.call('HSET', marks, job, ARGV[4])
return instant
