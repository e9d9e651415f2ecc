--[[ claim-fire
  KEYS[1] meta hash of the bucket
  KEYS[2] fires hash
  KEYS[3] live zset
  KEYS[4] done zset
  KEYS[5] the job's catch-up list (used only with ARGV[7])
  KEYS[6] batches index (batch.lua)
  ARGV[1] fire id
  ARGV[2] job name (the fire id's prefix names it in the record; kept for callers)
  ARGV[3] node id
  ARGV[4] lease ttl ms
  ARGV[5] '1' to take over a running record whose lease lapsed (recoverAbandoned)
  ARGV[6] lowest epoch to start if the bucket must be initialised
  ARGV[7] a compensation from the stored catch-up list: its instant ('' otherwise),
          removed from the list in this same call whether the claim wins or not,
          so a list another node resumes never offers an instant claimed before
  ARGV[8] '1' to write the record running (the caller starts it at once)
  ARGV[9] '1' for a takeover: only an existing record is claimed (one that is gone was
          finished and deleted since it was listed)
  Returns the fencing token of the new claim, or false when the record is
  someone else's (live lease), done, or running and not to be recovered.
  A cron fire still in its claim batch (batch.lua) counts as its record: won,
  it leaves the batch for a record of its own.
]]
--! include bucket.lua
--! include batch.lua
--! include catchup.lua
local meta, fires, live, batches = KEYS[1], KEYS[2], KEYS[3], KEYS[6]
if ARGV[7] ~= '' then catchup_remove(KEYS[5], ARGV[7]) end
local fire_id, job, node, ttl = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
ensure_epoch(meta, ARGV[6])
local packed = redis.call('HGET', fires, fire_id)
local rec = packed and unpack_record(packed) or batch_find(fires, live, batches, fire_id)
if rec then
  if rec.state == 'done' or rec.expires > NOW then return false end
  if rec.state == 'running' and ARGV[5] ~= '1' then return false end
  if rec.gid then batch_leave(fires, live, batches, rec, 't') end
elseif ARGV[9] == '1' then
  return false
end
local fencing = next_fencing(meta)
redis.call('HSET', fires, fire_id, pack(ARGV[8] == '1' and 'running' or 'claimed', node, string.format('%d', fencing), ms_string(NOW + ttl), ''))
redis.call('ZADD', live, NOW + ttl, fire_id)
return fencing
