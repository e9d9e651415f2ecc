--[[ record
  KEYS[1] data hash: executionId -> snapshot JSON
  KEYS[2] all zset: executionId by startedAt (every job of this bucket)
  ARGV[1] prefix of the per-job zsets in this bucket (same hash tag): <prefix><jobName>
  ARGV[2] maxPerJob
  ARGV[3] cutoff: snapshots that started before it are past maxAgeMs
  ARGV[4] how many expired snapshots to remove in this call at most
  ARGV[5..] quads: executionId, startedAt, jobName, snapshot JSON
  Writes (or overwrites) each snapshot, then applies the retention: the newest
  maxPerJob per job of this call, and up to ARGV[4] past the age limit.
  Returns the number of snapshots removed.
]]
local data, all = KEYS[1], KEYS[2]
local job_prefix, max_per_job, cutoff, prune_limit = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local jobs = {}
for i = 5, #ARGV, 4 do
  local id, started, job, json = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  redis.call('HSET', data, id, json)
  redis.call('ZADD', all, started, id)
  redis.call('ZADD', job_prefix .. job, started, id)
  jobs[job] = true
end
local removed = 0
local function drop(ids)
  if #ids == 0 then return end
  redis.call('HDEL', data, unpack(ids))
  redis.call('ZREM', all, unpack(ids))
  removed = removed + #ids
end
for job in pairs(jobs) do
  local key = job_prefix .. job
  local excess = redis.call('ZCARD', key) - max_per_job
  if excess > 0 then
    local ids = redis.call('ZRANGE', key, 0, excess - 1)
    redis.call('ZREM', key, unpack(ids))
    drop(ids)
  end
end
local old = redis.call('ZRANGEBYSCORE', all, '-inf', '(' .. cutoff, 'LIMIT', 0, prune_limit)
if #old > 0 then
  local packed = redis.call('HMGET', data, unpack(old))
  for k, id in ipairs(old) do
    if packed[k] then
      local ok, snap = pcall(cjson.decode, packed[k])
      if ok and type(snap) == 'table' and snap.jobName then redis.call('ZREM', job_prefix .. snap.jobName, id) end
    end
  end
  drop(old)
end
return removed
