--[[ claim-due
  KEYS[1] meta hash of the bucket (epoch, ctr, floor)
  KEYS[2] marks hash: jobName -> last claimed instant (ms)
  KEYS[3] fires hash: fireId -> packed record
  KEYS[4] live zset: fireId -> lease expiry, for claimed and running records
  KEYS[5] done zset: fireId -> retention expiry
  ARGV[1] node id
  ARGV[2] lease ttl ms
  ARGV[3] lowest epoch to start if the bucket must be initialised (the caller's highest seen + 1)
  ARGV[4..] triples: jobName, instant, prevInstant ('' when none)
  Returns a flat array, three integers per fire in order:
    code (1 won, 0 lost, 2 lost to data loss), fencing token (won), gapAfter (won; -1 when no gap)
  A fire is won only if its instant is later than the job's mark; winning
  moves the mark and writes a claimed record under the winner's lease.
]]
--! include bucket.lua
local meta, marks, fires, live, done = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local node, ttl = ARGV[1], tonumber(ARGV[2])
ensure_epoch(meta, ARGV[3])
local floor = tonumber(redis.call('HGET', meta, 'floor'))
purge_done(fires, done)
local out = {}
for i = 4, #ARGV, 3 do
  local job, instant, prev = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2]
  local mark = redis.call('HGET', marks, job)
  if mark then mark = tonumber(mark) end
  if mark and instant <= mark then
    out[#out + 1] = 0; out[#out + 1] = 0; out[#out + 1] = -1
  elseif (not mark) and instant <= floor then
    redis.call('HSET', marks, job, instant)
    out[#out + 1] = 2; out[#out + 1] = 0; out[#out + 1] = -1
  else
    redis.call('HSET', marks, job, instant)
    local fencing = next_fencing(meta)
    local fire_id = job .. '@' .. ARGV[i + 1]
    local token = node .. ':' .. string.format('%d', fencing)
    redis.call('HSET', fires, fire_id, pack('claimed', node, token, fencing, NOW + ttl, '', job))
    redis.call('ZADD', live, NOW + ttl, fire_id)
    local gap = -1
    if mark and prev ~= '' and mark < tonumber(prev) then gap = mark end
    out[#out + 1] = 1; out[#out + 1] = fencing; out[#out + 1] = gap
  end
end
return out
