--[[ get-fire
  KEYS[1] fires hash
  KEYS[2] live zset
  KEYS[3] batches index (batch.lua)
  ARGV[1] fire id
  Returns the fire's packed record (see pack), or false when there is none: its
  own record, or, for a cron fire still in its claim batch (batch.lua), one made
  from the batch.
]]
--! include bucket.lua
--! include batch.lua
local packed = redis.call('HGET', KEYS[1], ARGV[1])
if packed then return packed end
local b = batch_find(KEYS[1], KEYS[2], KEYS[3], ARGV[1])
return b and batch_record(b) or false
